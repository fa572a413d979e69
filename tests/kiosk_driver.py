"""A kiosk in a process of its own, driven line by line, for tests that kill it mid-work.

    python tests/kiosk_driver.py STORE_URL TERMINAL

It runs the real app under Textual's Pilot (80x24) and reads one command per line from
stdin, answering each with one JSON line on stdout:

    scan TEXT | type TEXT | press KEY [KEY ...]   → {"screen": ..., "step": ..., "link": [offline, waiting, refused]}
    ready                                         → waits until the kiosk has its offline copy
    synced                                        → runs the background replay now and waits for it

The outbox folder comes from FLOORTERM_OUTBOX_DIR, as for any kiosk.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floorterm.config import load_config  # noqa: E402
from floorterm.screens.app import FloortermApp  # noqa: E402

from test_kiosk_helpers import Kiosk  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def answer(k: Kiosk, **extra) -> None:
    screen = k.app.screen
    print(json.dumps({"screen": k.flat(), "step": screen.step, "link": list(screen.link_state), **extra}), flush=True)


async def wait_until(k: Kiosk, test, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not test():
        if loop.time() > end:
            raise TimeoutError("the kiosk did not get there in time")
        await k.pilot.pause(0.05)
    await k.settle()


async def main(url: str, terminal: str) -> None:
    config = load_config(REPO / "config.toml")
    app = FloortermApp(config, url, mode="kiosk", terminal=terminal, unlocked=True)
    async with app.run_test(size=(80, 24)) as pilot:
        k = Kiosk(app, pilot)
        await k.settle()
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            command, _, rest = line.rstrip("\n").partition(" ")
            screen = app.screen
            if command == "scan":
                await k.scan(rest)
            elif command == "type":
                await k.type(rest)
            elif command == "press":
                await k.press(*rest.split())
            elif command == "ready":
                await wait_until(
                    k, lambda: screen._link_ready and screen.link.snapshot is not None and not screen._syncing
                )
            elif command == "synced":
                await wait_until(k, lambda: not screen._syncing)
                screen.sync_outbox()
                await wait_until(k, lambda: not screen._syncing)
            answer(k)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
