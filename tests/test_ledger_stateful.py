"""Random sequences of entries (valid and invalid) on one job: the ledger's conservation
rule (DESIGN §3) holds after every step, refusals change nothing, and the stored balances
always equal a replay of the ledger."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from conftest import SUPERVISOR
from floorterm import models as m
from floorterm.errors import DomainError, InputError
from floorterm.ledger import JobSpec
from floorterm.verify import verify_job, verify_store

ROUTE = ("CUT", "WELD", "PAINT", "FQC", "PACK", "DISP")  # the 'weldment' routing
JOB_QTY = 20

# "all"/"half" take what is there (so random runs get far down the routing); then small
# numbers (often more than there is), and malformed or out-of-range ones.
QTY = st.one_of(
    st.sampled_from(["all", "half"]),
    st.integers(min_value=0, max_value=12),
    st.sampled_from(["3", " 4 ", "٣", "1e3", "-5", "", "1_0", str(2**63), -1, 10**7]),
)
# "busy": the furthest step that has quantity to act on; otherwise any step of the route.
STAGE = st.one_of(st.just("busy"), st.sampled_from(ROUTE))


class LedgerMachine(RuleBasedStateMachine):
    """One fresh job per example; the store, ledger and clock are set by the test."""

    ledger = queries = clock = None
    examples = 0

    def __init__(self):
        super().__init__()
        LedgerMachine.examples += 1
        self.job = f"H-{LedgerMachine.examples}"
        self.ledger.create_jobs([JobSpec(number=self.job, qty=JOB_QTY, routing="weldment")])
        self.entries: list[str] = []  # UUIDs of every landed entry, voids included

    def card(self):
        return self.queries.job_card(self.job)

    def where(self, stage: str, card, field: str = "pending") -> str:
        """Resolve "busy" to the furthest step with some `field` quantity (Cutting if none)."""
        if stage != "busy":
            return stage
        busy = [s.stage for s in card.steps if getattr(s, field) > 0]
        return busy[-1] if busy else ROUTE[0]

    def amount(self, qty, there: int):
        """Resolve "all"/"half" against the quantity there is; anything else as drawn."""
        if qty == "all":
            return there
        if qty == "half":
            return max(1, there // 2)
        return qty

    def attempt(self, call) -> None:
        before = (m.Event.select().count(), self.card().to_json())
        try:
            receipt = call()
        except (DomainError, InputError):
            after = (m.Event.select().count(), self.card().to_json())
            assert after == before, "a refused entry changed the store"
            return
        assert not receipt.duplicate
        self.entries.append(receipt.uuid)

    @initialize(qty=st.integers(min_value=1, max_value=JOB_QTY))
    def first_release(self, qty):
        self.attempt(lambda: self.ledger.release(self.job, qty, actor=SUPERVISOR))

    @rule(qty=QTY)
    def release(self, qty):
        qty = self.amount(qty, JOB_QTY - self.card().released)
        self.attempt(lambda: self.ledger.release(self.job, qty, actor=SUPERVISOR))

    @rule(stage=STAGE, qty=QTY)
    def move_on(self, stage, qty):
        """Complete at a work step, pass at the QC step, dispatch at the dispatch step."""
        card = self.card()
        stage = self.where(stage, card)
        if stage == "DISP":
            qty = self.amount(qty, card.ready_for_dispatch)
            self.attempt(lambda: self.ledger.dispatch(self.job, qty, actor=SUPERVISOR))
        elif stage == "FQC":
            qty = self.amount(qty, card.step(stage).pending)
            self.attempt(lambda: self.ledger.qc_pass(self.job, stage, qty, actor=SUPERVISOR))
        else:
            qty = self.amount(qty, card.step(stage).pending)
            self.attempt(lambda: self.ledger.complete(self.job, stage, qty, actor=SUPERVISOR))

    @rule(hops=st.integers(min_value=1, max_value=6), qty=st.sampled_from(["all", "half"]))
    def flow(self, hops, qty):
        """Several valid moves in a row, so random runs reach QC and dispatch."""
        for _ in range(hops):
            self.move_on("busy", qty)

    @rule(stage=STAGE, qty=QTY, reason=st.sampled_from(["DIM", "POR", "VIS", "NOPE"]))
    def fail(self, stage, qty, reason):
        """Reject at a work step, fail at the QC step (DIM is in both lists, POR/VIS in one)."""
        card = self.card()
        stage = self.where(stage, card)
        qty = self.amount(qty, card.step(stage).pending)
        record = self.ledger.qc_fail if stage == "FQC" else self.ledger.reject
        self.attempt(lambda: record(self.job, stage, qty, reason, actor=SUPERVISOR))

    @rule(stage=STAGE, to_stage=st.one_of(st.none(), STAGE), qty=QTY)
    def rework(self, stage, to_stage, qty):
        card = self.card()
        stage = self.where(stage, card, "awaiting")
        to_stage = None if to_stage == "busy" else to_stage
        qty = self.amount(qty, card.step(stage).awaiting)
        self.attempt(lambda: self.ledger.rework(self.job, stage, qty, to_stage, actor=SUPERVISOR))

    @rule(stage=STAGE, qty=QTY, reason=st.sampled_from(["CRK", "DMG", "POR"]))
    def scrap(self, stage, qty, reason):
        card = self.card()
        stage = self.where(stage, card, "awaiting")
        qty = self.amount(qty, card.step(stage).awaiting)
        self.attempt(lambda: self.ledger.scrap(self.job, stage, qty, reason, actor=SUPERVISOR))

    @rule(stage=STAGE, reason=st.sampled_from(["MAT", "MACH"]))
    def delay(self, stage, reason):
        stage = self.where(stage, self.card())
        self.attempt(lambda: self.ledger.delay(self.job, stage, reason, actor=SUPERVISOR))

    @rule(stage=STAGE)
    def resume(self, stage):
        stage = next((s.stage for s in self.card().steps if s.open_delay), ROUTE[0]) if stage == "busy" else stage
        self.attempt(lambda: self.ledger.resume(self.job, stage, actor=SUPERVISOR))

    @rule(pick=st.integers(min_value=0, max_value=10**6))
    def void(self, pick):
        if self.entries:
            target = self.entries[pick % len(self.entries)]
            self.attempt(lambda: self.ledger.void(target, actor=SUPERVISOR, note="random void"))

    @rule(minutes=st.integers(min_value=1, max_value=600))
    def time_passes(self, minutes):
        self.clock.advance(minutes=minutes)

    @invariant()
    def quantities_are_conserved(self):
        card = self.card()
        steps = card.steps
        parts = (
            [s.pending for s in steps if s.kind != "dispatch"]
            + [s.awaiting for s in steps]
            + [s.scrapped for s in steps]
            + [card.ready_for_dispatch, card.dispatched]
        )
        assert card.finished == card.ready_for_dispatch + card.dispatched, card
        assert all(p >= 0 for p in parts), card
        assert sum(parts) == card.released, card
        assert 0 <= card.released <= JOB_QTY
        for i, s in enumerate(steps):
            came_in = card.released if i == 0 else steps[i - 1].completed
            assert s.received == came_in + s.rework_in, s
            assert s.pending == s.received - s.completed - s.rejected, s
            assert s.awaiting == s.rejected - s.reworked - s.scrapped, s
        assert steps[-1].completed == card.dispatched  # the dispatch step is completed by dispatching

    @invariant()
    def stored_balances_equal_the_ledger(self):
        # verify_job on this example's job after every step (the other jobs do not change);
        # the whole store is verified at the end of each example.
        assert verify_job(m.Job.get(m.Job.number == self.job)) == []

    def teardown(self):
        assert verify_store() == []


def test_random_entries_keep_the_ledger_balanced(store, ledger, queries, clock):
    LedgerMachine.ledger, LedgerMachine.queries, LedgerMachine.clock = ledger, queries, clock
    examples = 30 if store.backend == "sqlite" else 10
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
