"""Demo data: a fabrication shop's operators and jobs with a believable recent history.

`build_demo` fills an empty store with jobs spread over every stage - partial quantities,
open delays, QC failures sent to rework or scrapped, material shortages, holds, priority
changes, voided entries, jobs ready for dispatch and dispatched, late jobs - all written
through the ledger's bulk path, so every entry passed the ledger's rules. The same seed and
`now` give the same store. With many jobs most of them are old and dispatched, as in a plant
that has run for a while; a few hundred to a thousand stay open on the board.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
import time
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from floorterm import models as m
from floorterm import rules
from floorterm.bulk import HistoricEntry, fresh_state, import_history
from floorterm.clock import plant_today, utcnow
from floorterm.config import Config
from floorterm.errors import DomainError, InputError
from floorterm.ledger import JobSpec, Ledger, MaterialSpec
from floorterm.queries import derive_flags, derive_status, step_state
from floorterm.rules import Fact, JobState
from floorterm.store import Store

# (badge, name, role, home terminal); None = no terminal of their own (office, over SSH).
_OPERATORS = (
    ("B1001", "Katrin Vogel", "supervisor", "BOARD-1"),
    ("B1002", "Thomas Brandt", "supervisor", "BOARD-1"),
    ("B1010", "Miriam Schulz", "planner", None),
    ("B1042", "Jonas Becker", "operator", "CUT-1"),
    ("B1043", "Piotr Kowalski", "operator", "CUT-1"),
    ("B1051", "Emre Yilmaz", "operator", "CNC-1"),
    ("B1057", "Lena Hartmann", "operator", "BEND-1"),
    ("B1063", "Dragan Petrović", "operator", "WELD-1"),
    ("B1064", "Marco Rossi", "operator", "WELD-2"),
    ("B1071", "Anja Keller", "operator", "ASSY-1"),
    ("B1072", "Felix Wagner", "operator", "ASSY-1"),
    ("B1080", "Uwe Krämer", "operator", "PAINT-1"),
    ("B1088", "Nadia Haddad", "operator", "PACK-1"),
    ("B1095", "Stefan Maier", "operator", "DISP-1"),
    ("B1101", "Birgit Lorenz", "qc", "QC-1"),
    ("B1102", "Ahmet Kaya", "qc", "QC-1"),
    ("B1120", "Heike Roth", "stores", "STORES-1"),
    ("B1121", "Jan Novák", "stores", "STORES-1"),
    ("B1200", "Werner Brandt", "viewer", "BOARD-1"),
)


def demo_operators() -> list[tuple[str, str, str, str | None]]:
    """The demo's people: (badge, name, role, home terminal id or None for the office)."""
    return list(_OPERATORS)


# item code -> (description, unit)
ITEMS = {
    "PL-S355-10": ("Steel plate S355 10 mm", "kg"),
    "PL-S235-6": ("Steel plate S235 6 mm", "kg"),
    "PL-S355-6": ("Steel plate S355 6 mm", "kg"),
    "SH-DC01-2": ("Sheet steel DC01 2 mm, 1250x2500", "pcs"),
    "SH-DX51-1.5": ("Galvanised sheet DX51D 1.5 mm, 1250x2500", "pcs"),
    "TUBE-40X40X3": ("Square tube 40x40x3 S235", "m"),
    "TUBE-80X40X4": ("Rectangular tube 80x40x4 S355", "m"),
    "RT-42X2.6": ("Round tube 42.4x2.6 S235", "m"),
    "FL-50X8": ("Flat bar 50x8 S235", "m"),
    "HEA-160": ("Beam HEA 160 S355", "m"),
    "RB-C45-60": ("Round bar C45 60 mm", "m"),
    "GRATING-30X3": ("Press-locked grating 30/3", "m2"),
    "BOLT-M12X40": ("Hex bolt M12x40 8.8 zinc", "pcs"),
    "BOLT-M12X45": ("Hex bolt M12x45 8.8 zinc", "pcs"),
    "BOLT-M8X20": ("Hex bolt M8x20 8.8 zinc", "pcs"),
    "NUT-M12": ("Hex nut M12 8 zinc", "pcs"),
    "HINGE-SS-120": ("Hinge 120 mm stainless", "pcs"),
    "LOCK-QT": ("Quarter-turn lock", "pcs"),
    "GASKET-EPDM": ("EPDM door gasket 10x6", "m"),
    "PAINT-RAL7035": ("Powder coat RAL 7035 light grey", "kg"),
    "PAINT-RAL7035-T": ("Powder coat RAL 7035, second supplier", "kg"),
    "PAINT-RAL5010": ("Powder coat RAL 5010 gentian blue", "kg"),
    "PAINT-RAL2004": ("Wet paint RAL 2004 pure orange", "kg"),
    "WIRE-G3SI1": ("Welding wire G3Si1 1.0 mm", "kg"),
}
# What stores hands out when an item runs short.
SUBSTITUTES = {"PAINT-RAL7035": "PAINT-RAL7035-T", "PL-S235-6": "PL-S355-6", "BOLT-M12X40": "BOLT-M12X45"}

# (product, preferred routing, material lines as (item, quantity per piece)), main material first.
PRODUCTS = (
    (
        "Conveyor frame CF-200",
        "standard",
        (("TUBE-80X40X4", 6.5), ("PL-S235-6", 12), ("BOLT-M12X40", 16), ("PAINT-RAL5010", 1.2)),
    ),
    (
        "Conveyor frame CF-400",
        "standard",
        (("TUBE-80X40X4", 11), ("PL-S235-6", 18), ("BOLT-M12X40", 24), ("PAINT-RAL5010", 2)),
    ),
    (
        "Control cabinet door",
        "sheet_metal",
        (("SH-DC01-2", 0.5), ("HINGE-SS-120", 3), ("GASKET-EPDM", 5.6), ("PAINT-RAL7035", 0.6)),
    ),
    (
        "Control cabinet housing KS-60",
        "no_machining",
        (("SH-DC01-2", 2), ("FL-50X8", 4), ("LOCK-QT", 2), ("PAINT-RAL7035", 1.8)),
    ),
    (
        "Machine guard panel 1200",
        "sheet_metal",
        (("SH-DX51-1.5", 0.5), ("TUBE-40X40X3", 4.8), ("BOLT-M8X20", 8), ("PAINT-RAL2004", 0.7)),
    ),
    ("Stair stringer ST-14", "weldment", (("PL-S355-10", 64), ("FL-50X8", 3), ("PAINT-RAL7035", 1.5))),
    (
        "Platform frame 3x2 m",
        "weldment",
        (("HEA-160", 10), ("GRATING-30X3", 6), ("BOLT-M12X40", 20), ("PAINT-RAL2004", 2.5)),
    ),
    ("Handrail section 2 m", "weldment", (("RT-42X2.6", 6.2), ("FL-50X8", 0.6), ("PAINT-RAL2004", 0.4))),
    (
        "Pump baseplate PB-75",
        "standard",
        (("PL-S355-10", 48), ("HEA-160", 2.4), ("NUT-M12", 8), ("PAINT-RAL5010", 0.8)),
    ),
    ("Motor bracket MB-4", "machined_part", (("PL-S355-10", 7.5), ("BOLT-M12X40", 4))),
    ("Bearing housing flange", "machined_part", (("RB-C45-60", 0.12),)),
    ("Hopper 1.5 m3", "no_machining", (("PL-S235-6", 95), ("FL-50X8", 8), ("WIRE-G3SI1", 1.5), ("PAINT-RAL7035", 3))),
    ("Cable tray bracket", "sheet_metal", (("SH-DX51-1.5", 0.1), ("BOLT-M8X20", 2))),
    (
        "Lifting beam 2 t",
        "standard",
        (("HEA-160", 2.2), ("PL-S355-10", 14), ("WIRE-G3SI1", 0.5), ("PAINT-RAL2004", 0.6)),
    ),
    ("Mounting plate MP-300", "machined_part", (("PL-S355-6", 4.3), ("BOLT-M8X20", 4))),
    ("Shaft coupling guard", "sheet_metal", (("SH-DX51-1.5", 0.25), ("BOLT-M8X20", 4), ("PAINT-RAL2004", 0.3))),
)

CUSTOMERS = (
    "Hansa Fördertechnik GmbH",
    "Nordwerk Anlagenbau",
    "Meyer & Söhne Maschinenbau",
    "Rheinland Pumpen GmbH",
    "Alpen Automation AG",
    "Elbe Logistiksysteme",
    "Vogt Verpackungstechnik",
    "Baltic Crane Services",
    "Schwarz Elektro GmbH",
    "Kessler Lebensmitteltechnik",
    "Tech-Line Automation s.r.o.",
    "Delta Process Engineering BV",
    "Stadtwerke Neustadt",
    "Bauer Landtechnik",
    "Keller Kältetechnik",
)
QUANTITIES = (5, 6, 8, 10, 12, 15, 20, 24, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200)
QTY_WEIGHTS = (4, 3, 4, 8, 6, 5, 9, 4, 6, 6, 6, 6, 4, 3, 3, 2, 1, 1)
INSPECTIONS = (
    "",
    "",
    "Dimensional check per drawing, first piece 100 %",
    "Coating thickness 80 µm min",
    "Weld visual inspection VT per ISO 5817 C",
    "Flatness 1 mm / m",
)
JOB_NOTES = (
    "",
    "",
    "",
    "",
    "Partial delivery allowed",
    "Customer collects",
    "Ship together with the rest of the order",
    "Drawing rev C",
)

REJECT_REASONS = {
    "CUT": ("DIM", "BURR"),
    "CNC": ("DIM", "HOLE", "BURR"),
    "BEND": ("BEND", "DIM"),
    "WELD": ("POR", "WCRK", "UCUT", "DIST"),
    "ASSY": ("MISS", "DIM", "HOLE"),
    "PAINT": ("RUN", "DFT", "SCR"),
    "PACK": ("SCR", "MISS"),
}
SCRAP_REASONS = {
    "CUT": ("SETUP", "DIM", "MAT"),
    "CNC": ("SETUP", "DIM"),
    "BEND": ("DIM", "CRK"),
    "WELD": ("BURN", "CRK"),
    "PAINT": ("DMG",),
    "FQC": ("DIM", "CRK", "DMG"),
}
DELAY_WEIGHTS = {
    "MACH": 4,
    "MAT": 3,
    "TOOL": 2,
    "OPR": 2,
    "QCH": 1,
    "RWK": 1,
    "DRW": 1,
    "CUST": 1,
    "OUTS": 1,
    "PRIO": 1,
}
SUPERVISOR_VOID_NOTES = (
    "Wrong quantity keyed, re-entered",
    "Booked on the wrong job",
    "Double entry",
    "Recount on the floor, corrected",
)
SELF_VOID_NOTES = ("Typo in quantity", "Wrong quantity, sorry")
HOLD_NOTES = (
    "Customer asked to stop: design change pending",
    "Quality hold: material certificate missing",
    "Drawing revision under review",
    "Payment hold, sales to confirm",
)
UNHOLD_NOTES = ("Revision released, continue", "Certificate received", "Sales confirmed, continue")
PRIORITY_NOTES = (
    "Customer escalation: line stop at the customer",
    "Pulled in for an earlier truck",
    "Moved back: customer delayed the installation",
    "Planner: capacity rebalanced",
)
NOTES = (
    "Drawing rev C at the station",
    "Use welding jig 4 for this batch",
    "Customer collects Friday",
    "Check flatness before welding",
    "Partial delivery agreed with the customer",
    "Holes to be deburred both sides",
)
QC_FAIL_NOTES = ("", "Porosity at corner weld, see photo", "Coating 55 µm, spec 80 µm min", "Hole pattern off by 2 mm")

# The situations every demo shows on at least one open job, when there are enough jobs.
FORCED = (
    "delayed",
    "delayed",
    "delayed",
    "qc_pending",
    "qc_fail",
    "qc_scrap",
    "ready",
    "part_dispatched",
    "short",
    "late",
    "hold",
    "priority",
    "void",
    "scrap",
    "qc_rework",
    "partial",
    "released",
    "part_released",
)


@dataclass(frozen=True)
class DemoSummary:
    """What build_demo wrote, with one job number per situation worth looking at.

    samples maps a situation to a job number, e.g. {'delayed': 'J-24034', 'QC pending': ...,
    'ready for dispatch': ..., 'waiting at Welding': ...}; a situation no job shows is left out.
    """

    jobs: int
    events: int
    operators: int
    samples: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def build_demo(
    store: Store,
    config: Config,
    *,
    jobs: int = 120,
    seed: int = 7,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Fill an empty store with the demo operators and `jobs` jobs; progress(jobs_written, jobs)."""
    started = time.perf_counter()
    if jobs < 1:
        raise InputError("The demo needs at least 1 job")
    existing = m.Job.select().count()
    if existing:
        raise DomainError(f"The store already has {existing} jobs; build the demo into an empty store")
    now = (now or utcnow()).replace(microsecond=0)
    rng = random.Random(seed)
    cast = _Cast.from_config(config)
    plans = _Plans(config, jobs, rng, now)
    Ledger(store, config, clock=lambda: plans.history_start).import_operators(
        [(badge, name, role) for badge, name, role, _ in _OPERATORS]
    )
    samples: dict[str, str] = {}
    histories = _histories(config, plans, cast, rng, samples)
    report = None if progress is None else (lambda done, events: progress(done, jobs))
    written, events = import_history(store, config, histories, report, now=now, note="Demo data")
    if store.backend == "postgres":
        # Fresh statistics, or the planner scans whole tables until autovacuum gets round to it.
        store.db.execute_sql("ANALYZE")
    return DemoSummary(
        written, events, len(_OPERATORS), _ordered(samples, config), round(time.perf_counter() - started, 2)
    )


# -- who works where -------------------------------------------------------------------------


@dataclass
class _Cast:
    crews: dict[str, list[tuple[str, str | None]]]  # stage -> (badge, terminal)
    stores: list[tuple[str, str | None]]
    dispatchers: list[tuple[str, str | None]]
    supervisors: list[tuple[str, str | None]]
    office: list[tuple[str, str | None]]  # supervisors and planners: priority, hold

    @classmethod
    def from_config(cls, config: Config) -> "_Cast":
        terminals = {t.id: t for t in config.terminals}
        supervisors = [(b, None) for b, _, role, _ in _OPERATORS if role == "supervisor"]
        office = supervisors + [(b, None) for b, _, role, _ in _OPERATORS if role == "planner"]
        crews: dict[str, list] = {s.code: [] for s in config.stages}
        stores = []
        for badge, _, role, home in _OPERATORS:
            terminal = terminals.get(home or "")
            if terminal is None:
                continue
            if role in ("operator", "qc"):
                for code in terminal.stages:
                    wanted = "qc" if config.stage(code).kind == "qc" else "operator"
                    if role == wanted:
                        crews[code].append((badge, terminal.id))
            elif role == "stores":
                stores.append((badge, terminal.id))
        for code, crew in crews.items():
            if not crew:  # a stage this plant's terminals do not cover: a supervisor records it
                crew.extend(supervisors)
        dispatch = next((s.code for s in config.stages if s.kind == "dispatch"), None)
        dispatchers = crews.get(dispatch) or stores or supervisors
        return cls(crews, stores or supervisors, dispatchers, supervisors, office)


# -- what happens to each job ----------------------------------------------------------------


@dataclass
class _Plan:
    number: str
    spec: JobSpec
    is_open: bool
    scenario: str | None
    end_gap_minutes: float  # how long before `now` its last entry was


class _Plans:
    """Job numbers, customers, products and which job gets which situation."""

    def __init__(self, config: Config, jobs: int, rng: random.Random, now: dt.datetime):
        self.config = config
        self.jobs = jobs
        self.rng = rng
        self.now = now
        self.today = plant_today(now, config.tz)
        self.open_jobs = (
            jobs if jobs <= 12 else (max(12, round(jobs * 0.7)) if jobs <= 200 else min(jobs, 140 + jobs // 20))
        )
        self.closed_jobs = jobs - self.open_jobs
        # Dispatched jobs go back about one working day per 60 jobs: a plant that has run a while.
        self.history_days = max(3.0, self.closed_jobs / 60)
        self.history_start = now - dt.timedelta(days=self.history_days + 30)
        self.scenarios: dict[int, str] = {}
        planned = max(1, self.open_jobs // 25) if self.open_jobs >= 6 else 0
        first_open = self.closed_jobs
        for i in range(planned):  # the newest jobs are not released yet
            self.scenarios[jobs - 1 - i] = "planned"
        candidates = list(range(first_open, jobs - planned))
        for scenario, index in zip(FORCED, rng.sample(candidates, min(len(FORCED), len(candidates)))):
            self.scenarios[index] = scenario
        # Open delays take their reasons in turn, so the board shows several different ones.
        self.open_delay_reasons = [r.code for r in config.reasons("delay")]
        rng.shuffle(self.open_delay_reasons)
        self.open_delays = 0
        self.order = 24017 + rng.randint(0, 40)
        self.order_left = 0
        self.customer = CUSTOMERS[0]

    def plan(self, index: int) -> _Plan:
        rng = self.rng
        if self.order_left == 0:
            self.order += 1
            self.order_left = rng.choice((1, 1, 1, 2, 2, 3))
            self.customer = rng.choice(CUSTOMERS)
        self.order_left -= 1
        product, routing, lines = rng.choice(PRODUCTS)
        routings = [r.name for r in self.config.routings]
        if routing not in routings:
            routing = rng.choice(routings)
        qty = rng.choices(QUANTITIES, QTY_WEIGHTS)[0]
        materials = []
        for item, per_piece in lines[: rng.randint(1, min(4, len(lines)))]:
            description, unit = ITEMS[item]
            materials.append(MaterialSpec(item, max(1, math.ceil(per_piece * qty)), description, unit))
        priority = rng.choices((5, 3, 2, 1, 7), (80, 8, 5, 3, 4))[0]
        is_open = index >= self.closed_jobs
        scenario = self.scenarios.get(index)
        if is_open:
            if scenario is None:
                scenario = rng.choices(
                    (
                        None,
                        "delayed",
                        "qc_pending",
                        "qc_fail",
                        "ready",
                        "part_dispatched",
                        "short",
                        "late",
                        "hold",
                        "priority",
                        "partial",
                        "released",
                        "part_released",
                    ),
                    (40, 14, 3, 4, 6, 4, 5, 6, 2, 3, 12, 4, 3),
                )[0]
            end_gap = {
                "delayed": rng.uniform(30, 600),
                "hold": rng.uniform(60, 2880),
                "planned": rng.uniform(30, 1440),
            }.get(scenario, rng.uniform(5, 1800))
        else:
            age = (self.closed_jobs - index) / max(1, self.closed_jobs)
            end_gap = (age * self.history_days + rng.uniform(0.2, 1.5)) * 1440
        spec = JobSpec(
            number=f"J-{24001 + index}",
            qty=qty,
            routing=routing,
            order_ref=f"SO-{self.order}",
            customer=self.customer,
            product=product,
            priority=priority,
            inspection=rng.choice(INSPECTIONS),
            notes=rng.choice(JOB_NOTES),
            materials=tuple(materials),
        )
        return _Plan(spec.number, spec, is_open, scenario, end_gap)


def _histories(
    config: Config, plans: _Plans, cast: _Cast, rng: random.Random, samples: dict[str, str]
) -> Iterator[tuple[JobSpec, list[HistoricEntry]]]:
    uuid_rng = random.Random(rng.getrandbits(64))
    for index in range(plans.jobs):
        plan = plans.plan(index)
        sim = _JobSim(config, rng, plan, cast, plans)
        sim.run()
        spec, entries = sim.finish(plans, uuid_rng)
        _note_samples(samples, sim, spec, plans.today)
        yield spec, entries


# -- one job's history -----------------------------------------------------------------------


class _JobSim:
    """Plays one job through its routing in lots, checking every entry with the ledger's rules."""

    P_START = 0.9
    P_DELAY = 0.08
    P_REJECT = 0.10
    P_VOID = 0.004

    def __init__(self, config: Config, rng: random.Random, plan: _Plan, cast: _Cast, plans: _Plans):
        self.config = config
        self.rng = rng
        self.plan = plan
        self.cast = cast
        self.plans = plans
        self.state: JobState = fresh_state(plan.spec, config)
        self.steps = self.state.steps
        # Op k moves a lot through step k; a routing without a dispatch step gets one more op: dispatch.
        has_dispatch = self.steps[-1].kind == "dispatch"
        self.n_ops = len(self.steps) if has_dispatch else len(self.steps) + 1
        self.t = 0.0  # minutes since the job's first entry
        self.rows: list[tuple] = []
        self.voids = 0
        self.late = False

    # -- recording

    def emit(
        self,
        gap: float,
        kind: str,
        who: tuple[str, str | None],
        *,
        stage=None,
        to_stage=None,
        qty=0,
        reason=None,
        item=None,
        item2=None,
        note="",
        voids=None,
    ) -> int:
        self.t += gap
        if kind != "void":
            rules.apply(
                self.state,
                Fact(
                    kind=kind, at=None, stage=stage, to_stage=to_stage, qty=qty, reason=reason, item=item, item2=item2
                ),
            )
        self.rows.append((self.t, kind, who[0], who[1], stage, to_stage, qty, reason, item, item2, note, voids))
        return len(self.rows) - 1

    def emit_or_mistake(self, gap: float, kind: str, who, *, qty: int, limit: int, force: bool = False, **kw) -> None:
        """Record `qty`; now and then first a wrong quantity that is voided and entered again."""
        rng = self.rng
        if limit > 1 and (force or rng.random() < self.P_VOID):
            typos = [q for q in (qty * 10, qty + 1, qty - 1, max(1, qty // 10)) if 1 <= q <= limit and q != qty]
            wrong = rng.choice(typos or [1 if qty != 1 else 2])
            saved = copy.deepcopy(self.state)
            target = self.emit(gap, kind, who, qty=wrong, **kw)
            own = who[1] is not None and self.config.void_window_minutes >= 3 and rng.random() < 0.5
            if own:
                self.emit(rng.uniform(0.5, 2.5), "void", who, voids=target, note=rng.choice(SELF_VOID_NOTES))
            else:
                self.emit(
                    rng.uniform(3, 90),
                    "void",
                    rng.choice(self.cast.supervisors),
                    voids=target,
                    note=rng.choice(SUPERVISOR_VOID_NOTES),
                )
            _restore(self.state, saved)
            self.voids += 1
            gap = rng.uniform(1, 10)
        self.emit(gap, kind, who, qty=qty, **kw)

    def reason(self, kind: str, preferred: tuple[str, ...] = ()) -> str:
        codes = [r.code for r in self.config.reasons(kind)]
        liked = [c for c in preferred if c in codes]
        return self.rng.choice(liked or codes)

    def delay_reason(self, step) -> str:
        codes = [r.code for r in self.config.reasons("delay")]
        weights = [DELAY_WEIGHTS.get(c, 1) * (4 if c == "QCH" and step.kind == "qc" else 1) for c in codes]
        return self.rng.choices(codes, weights)[0]

    def crew(self, stage: str):
        return self.rng.choice(self.cast.crews[stage])

    # -- the story

    def run(self) -> None:
        rng, plan, spec = self.rng, self.plan, self.plan.spec
        scenario = plan.scenario
        if scenario == "planned":
            if spec.materials and rng.random() < 0.5:
                self.issue_materials(short=True)
            if rng.random() < 0.3:
                self.emit(rng.uniform(10, 600), "note", rng.choice(self.cast.office), note=rng.choice(NOTES))
            return
        last = self.n_ops  # op index meaning "dispatched"
        qty = spec.qty
        self.issue_materials(short=scenario == "short" or (plan.is_open and rng.random() < 0.04))
        release = qty
        if scenario == "part_released" and qty >= 4:
            release = rng.randint(qty // 4, qty * 3 // 4)
        n_lots = min(release, rng.choices((1, 2, 3, 4), (20, 35, 30, 15))[0])
        if scenario in ("partial", "part_dispatched"):
            n_lots = min(release, max(n_lots, 2))
        elif scenario in ("scrap", "void", "qc_pending", "qc_scrap"):
            n_lots = 1
        lots = _split(rng, release, n_lots)
        if plan.is_open:
            heads = self.open_heads(n_lots, scenario)
        else:
            heads = [last] * n_lots
        # Two releases when there are several lots: the second when its first lot starts.
        second = rng.randint(1, n_lots - 1) if n_lots > 1 and rng.random() < 0.25 else n_lots
        first_qty = sum(lots[:second])
        self.emit(rng.uniform(10, 300), "release", self.releaser(), qty=first_qty)
        released = [l < second for l in range(n_lots)]
        done = [0] * n_lots
        qtys = lots[:]
        extras = self.extras(scenario)
        while True:
            eligible = [
                l
                for l in range(n_lots)
                if qtys[l] > 0 and done[l] < heads[l] and (l == 0 or done[l - 1] > done[l] or qtys[l - 1] == 0)
            ]
            if not eligible:
                break
            lot = eligible[0] if rng.random() < 0.55 else rng.choice(eligible)
            if not released[lot]:
                self.emit(rng.uniform(30, 600), "release", self.releaser(), qty=sum(lots[second:]))
                for l in range(second, n_lots):
                    released[l] = True
            if extras and rng.random() < 0.15:
                self.extra(extras.pop())
            k = done[lot]
            at_qc = k < len(self.steps) and self.steps[k].kind == "qc"
            force_scrap = lot == 0 and (scenario == "scrap" and k == heads[0] - 1 or scenario == "qc_scrap" and at_qc)
            qtys[lot] = self.op(
                k, qtys[lot], force_scrap=force_scrap, force_void=scenario == "void" and lot == 0 and k == 0
            )
            done[lot] += 1
        if not all(released):
            self.emit(rng.uniform(30, 600), "release", self.releaser(), qty=sum(lots[second:]))
        for name in extras:
            self.extra(name)
        if plan.is_open:
            self.finish_open(scenario, done, qtys)
        elif rng.random() < 0.3:
            self.return_material()

    def releaser(self):
        return self.rng.choice(self.cast.stores) if self.rng.random() < 0.8 else self.rng.choice(self.cast.office)

    def open_heads(self, n_lots: int, scenario: str | None) -> list[int]:
        """How far each lot of an open job has got (op index; n_ops = dispatched)."""
        rng, last = self.rng, self.n_ops
        dispatch_op = last - 1
        qc_op = next((s.seq - 1 for s in self.steps if s.kind == "qc"), None)
        if scenario == "released":
            return [0] * n_lots
        if scenario == "ready":
            return [dispatch_op] * n_lots
        if scenario == "qc_pending" and qc_op is not None:
            return [qc_op] * n_lots
        if scenario == "part_dispatched":
            return [last] + [rng.randint(max(0, dispatch_op - 2), dispatch_op) for _ in range(n_lots - 1)]
        if scenario in ("qc_fail", "qc_rework") and qc_op is not None:
            head = qc_op
        elif scenario in ("scrap", "void"):
            head = rng.randint(1, dispatch_op)
        elif scenario == "qc_scrap" and qc_op is not None:
            head = rng.randint(qc_op + 1, dispatch_op)
        elif scenario == "delayed":
            head = rng.randint(0, max(0, dispatch_op - 1))
        else:
            head = rng.randint(0, dispatch_op)
        heads = [head]
        for _ in range(n_lots - 1):
            heads.append(max(0, heads[-1] - rng.choice((0, 1, 1, 2))))
        return heads

    def extras(self, scenario: str | None) -> list[str]:
        """One-off entries placed somewhere in the middle of the story."""
        rng = self.rng
        out = []
        if scenario == "priority" or rng.random() < 0.04:
            out.append("priority")
        if rng.random() < 0.03:
            out.append("hold_unhold")
        if rng.random() < 0.15:
            out.append("note")
        return out

    def extra(self, name: str) -> None:
        rng = self.rng
        who = rng.choice(self.cast.office)
        if name == "priority":
            new = rng.choice([p for p in (1, 2, 3, 4, 6, 8) if p != self.state.priority])
            self.emit(rng.uniform(5, 240), "priority", who, qty=new, note=rng.choice(PRIORITY_NOTES))
        elif name == "hold_unhold":
            self.emit(rng.uniform(5, 240), "hold", who, note=rng.choice(HOLD_NOTES))
            self.emit(rng.uniform(60, 2880), "unhold", who, note=rng.choice(UNHOLD_NOTES))
        elif name == "note":
            step = rng.choice(self.steps)
            if step.kind != "dispatch":
                who = self.crew(step.stage)
            self.emit(rng.uniform(2, 120), "note", who, stage=step.stage, note=rng.choice(NOTES))

    def issue_materials(self, *, short: bool) -> None:
        rng = self.rng
        lines = list(self.state.materials.values())
        if not lines:
            return
        short_line = rng.choice(lines) if short else None
        for line in lines:
            who = rng.choice(self.cast.stores)
            need = line.short
            if line is short_line:
                if line.item in SUBSTITUTES and need >= 4 and rng.random() < 0.3:
                    part = need // 2
                    self.emit(rng.uniform(5, 120), "material_issue", who, item=line.item, qty=part)
                    self.emit(
                        rng.uniform(2, 30),
                        "material_substitute",
                        who,
                        item=line.item,
                        item2=SUBSTITUTES[line.item],
                        qty=rng.randint(1, need - part - 1),
                    )
                    continue
                need = rng.randint(0, max(0, need * 9 // 10))
                if need == 0:
                    continue
            if need > 3 and rng.random() < 0.25:  # issued in two goes
                part = rng.randint(1, need - 1)
                self.emit(rng.uniform(5, 120), "material_issue", who, item=line.item, qty=part)
                need -= part
            self.emit_or_mistake(rng.uniform(2, 120), "material_issue", who, qty=need, limit=line.short, item=line.item)
            if rng.random() < 0.03 and line.net_issued >= 2:  # damaged on the way, scrapped and issued again
                lost = rng.randint(1, max(1, line.net_issued // 20))
                self.emit(
                    rng.uniform(5, 600),
                    "material_scrap",
                    who,
                    item=line.item,
                    qty=lost,
                    reason=self.reason("material_scrap"),
                )
                self.emit(rng.uniform(5, 120), "material_issue", who, item=line.item, qty=lost)

    def return_material(self) -> None:
        rng = self.rng
        lines = [l for l in self.state.materials.values() if l.net_issued >= 10 and l.unit in ("kg", "m")]
        if lines:
            line = rng.choice(lines)
            self.emit(
                rng.uniform(30, 900),
                "material_return",
                rng.choice(self.cast.stores),
                item=line.item,
                qty=rng.randint(1, line.net_issued // 10),
            )

    def op(self, k: int, qty: int, *, force_scrap: bool = False, force_void: bool = False) -> int:
        """Move `qty` units through op k; returns how many went on (scrapped ones do not)."""
        rng = self.rng
        if k >= len(self.steps) or self.steps[k].kind == "dispatch":
            for part in _split(rng, qty, 1 if qty < 10 or rng.random() < 0.7 else 2):
                self.emit_or_mistake(
                    rng.uniform(60, 1440),
                    "dispatch",
                    rng.choice(self.cast.dispatchers),
                    qty=part,
                    limit=self.state.ready_for_dispatch,
                    force=force_void,
                )
            return qty
        step = self.steps[k]
        qc = step.kind == "qc"
        who = self.crew(step.stage)
        gap = rng.uniform(5, 240)
        if not step.started and not step.delay_reason and rng.random() < self.P_START:
            self.emit(gap, "start", who, stage=step.stage)
            gap = rng.uniform(10, 120)
        if rng.random() < self.P_DELAY:
            self.emit(gap, "delay", who, stage=step.stage, reason=self.delay_reason(step))
            self.emit(rng.uniform(20, 480), "resume", who, stage=step.stage)
            gap = rng.uniform(5, 60)
        bad = 0
        if qty >= 2 and (force_scrap or rng.random() < (self.P_REJECT * 1.5 if qc else self.P_REJECT)):
            bad = rng.randint(1, max(1, qty // 8))
        good = qty - bad
        chunks = _split(rng, good, rng.choice((1, 2, 2, 3))) if good else []
        done_kind, fail_kind = ("qc_pass", "qc_fail") if qc else ("complete", "reject")
        for i, chunk in enumerate(chunks):
            self.emit_or_mistake(
                gap, done_kind, who, stage=step.stage, qty=chunk, limit=step.pending, force=force_void and i == 0
            )
            gap = rng.uniform(15, 150)
            if bad and i == 0:
                bad = self.reject(step, who, bad, fail_kind, force_scrap)
        if bad and not chunks:
            bad = self.reject(step, who, bad, fail_kind, force_scrap)
        return qty - bad

    def reject(self, step, who, bad: int, fail_kind: str, force_scrap: bool) -> int:
        """Reject `bad` units and decide on them; returns how many were scrapped."""
        rng = self.rng
        qc = step.kind == "qc"
        reason = self.reason("qc_fail") if qc else self.reason("reject", REJECT_REASONS.get(step.stage, ()))
        self.emit(
            rng.uniform(5, 90),
            fail_kind,
            who,
            stage=step.stage,
            qty=bad,
            reason=reason,
            note=rng.choice(QC_FAIL_NOTES) if qc else "",
        )
        roll = rng.random()
        if force_scrap or roll < (0.2 if qc else 0.25):
            self.emit(
                rng.uniform(5, 120),
                "scrap",
                who,
                stage=step.stage,
                qty=bad,
                reason=self.reason("scrap", SCRAP_REASONS.get(step.stage, ())),
            )
            return bad
        earlier = [s for s in self.steps[: step.seq - 1] if s.kind == "work"]
        if qc and earlier and roll < 0.7:
            target = rng.choice(earlier[-3:])
            self.emit(rng.uniform(5, 120), "rework", who, stage=step.stage, to_stage=target.stage, qty=bad)
            for s in self.steps[target.seq - 1 : step.seq - 1]:
                self.emit(
                    rng.uniform(30, 300),
                    "qc_pass" if s.kind == "qc" else "complete",
                    self.crew(s.stage),
                    stage=s.stage,
                    qty=bad,
                )
        else:
            self.emit(rng.uniform(5, 120), "rework", who, stage=step.stage, qty=bad)
        self.emit(rng.uniform(20, 240), "qc_pass" if qc else "complete", who, stage=step.stage, qty=bad)
        return 0

    def finish_open(self, scenario: str | None, done: list[int], qtys: list[int]) -> None:
        """Leave an open job the way the board should find it."""
        rng = self.rng
        waiting = [
            (self.steps[done[l]], qtys[l])
            for l in range(len(done))
            if qtys[l] > 0 and done[l] < len(self.steps) and self.steps[done[l]].kind != "dispatch"
        ]
        if scenario in ("qc_fail", "qc_rework"):
            at_qc = [(s, q) for s, q in waiting if s.kind == "qc"]
            if at_qc and at_qc[0][0].pending >= 2:
                step = at_qc[0][0]
                who = self.crew(step.stage)
                if step.pending >= 3:
                    self.emit(
                        rng.uniform(10, 120), "qc_pass", who, stage=step.stage, qty=rng.randint(1, step.pending - 2)
                    )
                bad = rng.randint(1, max(1, step.pending // 4))
                self.emit(
                    rng.uniform(10, 120),
                    "qc_fail",
                    who,
                    stage=step.stage,
                    qty=bad,
                    reason=self.reason("qc_fail"),
                    note=rng.choice(QC_FAIL_NOTES[1:]),
                )
                earlier = [s for s in self.steps[: step.seq - 1] if s.kind == "work"]
                if scenario == "qc_rework" and earlier:
                    self.emit(rng.uniform(5, 60), "rework", who, stage=step.stage, to_stage=earlier[-1].stage, qty=bad)
                waiting = []
        if scenario in ("partial", None) or (scenario not in ("released", "qc_pending") and rng.random() < 0.3):
            for step, _ in waiting:  # some of what waits here is already done
                if step.pending >= 2 and not step.delay_reason and rng.random() < 0.7:
                    kind = "qc_pass" if step.kind == "qc" else "complete"
                    who = self.crew(step.stage)
                    if not step.started and rng.random() < self.P_START:
                        self.emit(rng.uniform(5, 240), "start", who, stage=step.stage)
                    self.emit(rng.uniform(10, 180), kind, who, stage=step.stage, qty=rng.randint(1, step.pending - 1))
        if scenario == "delayed" or (scenario is None and rng.random() < 0.15):
            open_steps = [s for s in self.steps if s.pending > 0 and not s.delay_reason and s.kind != "dispatch"]
            if open_steps:
                step = open_steps[-1] if rng.random() < 0.6 else rng.choice(open_steps)
                who = self.crew(step.stage) if rng.random() < 0.8 else rng.choice(self.cast.supervisors)
                cycle = self.plans.open_delay_reasons
                reason = cycle[self.plans.open_delays % len(cycle)]
                self.plans.open_delays += 1
                self.emit(rng.uniform(5, 120), "delay", who, stage=step.stage, reason=reason)
        if scenario == "hold":
            self.emit(rng.uniform(5, 240), "hold", rng.choice(self.cast.office), note=rng.choice(HOLD_NOTES))
        if scenario == "late" or (scenario is None and rng.random() < 0.1):
            self.late = True

    # -- the result

    def finish(self, plans: _Plans, uuid_rng: random.Random) -> tuple[JobSpec, list[HistoricEntry]]:
        """Place the story in time before `now`, set the planned dates, make the entries."""
        rng, plan = self.rng, self.plan
        span = self.t
        end = plans.now - dt.timedelta(minutes=plan.end_gap_minutes)
        base = end - dt.timedelta(minutes=span)
        entries = []
        for t, kind, badge, terminal, stage, to_stage, qty, reason, item, item2, note, voids in self.rows:
            at = base + dt.timedelta(seconds=int(t * 60))
            entries.append(
                HistoricEntry(
                    kind,
                    at,
                    badge,
                    terminal,
                    stage,
                    to_stage,
                    qty,
                    reason,
                    item,
                    item2,
                    note,
                    voids,
                    str(uuidlib.UUID(int=uuid_rng.getrandbits(128), version=4)),
                )
            )
        today = plans.today
        if plan.scenario == "planned":
            start = today + dt.timedelta(days=rng.randint(1, 10))
            end_date = start + dt.timedelta(days=rng.randint(4, 14))
        elif plan.is_open:
            start = base.date() - dt.timedelta(days=rng.randint(0, 2))
            end_date = max(start + dt.timedelta(days=rng.randint(5, 14)), today + dt.timedelta(days=rng.randint(0, 6)))
            if self.late:
                end_date = today - dt.timedelta(days=rng.randint(1, 6))
                start = min(start, end_date - dt.timedelta(days=rng.randint(3, 8)))
        else:
            start = base.date() - dt.timedelta(days=rng.randint(0, 2))
            end_date = max(start, end.date() + dt.timedelta(days=rng.randint(-3, 4)))
        return replace(plan.spec, planned_start=start, planned_end=end_date), entries


def _restore(state: JobState, saved: JobState) -> None:
    """Put `state` back to `saved` in place, so step and material objects held elsewhere stay current."""
    for current, old in zip(state.steps, saved.steps):
        vars(current).update(vars(old))
    for item in list(state.materials):
        if item in saved.materials:
            vars(state.materials[item]).update(vars(saved.materials[item]))
        else:
            del state.materials[item]
    for name, value in vars(saved).items():
        if name not in ("steps", "materials"):
            setattr(state, name, value)


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` in `parts` positive pieces (fewer if total is small)."""
    parts = max(1, min(parts, total))
    if parts == 1:
        return [total]
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0] + cuts, cuts + [total])]


# -- what to point people at -----------------------------------------------------------------


def _note_samples(samples: dict[str, str], sim: _JobSim, spec: JobSpec, today: dt.date) -> None:
    state = sim.state
    number = spec.number
    status = derive_status(state)
    flags = derive_flags(state, spec.planned_end, today)

    def keep(key: str, ok: bool) -> None:
        if ok and key not in samples:
            samples[key] = number

    keep("dispatched", status == "dispatched")
    if not state.is_open:
        return
    keep("planned", status == "planned")
    keep("released", status == "released")
    keep("partly released", 0 < state.released < state.qty)
    keep("delayed", "delayed" in flags)
    keep("QC pending", status == "QC pending")
    keep("ready for dispatch", status == "ready for dispatch")
    keep("partly dispatched", state.dispatched > 0)
    keep("late", "late" in flags)
    keep("material short", "material short" in flags)
    qc_rejects = any(s.kind == "qc" and s.rejected for s in state.steps)
    keep("QC rework pending", qc_rejects and "rework pending" in flags)
    keep("scrapped", state.scrapped > 0)
    keep("on hold", "on hold" in flags)
    keep("priority changed", "priority changed" in flags)
    keep("voided entry", sim.voids > 0)
    keep("partial quantities", sum(1 for s in state.steps if s.completed > 0 and s.pending > 0) >= 2)
    for s in state.steps:
        if s.kind != "dispatch":
            keep(f"waiting at {s.name}", step_state(s) == "waiting")


def _ordered(samples: dict[str, str], config: Config) -> dict[str, str]:
    """Situations first in a fixed order, then 'waiting at' in routing order."""
    first = (
        "delayed",
        "QC pending",
        "QC rework pending",
        "ready for dispatch",
        "partly dispatched",
        "late",
        "material short",
        "scrapped",
        "on hold",
        "priority changed",
        "voided entry",
        "partial quantities",
        "planned",
        "released",
        "partly released",
        "dispatched",
    )
    out = {key: samples[key] for key in first if key in samples}
    for stage in config.stages:
        key = f"waiting at {stage.name}"
        if key in samples:
            out[key] = samples[key]
    return out
