"""One thread per screen waits on the store's change feed and tells the screen."""

from __future__ import annotations

import time

from textual.message import Message
from textual.worker import get_current_worker

from floorterm.feed import open_feed


class StoreChanged(Message):
    """Another connection may have committed: re-read what is shown."""


def watch_store(screen, store_url: str, *, poll_without_feed: float, changed_without_feed: bool) -> None:
    """Thread body: post StoreChanged to `screen` after each commit anywhere; never touches widgets.

    post_message is thread-safe and never blocks, so a screen or app that is closing
    cannot leave this thread waiting. Without a feed (store away at start) it wakes
    every `poll_without_feed` seconds and reports a change if `changed_without_feed`.
    """
    worker = get_current_worker()
    try:
        feed = open_feed(store_url)
    except Exception:
        feed = None
    try:
        while not worker.is_cancelled:
            if feed is None:
                time.sleep(poll_without_feed)
                changed = changed_without_feed
            else:
                changed = feed.wait(0.5)
            if changed and not worker.is_cancelled:
                screen.post_message(StoreChanged())
    finally:
        if feed is not None:
            feed.close()
