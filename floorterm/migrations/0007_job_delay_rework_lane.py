"""Schema 7: job-level delays, and where reworked units went (issue 10, items 3 and 4).

Job gains an open job-level delay (reason, since, its event): nullable, and no store before
schema 7 could hold one. StepBalance gains the rework lane: reworked units pending at the
step, reworked units that failed again there, and a QC step's passes split into first-time
and after-rework. Existing rows are filled from the ledger here (the same rule as
floorterm.rules, frozen: a step finishes its reworked units first; they leave the lane when a
QC step passes them or when they leave the last work step), so `db verify` agrees at once.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('job', 'delay_reason', CharField(null=True, max_length=32)),
        migrator.add_column('job', 'delay_since', DateTimeField(null=True)),
        migrator.add_column('job', 'delay_event_id', BigIntegerField(null=True)),
        migrator.add_column('step_balance', 'rework_here', IntegerField(default=0)),
        migrator.add_column('step_balance', 'rework_failed', IntegerField(default=0)),
        migrator.add_column('step_balance', 'passed_first_time', IntegerField(default=0)),
        migrator.add_column('step_balance', 'passed_after_rework', IntegerField(default=0)),
    )
    # Without rework every QC pass is a first-time pass.
    db.execute_sql(
        "UPDATE step_balance SET passed_first_time = completed "
        "WHERE step_id IN (SELECT id FROM job_step WHERE kind = 'qc')"
    )
    jobs = [row[0] for row in db.execute_sql(
        "SELECT DISTINCT job_id FROM event WHERE kind = 'rework' ORDER BY job_id").fetchall()]
    p = db.param
    for job_id in jobs:
        steps = db.execute_sql(
            f"SELECT id, seq, kind FROM job_step WHERE job_id = {p} ORDER BY seq", (job_id,)).fetchall()
        order = [s[0] for s in steps]
        kinds = {s[0]: s[2] for s in steps}
        lane = {sid: dict(rework_here=0, rework_failed=0, passed_first_time=0, passed_after_rework=0)
                for sid in order}
        events = db.execute_sql(
            f"SELECT step_id, to_step_id, kind, qty FROM event WHERE job_id = {p} AND kind <> 'void' "
            f"AND uuid NOT IN (SELECT voids FROM event WHERE job_id = {p} AND voids IS NOT NULL) ORDER BY id",
            (job_id, job_id)).fetchall()
        for step_id, to_step_id, kind, qty in events:
            if step_id not in lane:
                continue
            here = lane[step_id]
            if kind == 'rework':
                lane[to_step_id or step_id]['rework_here'] += qty
            elif kind in ('complete', 'qc_pass'):
                moved = min(qty, here['rework_here'])
                here['rework_here'] -= moved
                if kinds[step_id] == 'qc':
                    here['passed_first_time'] += qty - moved
                index = order.index(step_id)
                nxt = order[index + 1] if index + 1 < len(order) else None
                if kinds[step_id] == 'qc' or nxt is None or kinds[nxt] == 'dispatch':
                    here['passed_after_rework'] += moved
                else:
                    lane[nxt]['rework_here'] += moved
            elif kind in ('reject', 'qc_fail'):
                moved = min(qty, here['rework_here'])
                here['rework_here'] -= moved
                here['rework_failed'] += moved
        for sid, values in lane.items():
            db.execute_sql(
                f"UPDATE step_balance SET rework_here = {p}, rework_failed = {p}, passed_first_time = {p}, "
                f"passed_after_rework = {p} WHERE step_id = {p}",
                (values['rework_here'], values['rework_failed'], values['passed_first_time'],
                 values['passed_after_rework'], sid))


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('step_balance', 'passed_after_rework'),
        migrator.drop_column('step_balance', 'passed_first_time'),
        migrator.drop_column('step_balance', 'rework_failed'),
        migrator.drop_column('step_balance', 'rework_here'),
        migrator.drop_column('job', 'delay_event_id'),
        migrator.drop_column('job', 'delay_since'),
        migrator.drop_column('job', 'delay_reason'),
    )
