"""The peewee models: what the store holds.

Only `floorterm.ledger` writes to these tables (and `floorterm.store` creates them).
Everything else reads through `floorterm.queries`. Timestamps are naive UTC.

The ledger (`Event`) is append-only. The balance columns on `Job`, `StepBalance` and
`MaterialLine` are a cache of the ledger, updated in the same transaction as each event
and recomputed by `floorterm db verify`.
"""

from floorterm._peewee import peewee as pw

# Bound to the real database by `floorterm.store.Store.open`.
database = pw.DatabaseProxy()

ROLES = ("operator", "qc", "stores", "supervisor", "planner", "viewer")


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Operator(BaseModel):
    badge = pw.CharField(max_length=24, unique=True)
    name = pw.CharField(max_length=80)
    role = pw.CharField(max_length=16)
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField()


class Job(BaseModel):
    number = pw.CharField(max_length=32, unique=True)
    order_ref = pw.CharField(max_length=64, default="")
    customer = pw.CharField(max_length=120, default="")
    product = pw.CharField(max_length=120, default="")
    qty = pw.IntegerField()
    planned_start = pw.DateField(null=True)
    planned_end = pw.DateField(null=True)
    routing = pw.CharField(max_length=32)
    initial_priority = pw.IntegerField(default=5)
    inspection = pw.TextField(default="")
    notes = pw.TextField(default="")
    created_at = pw.DateTimeField()
    # Balances, kept by the ledger:
    released = pw.IntegerField(default=0)
    dispatched = pw.IntegerField(default=0)
    priority = pw.IntegerField(default=5)
    priority_changed = pw.BooleanField(default=False)
    on_hold = pw.BooleanField(default=False)
    # False once every unit is dispatched or scrapped: the board reads open jobs only.
    is_open = pw.BooleanField(default=True, index=True)
    # Id of the newest event on this job: lets a reader find what changed.
    last_event_id = pw.BigIntegerField(default=0, index=True)
    # An open job-level delay (recorded without a step; schema 7): information and time, no hold.
    delay_reason = pw.CharField(max_length=32, null=True)
    delay_since = pw.DateTimeField(null=True)
    delay_event_id = pw.BigIntegerField(null=True)


class JobStep(BaseModel):
    """One stage of a job's routing, copied when the job is created."""

    job = pw.ForeignKeyField(Job, backref="steps")
    seq = pw.IntegerField()
    stage = pw.CharField(max_length=16)
    name = pw.CharField(max_length=80)
    kind = pw.CharField(max_length=16)
    work_centre = pw.CharField(max_length=80, default="")

    class Meta:
        indexes = ((("job", "seq"), True), (("job", "stage"), True))


class StepBalance(BaseModel):
    """Quantities at one job step; pending and awaiting are stored for cheap board queries."""

    step = pw.ForeignKeyField(JobStep, primary_key=True, backref="balance")
    job = pw.ForeignKeyField(Job, backref="balances")
    stage = pw.CharField(max_length=16, index=True)
    received = pw.IntegerField(default=0)
    completed = pw.IntegerField(default=0)
    rejected = pw.IntegerField(default=0)
    reworked = pw.IntegerField(default=0)
    scrapped = pw.IntegerField(default=0)
    rework_in = pw.IntegerField(default=0)
    # The rework lane (schema 7, see rules._complete): reworked units pending here, reworked
    # units that failed again here, and a QC step's passes split first-time / after rework.
    rework_here = pw.IntegerField(default=0)
    rework_failed = pw.IntegerField(default=0)
    passed_first_time = pw.IntegerField(default=0)
    passed_after_rework = pw.IntegerField(default=0)
    pending = pw.IntegerField(default=0)
    awaiting = pw.IntegerField(default=0)
    started = pw.BooleanField(default=False)
    waiting_since = pw.DateTimeField(null=True)
    delay_reason = pw.CharField(max_length=32, null=True)
    delay_since = pw.DateTimeField(null=True)
    delay_event_id = pw.BigIntegerField(null=True)
    # An outside step (schema 6): units sent to suppliers in all, and the oldest batch still
    # out: its supplier code and since when. Units out = sent - completed - rejected.
    sent = pw.IntegerField(default=0)
    out_supplier = pw.CharField(max_length=32, null=True)
    out_since = pw.DateTimeField(null=True)
    out_suppliers = pw.IntegerField(default=0)  # how many suppliers have units of the step


class MaterialLine(BaseModel):
    """A bill-of-materials line of a job, with its issue balances (whole units)."""

    job = pw.ForeignKeyField(Job, backref="materials")
    item = pw.CharField(max_length=32)
    description = pw.CharField(max_length=120, default="")
    unit = pw.CharField(max_length=16, default="pcs")
    required = pw.IntegerField(default=0)
    substitute_for = pw.CharField(max_length=32, null=True)
    issued = pw.IntegerField(default=0)
    returned = pw.IntegerField(default=0)
    scrapped = pw.IntegerField(default=0)
    sub_out = pw.IntegerField(default=0)
    sub_in = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("job", "item"), True),)


class Event(BaseModel):
    """One fact in the append-only job ledger (DESIGN.md §3)."""

    id = pw.BigAutoField()
    uuid = pw.CharField(max_length=36, unique=True)
    job = pw.ForeignKeyField(Job, backref="events")
    step = pw.ForeignKeyField(JobStep, null=True)
    to_step = pw.ForeignKeyField(JobStep, null=True)
    kind = pw.CharField(max_length=24)
    qty = pw.IntegerField(default=0)
    reason = pw.CharField(max_length=32, null=True)
    item = pw.CharField(max_length=32, null=True)
    item2 = pw.CharField(max_length=32, null=True)
    note = pw.TextField(default="")
    operator = pw.ForeignKeyField(Operator)
    terminal = pw.CharField(max_length=32, null=True)
    login_user = pw.CharField(max_length=64, null=True)
    login_key = pw.CharField(max_length=200, null=True)
    client_time = pw.DateTimeField()
    committed_at = pw.DateTimeField(index=True)
    voids = pw.CharField(max_length=36, null=True, index=True)
    # A dispatch's delivery note / shipment reference (schema 2); None for every other kind.
    reference = pw.CharField(max_length=64, null=True)
    # Who typed the entry in for its operator (`entries import --by`, schema 4); None when the
    # operator recorded it. No index: only a job's history reads it, and every write would pay.
    recorded_by = pw.ForeignKeyField(Operator, null=True, index=False, backref="+")

    class Meta:
        # A kiosk's "your last entries" reads one terminal's newest events, or one operator's
        # there, in a few index rows however large the ledger (schema 2).
        indexes = ((("terminal", "id"), False), (("terminal", "operator", "id"), False))


class ReplayRefusal(BaseModel):
    """An entry a terminal queued offline that the ledger refused on replay: kept until a supervisor acts.

    The entry itself stays in the terminal's outbox; this row lets the board list it.
    """

    uuid = pw.CharField(max_length=36, unique=True)
    terminal = pw.CharField(max_length=32)
    job = pw.CharField(max_length=32, null=True)  # the job number as queued; it may not exist
    kind = pw.CharField(max_length=24)
    words = pw.TextField()  # the entry as people read it, e.g. "complete 5 at Welding"
    badge = pw.CharField(max_length=24)
    client_time = pw.DateTimeField()
    refused_at = pw.DateTimeField()
    reason = pw.TextField()
    status = pw.CharField(max_length=16, default="open", index=True)  # open | retried | discarded
    resolved_by = pw.CharField(max_length=24, null=True)
    resolved_at = pw.DateTimeField(null=True)
    note = pw.TextField(default="")  # why it was discarded


class ExportConsumer(BaseModel):
    """How far one receiver of `floorterm export confirmations` got in the ledger (schema 5).

    Every event with an id up to `last_event_id` has been exported to it, except the ids in
    `holes`: ids below it not yet visible when it was exported (a transaction still running,
    or one rolled back), as JSON [[first, last, "first seen, ISO UTC"], ...]; later exports
    pick them up once they appear. `revision` grows with each export (compare-and-set).
    """

    name = pw.CharField(max_length=32, unique=True)
    last_event_id = pw.BigIntegerField(default=0)
    holes = pw.TextField(default="[]")
    revision = pw.IntegerField(default=0)
    exported_rows = pw.BigIntegerField(default=0)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()


ALL_MODELS = (Operator, Job, JobStep, StepBalance, MaterialLine, Event, ReplayRefusal, ExportConsumer)
