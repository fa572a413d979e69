"""Kiosk lock-down (no quitting without a supervisor's badge, no palette, no suspend, no
screenshots to files) and the demo launcher's way into a kiosk and back."""

from __future__ import annotations

from textual.app import App

from floorterm.screens.app import FloortermApp, kiosk_problem
from floorterm.screens.kiosk import KioskScreen
from floorterm.screens.launcher import LauncherScreen

from test_kiosk_helpers import Kiosk, kiosk_url, kledger, kstore, new_job, open_kiosk  # noqa: F401 (fixtures)


async def test_locked_kiosk_needs_a_supervisor_badge_to_quit(open_kiosk):
    async with open_kiosk(unlocked=False) as k:
        await k.press("ctrl+q")
        assert k.step == "quit"
        assert "Supervisor: scan your badge to close the kiosk" in k.flat()
        await k.scan("W1")
        assert "Wanda Welder is not a supervisor" in k.flat()
        assert k.app.is_running
        await k.scan("S1")
        await k.pilot.pause()
        assert not k.app.is_running


async def test_quit_prompt_can_be_cancelled_and_the_kiosk_carries_on(open_kiosk):
    async with open_kiosk(unlocked=False) as k:
        await k.scan("W1")
        await k.press("ctrl+q")
        await k.press("escape")
        assert k.step == "job"
        assert "Wanda Welder" in k.flat()


async def test_ctrl_c_does_not_quit_a_locked_kiosk(open_kiosk):
    async with open_kiosk(unlocked=False) as k:
        await k.press("ctrl+c")
        assert k.app.is_running


async def test_unlocked_kiosk_quits_on_ctrl_q(open_kiosk):
    async with open_kiosk(unlocked=True) as k:
        await k.press("ctrl+q")
        await k.pilot.pause()
        assert not k.app.is_running


async def test_no_command_palette_suspend_or_screenshot_on_a_locked_kiosk(open_kiosk, tmp_path, monkeypatch):
    suspended = []
    monkeypatch.setattr(App, "action_suspend_process", lambda self: suspended.append(True))
    async with open_kiosk(unlocked=False) as k:
        await k.press("ctrl+p", "ctrl+z", "ctrl+s", "f12")
        assert isinstance(k.app.screen, KioskScreen)  # no palette or other screen opened
        assert suspended == []
        shots = tmp_path / "shots"
        shots.mkdir()
        k.app.action_screenshot(path=str(shots))
        await k.pilot.pause()
        k.app.action_suspend_process()
        assert list(shots.iterdir()) == [] and suspended == []
        assert k.app.ENABLE_COMMAND_PALETTE is False


async def test_kiosk_problem_names_unknown_and_board_terminals(config):
    assert "Unknown terminal NOPE" in kiosk_problem(config, "NOPE")
    assert "BOARD-1 is a board terminal" in kiosk_problem(config, "BOARD-1")
    assert kiosk_problem(config, "WELD-1") is None


async def test_launcher_opens_a_kiosk_and_esc_comes_back(config, kstore, kiosk_url, kledger, clock, new_job):
    new_job(release=5)
    app = FloortermApp(config, kiosk_url, mode="launcher", clock=clock, store=kstore)
    async with app.run_test(size=(100, 30)) as pilot:
        k = Kiosk(app, pilot)
        await k.settle()
        assert isinstance(app.screen, LauncherScreen)
        options = app.screen.query_one("#terminals")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("kiosk:CUT-1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = " ".join(str(app.screen.query_one("#try").render()).split())
        # badges that record at Cutting, and a job with work there
        assert "operator" in text and "W1 Wanda Welder" in text and "J-1001" in text and "Quinn" not in text
        options.highlighted = ids.index("kiosk:WELD-1")
        await pilot.press("enter")
        await k.settle()
        assert isinstance(app.screen, KioskScreen) and app.screen.terminal.id == "WELD-1"
        await k.scan("W1")
        await k.press("f9")  # sign out (Esc never does)
        await k.press("escape")  # back to the launcher
        assert isinstance(app.screen, LauncherScreen)
