"""`floorterm db verify`: recompute every balance from the ledger and report differences."""

from __future__ import annotations

from typing import Callable

from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.errors import DomainError
from floorterm.ledger import load_state, replay, snapshot


def verify_job(job: m.Job) -> list[str]:
    """Differences between the stored balances of one job and its ledger, in words."""
    try:
        expected = replay(job)
    except DomainError as exc:
        return [f"{job.number}: its ledger does not replay: {exc}"]
    problems = [f"{job.number}: {e}" for e in expected.conservation_errors()]
    stored = snapshot(load_state(job))
    wanted = snapshot(expected)
    for key, value in wanted["job"].items():
        if stored["job"][key] != value:
            problems.append(f"{job.number}: {key} stored {stored['job'][key]!r}, ledger says {value!r}")
    last = m.Event.select(m.Event.id).where(m.Event.job == job.id).order_by(m.Event.id.desc()).limit(1).scalar() or 0
    if job.last_event_id != last:
        problems.append(f"{job.number}: last_event_id stored {job.last_event_id}, ledger says {last}")
    # pending and awaiting are also stored as columns the board filters on; check them as stored.
    columns = {stage: {"pending": pending, "awaiting": awaiting} for stage, pending, awaiting in
               m.StepBalance.select(m.StepBalance.stage, m.StepBalance.pending, m.StepBalance.awaiting)
               .where(m.StepBalance.job == job.id).tuples()}
    for stage, values in wanted["steps"].items():
        for key in ("pending", "awaiting"):
            stored_column = columns.get(stage, {}).get(key)
            if stored_column != values[key]:
                problems.append(f"{job.number} {stage}: {key} column stored {stored_column!r}, "
                                f"ledger says {values[key]!r}")
        have = stored["steps"].get(stage, {})
        for key, value in values.items():
            if have.get(key) != value:
                problems.append(f"{job.number} {stage}: {key} stored {have.get(key)!r}, ledger says {value!r}")
    for item in stored["materials"].keys() - wanted["materials"].keys():
        problems.append(f"{job.number} material {item}: in the store but not in the ledger")
    for item, values in wanted["materials"].items():
        have = stored["materials"].get(item)
        if have is None:
            problems.append(f"{job.number} material {item}: missing from the store")
            continue
        for key, value in values.items():
            if have[key] != value:
                problems.append(f"{job.number} material {item}: {key} stored {have[key]!r}, ledger says {value!r}")
    return problems


def verify_store(progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Verify every job; each job is read in its own short transaction."""
    problems = []
    job_ids = [row.id for row in m.Job.select(m.Job.id).order_by(m.Job.id)]
    for n, job_id in enumerate(job_ids, start=1):
        with m.database.atomic():
            problems.extend(verify_job(m.Job.get_by_id(job_id)))
        if progress is not None:
            progress(n, len(job_ids))
    orphans = (m.Event.select(m.Event.uuid, m.Event.voids)
               .where(m.Event.voids.is_null(False) & m.Event.voids.not_in(m.Event.select(m.Event.uuid))))
    for event in orphans:
        problems.append(f"void {event.uuid} names an entry {event.voids} that does not exist")
    twice = (m.Event.select(m.Event.voids).where(m.Event.voids.is_null(False))
             .group_by(m.Event.voids).having(peewee.fn.COUNT(m.Event.id) > 1))
    for event in twice:
        problems.append(f"entry {event.voids} is voided more than once")
    return problems
