"""The change feed wakes a reader when another process commits, on both backends."""

import multiprocessing
import time

from floorterm.feed import open_feed

from conftest import REPO, SUPERVISOR


def _record_one(url: str, job: str) -> None:
    from floorterm.config import load_config
    from floorterm.ledger import Actor, Ledger
    from floorterm.store import Store

    store = Store.open(url)
    Ledger(store, load_config(REPO / "config.toml")).complete(job, "CUT", 1, actor=Actor("S1"))
    store.close()


def test_feed_wakes_on_commit_from_another_process(store_url, ledger, make_job):
    job = make_job(release=5)
    with open_feed(store_url) as feed:
        assert feed.wait(0.3) is False  # nothing happened yet
        child = multiprocessing.get_context("spawn").Process(target=_record_one, args=(store_url, job))
        started = time.monotonic()
        child.start()
        woke = False
        while time.monotonic() - started < 20 and not woke:
            woke = feed.wait(0.5)
        child.join(20)
        assert child.exitcode == 0
        assert woke, "the feed never reported the other process's commit"


def test_feed_stays_quiet_without_commits(store_url, ledger, make_job):
    make_job()
    with open_feed(store_url) as feed:
        feed.wait(0.2)  # settle anything from the fixtures
        assert feed.wait(0.3) is False


def test_feed_wakes_on_commit_in_this_process(store_url, ledger, make_job):
    job = make_job(release=5)
    with open_feed(store_url) as feed:
        feed.wait(0.2)
        ledger.complete(job, "CUT", 2, actor=SUPERVISOR)
        assert feed.wait(3.0) is True
