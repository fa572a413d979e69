"""The benchmarks of DESIGN.md §7, in one package.

    store     entry writes from 1 and N processes beside the raw driver's commit; job card reads
    flow      `report flow` for a week
    kiosk     scan → card and Enter → confirmation through the real kiosk screen (loads Textual)
    board     first paint and commit → board latency through the real board (loads Textual)
    budgets   `floorterm bench`: every budget in one run, each beside its floor
    simulate  `floorterm simulate`: a virtual plant of terminals and headless boards

Importing this package loads nothing: the store benchmark's names are found on first use,
and only the kiosk and board benchmarks ever load Textual (when they run).
"""

from __future__ import annotations

_STORE_NAMES = ("format_table", "percentiles", "run_store_bench")


def __getattr__(name: str):
    if name in _STORE_NAMES:
        from floorterm.bench import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
