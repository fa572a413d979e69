"""Time: the store keeps naive UTC; people see plant time and short durations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def utcnow() -> dt.datetime:
    """Now as a naive UTC datetime, the form every timestamp is stored in."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def to_plant(moment: dt.datetime | None, tz: ZoneInfo) -> dt.datetime | None:
    """A stored (naive UTC) timestamp in plant time."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(tz)


def plant_today(now_utc: dt.datetime, tz: ZoneInfo) -> dt.date:
    return to_plant(now_utc, tz).date()


# An entry whose terminal time is further than this from its commit time was queued offline
# and replayed later (or the terminal's clock is off): a history shows both times.
ENTERED_APART = dt.timedelta(seconds=60)


def entered_at_terminal(client_time: dt.datetime | None, committed_at: dt.datetime | None, tz: ZoneInfo) -> str:
    """'entered 09:14 at the terminal' when the terminal's time is over a minute from the commit time, else ''."""
    if client_time is None or committed_at is None or abs(client_time - committed_at) <= ENTERED_APART:
        return ""
    entered, recorded = to_plant(client_time, tz), to_plant(committed_at, tz)
    when = entered.strftime("%H:%M") if entered.date() == recorded.date() else entered.strftime("%a %d %b %H:%M")
    return f"entered {when} at the terminal"


def format_duration(seconds: float | None) -> str:
    """A duration the way the floor says it: '45 s', '12 min', '2 h 5 min', '3 d 4 h'."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def jsonable(value):
    """A value as plain JSON types: naive UTC datetimes as ISO with Z, dates ISO, tuples as lists."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
