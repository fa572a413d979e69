"""Plant configuration: read, check and expose ``config.toml``.

This is core code: it never imports Textual or a database driver. Everything in the file is
checked when it is loaded; any mistake raises :class:`floorterm.errors.ConfigError` whose
message names the file and the key (one line per problem, all problems at once), e.g.::

    config.toml: [[terminals]] #3 (id "T-WELD"): "stages" must not be empty
    config.toml: unknown key "stagez" at top level (did you mean "stages"?)
    config.toml: routings.standard names unknown stage "WLD"

File layout (sections marked *optional* may be left out; the default is shown)::

    [plant]
    name = "Müller Stahlbau, Werk 2"     # shown on the board and on job cards
    timezone = "Europe/Berlin"           # IANA name; shifts and "today" use it

    [store]                              # optional
    url = "data/floorterm.db"            # a file path (relative to this file's folder),
                                         # "sqlite:///relative.db", "sqlite:////abs/path.db",
                                         # or "postgresql://user@host/db" ("postgres://" ok)

    [ledger]                             # optional
    void_window_minutes = 5              # 0..1440: how long an operator may void own entry

    [[stages]]                           # one block per stage, at least one
    code = "CUT"                         # 1-16 chars of A-Z 0-9 - _ (uppercase), unique
    name = "Cutting"                     # shown to people
    kind = "work"                        # "work" | "qc" | "pack" | "dispatch" | "outside"
    work_centre = "Laser bay"            # optional, default "" (at most 80 characters)
    owner = "Fabrication"                # optional: the department answering for the stage
    supervisor = "S-0042"                # optional: the responsible supervisor's badge
    suppliers = ["GALVA"]                # outside stages only: usual [[suppliers]] codes

    [[suppliers]]                        # needed when a stage is "outside"
    code = "GALVA"                       # a code (as stage codes); stored with each send
    name = "Galva Nord GmbH"             # shown to people

    [routings]                           # at least one; name = ordered stage codes
    standard = ["CUT", "CNC", "WELD", "FQC", "PACK", "DISP"]
                                         # no stage twice; a "dispatch" stage only last

    [reasons]                            # the pick-lists, each non-empty, codes unique
    delay = [ { code = "MAT", label = "Material shortage" } ]   # within one list
    reject = [ ... ]
    scrap = [ ... ]
    qc_fail = [ ... ]
    material_scrap = [ ... ]
    extra_issue = [ ... ]                # optional: why material is issued beyond the bill of
                                         # materials; default SETUP, BREAK, DRAWING, REISSUE

    [[terminals]]                        # optional; one block per terminal
    id = "WELD-1"                        # same rules as a stage code, unique
    name = "Welding bay 1"
    kind = "kiosk"                       # "kiosk" | "qc" | "stores" | "board"
    stages = ["WELD"]                    # the stages it may record, at least one
    badge_required = true                # optional, default true

    [thresholds]                         # optional
    ageing_hours = [4, 24, 72]           # positive, strictly increasing
    late_warning_hours = 24              # warn this long before planned completion
    stale_hours = 8                      # 1..8760 working hours: a step with pending units and
                                         # no entry this long is "not updated"
    idle_after_issue_hours = 4           # 1..8760 working hours: material issued to a released
                                         # or planned job that nobody started ("material idle")
    late_entry_minutes = 30              # 1..10080: an entry arriving this long after its
                                         # terminal time counts as late for its terminal
    working_shifts = ["Early", "Late"]   # shift names counted as working time (default: all)
    working_days = ["Mon", "Tue", "Wed", "Thu", "Fri"]  # plant days counted (default: all 7)

    [[shifts]]                           # optional; default one shift "Day" at "00:00"
    name = "Early"
    start = "06:00"                      # "HH:MM" plant time; the last shift runs past
                                         # midnight into the first

    [scanner]                            # optional
    prefix = ""                          # characters the scanner sends before the code
    suffix = "enter"                     # "enter", "tab" or 1-3 literal characters

    [kiosk]                              # optional
    idle_signout_seconds = 300           # 1..86400
    confirm_seconds = 4                  # 1..60: how long the green/red banner stays
    bell = true                          # ring the terminal bell when an entry is refused
    dispatch_reference = "optional"      # "required" | "optional" | "off": ask for a delivery
                                         # note / shipment reference when dispatching
    offline_snapshot_max_age_minutes = 60  # 1..10080: working from an offline copy older
                                         # than this, the kiosk warns on every job card

    [import.jobs]                        # optional; also [import.materials], [import.operators]
    columns = { job = "Work Order", qty = "Quantity" }   # floorterm column = the file's name
    ignore_columns = ["Plant"]           # the file's columns floorterm does not read
    priorities = { rush = 1 }            # jobs: words besides urgent/high/normal/low (1/3/5/7)
    date_formats = ["%d.%m.%Y"]          # jobs: strptime formats besides YYYY-MM-DD
    # [import.operators] roles = { Werker = "operator" }: the file's words for the roles
    # (docs/erp.md has the whole story)

    [materials]                          # optional
    release_without_issue = "warn"       # "warn" | "refuse" | "allow": releasing a job whose
                                         # bill of materials is not fully issued
    [materials.substitutes]              # optional; item = [items stores may issue instead]
    "RB-C45-60" = ["RB-C45-65"]          # any other substitute needs a supervisor or planner

Config objects are immutable. ``Config.shifts`` is sorted by start time; every other tuple
keeps the order of the file.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import tomllib
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from floorterm.errors import ConfigError

__all__ = [
    "Config",
    "ImportSettings",
    "KioskSettings",
    "Reason",
    "Routing",
    "Scanner",
    "Shift",
    "Stage",
    "Supplier",
    "Terminal",
    "Thresholds",
    "STAGE_KINDS",
    "TERMINAL_KINDS",
    "REASON_KINDS",
    "DISPATCH_REFERENCE_MODES",
    "RELEASE_WITHOUT_ISSUE_MODES",
    "DEFAULT_EXTRA_ISSUE_REASONS",
    "MaterialSettings",
    "DEFAULT_STORE_PATH",
    "find_config_path",
    "load_config",
    "parse_config",
]

STAGE_KINDS = ("work", "qc", "pack", "dispatch", "outside")
TERMINAL_KINDS = ("kiosk", "qc", "stores", "board")
REASON_KINDS = ("delay", "reject", "scrap", "qc_fail", "material_scrap", "extra_issue")
# Lists a config may leave out: existing plant files predate them, so they get this default.
OPTIONAL_REASON_KINDS = ("extra_issue",)
RELEASE_WITHOUT_ISSUE_MODES = ("warn", "refuse", "allow")
DISPATCH_REFERENCE_MODES = ("required", "optional", "off")
DEFAULT_STORE_PATH = "data/floorterm.db"
ENV_VAR = "FLOORTERM_CONFIG"

_TOP_KEYS = (
    "plant",
    "store",
    "ledger",
    "stages",
    "routings",
    "reasons",
    "terminals",
    "thresholds",
    "shifts",
    "scanner",
    "kiosk",
    "import",
    "materials",
    "suppliers",
)
# Keys that are unique to one section, to point at the right place when misplaced.
_KEY_HOME = {
    "timezone": "[plant]",
    "url": "[store]",
    "void_window_minutes": "[ledger]",
    "work_centre": "[[stages]]",
    "owner": "[[stages]]",
    "supervisor": "[[stages]]",
    "badge_required": "[[terminals]]",
    "ageing_hours": "[thresholds]",
    "late_warning_hours": "[thresholds]",
    "stale_hours": "[thresholds]",
    "idle_after_issue_hours": "[thresholds]",
    "late_entry_minutes": "[thresholds]",
    "working_shifts": "[thresholds]",
    "working_days": "[thresholds]",
    "start": "[[shifts]]",
    "prefix": "[scanner]",
    "suffix": "[scanner]",
    "idle_signout_seconds": "[kiosk]",
    "confirm_seconds": "[kiosk]",
    "bell": "[kiosk]",
    "dispatch_reference": "[kiosk]",
    "offline_snapshot_max_age_minutes": "[kiosk]",
    "release_without_issue": "[materials]",
    "substitutes": "[materials]",
}
_CODE_RE = re.compile(r"[A-Z0-9_-]{1,16}")
_ROUTING_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_HHMM_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_CODE_RULE = "1-16 characters of A-Z 0-9 - _ (uppercase)"
# Material item codes as floorterm.inputs.parse_code keeps them (upper case).
_ITEM_RE = re.compile(r"[A-Z0-9][A-Z0-9_./-]{0,31}")
_ITEM_RULE = "1-32 characters of A-Z 0-9 - _ . / (uppercase), starting with a letter or digit"


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    label: str


# reasons.extra_issue when the file has none (config files written before the list existed).
DEFAULT_EXTRA_ISSUE_REASONS = (
    Reason("SETUP", "Setup / first-off loss"),
    Reason("BREAK", "Breakage or damage"),
    Reason("DRAWING", "Drawing change"),
    Reason("REISSUE", "Re-issue after a return"),
)


@dataclass(frozen=True, slots=True)
class Stage:
    code: str
    name: str
    kind: str  # 'work' | 'qc' | 'pack' | 'dispatch' | 'outside'
    work_centre: str = ""
    # Who answers for the stage (issue 10 item 6): a department, and the supervisor's badge.
    owner: str = ""
    supervisor: str = ""
    # An outside stage's usual suppliers ([[suppliers]] codes), offered first; others may be used.
    suppliers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Supplier:
    """A firm an outside stage sends work to (galvaniser, heat treater, plater)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Routing:
    name: str
    stages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Terminal:
    id: str
    name: str
    kind: str  # 'kiosk' | 'qc' | 'stores' | 'board'
    stages: tuple[str, ...]
    badge_required: bool = True


@dataclass(frozen=True, slots=True)
class Shift:
    name: str
    start: datetime.time  # plant local time


@dataclass(frozen=True, slots=True)
class Thresholds:
    ageing_hours: tuple[int, ...] = (4, 24, 72)
    late_warning_hours: int = 24
    # The exception lists of floorterm.exceptions (docs/exceptions.md); hours are working hours.
    stale_hours: int = 8
    idle_after_issue_hours: int = 4
    late_entry_minutes: int = 30
    working_shifts: tuple[str, ...] | None = None  # None: every shift
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # plant weekdays, Monday 0
    # [thresholds.ageing_hours_by_stage] STAGE = [..]: a stage's own buckets (as many as ageing_hours)
    ageing_hours_by_stage: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def ageing_for(self, stage: str) -> tuple[int, ...]:
        """The ageing buckets of one stage: its own if configured, else ageing_hours."""
        return next((hours for code, hours in self.ageing_hours_by_stage if code == stage), self.ageing_hours)


@dataclass(frozen=True, slots=True)
class Scanner:
    prefix: str = ""
    suffix: str = "enter"  # "enter", "tab" or a literal of 1-3 printable characters


@dataclass(frozen=True, slots=True)
class KioskSettings:
    idle_signout_seconds: int = 300
    confirm_seconds: int = 4
    bell: bool = True  # ring the terminal bell on a refusal
    dispatch_reference: str = "optional"  # "required" | "optional" | "off"
    offline_snapshot_max_age_minutes: int = 60


@dataclass(frozen=True, slots=True)
class MaterialSettings:
    """[materials]: the release policy and which items stores may issue in place of which."""

    release_without_issue: str = "warn"  # "warn" | "refuse" | "allow"
    # item -> the items stores may issue instead (anyone else needs a supervisor or planner)
    substitutes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def allowed_substitutes(self, item: str) -> tuple[str, ...]:
        return dict(self.substitutes).get(item, ())


@dataclass(frozen=True, slots=True)
class ImportSettings:
    """[import.KIND]: the ERP's names for an import file's columns (and, for jobs, its words and dates)."""

    kind: str  # "jobs" | "materials" | "operators"
    columns: tuple[tuple[str, str], ...] = ()  # (floorterm column, the file's column name)
    ignore_columns: tuple[str, ...] = ()  # the file's columns floorterm does not read
    priorities: tuple[tuple[str, int], ...] = ()  # (word, 1..9), besides urgent/high/normal/low
    date_formats: tuple[str, ...] = ()  # strptime formats tried besides YYYY-MM-DD
    roles: tuple[tuple[str, str], ...] = ()  # (the file's word, a floorterm role)


@dataclass(frozen=True)
class Config:
    path: Path | None
    plant_name: str
    timezone: str
    store_url: str
    void_window_minutes: int
    stages: tuple[Stage, ...]
    routings: tuple[Routing, ...]
    delay_reasons: tuple[Reason, ...]
    reject_reasons: tuple[Reason, ...]
    scrap_reasons: tuple[Reason, ...]
    qc_fail_reasons: tuple[Reason, ...]
    material_scrap_reasons: tuple[Reason, ...]
    terminals: tuple[Terminal, ...]
    shifts: tuple[Shift, ...]
    thresholds: Thresholds = Thresholds()
    scanner: Scanner = Scanner()
    kiosk: KioskSettings = KioskSettings()
    # [import.jobs], [import.materials], [import.operators]: how the ERP's files are read.
    imports: tuple["ImportSettings", ...] = ()
    extra_issue_reasons: tuple[Reason, ...] = DEFAULT_EXTRA_ISSUE_REASONS
    materials: MaterialSettings = MaterialSettings()
    # [[suppliers]]: where outside stages send work (issue 10 item 5).
    suppliers: tuple[Supplier, ...] = ()
    # Folder relative store paths are resolved against: the config file's folder, or the
    # base_dir given to parse_config (else the working directory at parse time).
    base_dir: Path | None = None

    _stage_index: dict[str, Stage] = field(init=False, repr=False, compare=False)
    _routing_index: dict[str, Routing] = field(init=False, repr=False, compare=False)
    _terminal_index: dict[str, Terminal] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stage_index", {s.code: s for s in self.stages})
        object.__setattr__(self, "_routing_index", {r.name: r for r in self.routings})
        object.__setattr__(self, "_terminal_index", {t.id: t for t in self.terminals})

    # -- lookups

    def stage(self, code: str) -> Stage:
        try:
            return self._stage_index[code]
        except KeyError:
            raise KeyError(f"unknown stage {code!r}") from None

    def supplier(self, code: str) -> Supplier:
        for supplier in self.suppliers:
            if supplier.code == code:
                return supplier
        raise KeyError(f"unknown supplier {code!r}")

    def supplier_name(self, code: str | None) -> str:
        """The supplier's name for people, or the code itself if the config no longer lists it."""
        if not code:
            return ""
        try:
            return self.supplier(code).name
        except KeyError:
            return code

    def stage_suppliers(self, code: str) -> tuple[Supplier, ...]:
        """The suppliers to offer at a stage: its usual ones first, then the rest of [[suppliers]]."""
        try:
            usual = self.stage(code).suppliers
        except KeyError:
            usual = ()
        first = [s for c in usual for s in self.suppliers if s.code == c]
        return tuple(first + [s for s in self.suppliers if s.code not in usual])

    def routing(self, name: str) -> Routing:
        try:
            return self._routing_index[name]
        except KeyError:
            raise KeyError(f"unknown routing {name!r}") from None

    def import_settings(self, kind: str) -> "ImportSettings":
        """How files of `kind` (jobs, materials, operators) are read: the [import.KIND] section or the defaults."""
        for settings in self.imports:
            if settings.kind == kind:
                return settings
        return ImportSettings(kind)

    def terminal(self, id: str) -> Terminal:  # noqa: A002 - the public name is "id"
        try:
            return self._terminal_index[id]
        except KeyError:
            raise KeyError(f"unknown terminal {id!r}") from None

    def reasons(self, kind: str) -> tuple[Reason, ...]:
        if kind not in REASON_KINDS:
            raise KeyError(f"unknown reason kind {kind!r}; expected one of {', '.join(REASON_KINDS)}")
        return getattr(self, f"{kind}_reasons")

    def reason_label(self, kind: str, code: str) -> str:
        for reason in self.reasons(kind):
            if reason.code == code:
                return reason.label
        raise KeyError(f"unknown {kind} reason {code!r}")

    # -- time

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def shift_at(self, utc_dt: datetime.datetime) -> tuple[Shift, datetime.datetime]:
        """The shift running at ``utc_dt`` and its start as an aware UTC datetime.

        A naive ``utc_dt`` is taken as UTC. Shift starts are plant wall-clock times; across a
        daylight-saving change the returned start is the real instant the wall clock showed
        that time (for a start inside a spring-forward gap, the instant just after the gap).
        """
        utc = datetime.timezone.utc
        instant = utc_dt.replace(tzinfo=utc) if utc_dt.tzinfo is None else utc_dt.astimezone(utc)
        tz = self.tz
        local_day = instant.astimezone(tz).date()
        best: tuple[Shift, datetime.datetime] | None = None
        for offset in (-2, -1, 0):
            day = local_day + datetime.timedelta(days=offset)
            for shift in self.shifts:
                start = _local_to_utc(datetime.datetime.combine(day, shift.start), tz)
                if start <= instant and (best is None or start >= best[1]):
                    best = (shift, start)
        assert best is not None  # shifts is never empty and a day back always qualifies
        return best

    # -- store

    def resolve_store_url(self) -> str:
        """``sqlite:////absolute/path.db`` (or ``sqlite:///:memory:``) or a ``postgresql://`` URL."""
        url = self.store_url
        base = (
            self.base_dir if self.base_dir is not None else (self.path.parent if self.path is not None else Path.cwd())
        )
        match = _SCHEME_RE.match(url)
        if match is None:
            raw = url
        else:
            scheme = match.group(1).lower()
            if scheme in ("postgresql", "postgres"):
                return "postgresql://" + url[match.end() :]
            if scheme != "sqlite":  # parse_config refuses these; guard direct construction
                raise ConfigError(f"store url has unknown scheme {scheme!r}: {url}")
            rest = url[match.end() :]
            if not rest.startswith("/"):
                raise ConfigError(f"store url must look like sqlite:///path.db, got {url}")
            raw = rest[1:]
        if raw in ("", ":memory:"):
            return "sqlite:///:memory:"
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = Path(base) / path
        return "sqlite:///" + Path(os.path.abspath(path)).as_posix()


def _local_to_utc(naive_local: datetime.datetime, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The instant a wall clock in ``tz`` shows ``naive_local`` (first time, if it shows it twice).

    A wall time inside a spring-forward gap is never shown; its instant is the moment the
    clock jumps past it.
    """
    utc = datetime.timezone.utc
    early = naive_local.replace(tzinfo=tz, fold=0).astimezone(utc)
    if early.astimezone(tz).replace(tzinfo=None) == naive_local:
        return early
    late = naive_local.replace(tzinfo=tz, fold=1).astimezone(utc)
    # The wall clock shows a time before the gap at ``lo`` and after it at ``hi``.
    lo, hi = int(min(early, late).timestamp()), int(max(early, late).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        wall = datetime.datetime.fromtimestamp(mid, tz).replace(tzinfo=None)
        if wall >= naive_local:
            hi = mid
        else:
            lo = mid
    return datetime.datetime.fromtimestamp(hi, utc)


# --------------------------------------------------------------------------- loading


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check the config file at ``path``."""
    p = Path(path).expanduser()
    source = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path is a folder, not a file: {source}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {source}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from None
    absolute = Path(os.path.abspath(p))
    return _parse(text, source, path=absolute, base_dir=absolute.parent)


def parse_config(text: str, source: str = "config.toml", base_dir: Path | None = None) -> Config:
    """Check config text; relative store paths resolve against ``base_dir`` (default: cwd)."""
    base = Path(os.path.abspath(base_dir if base_dir is not None else Path.cwd()))
    return _parse(text, source, path=None, base_dir=base)


def find_config_path(cli_value: str | None = None) -> Path:
    """Where the config lives: ``--config`` value, else $FLOORTERM_CONFIG, else
    ``./config.toml``, else ``<user config dir>/floorterm/config.toml``.

    A path given explicitly (option or environment) must exist; floorterm never silently
    falls back to another file when the one asked for is missing.
    """
    if cli_value:
        return _explicit(cli_value, "given with --config")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _explicit(env, f"named by {ENV_VAR}")
    import platformdirs

    tried = [Path.cwd() / "config.toml", Path(platformdirs.user_config_path("floorterm")) / "config.toml"]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "no config file found; tried " + " and ".join(str(c) for c in tried) + f" (pass --config PATH or set {ENV_VAR})"
    )


def _explicit(value: str, how: str) -> Path:
    p = Path(os.path.abspath(Path(value).expanduser()))
    if p.is_dir():
        raise ConfigError(f"config path {how} is a folder, not a file: {p}")
    if not p.is_file():
        raise ConfigError(f"config file {how} not found: {p}")
    return p


# --------------------------------------------------------------------------- checking


def _q(value: str) -> str:
    """Quote a string for a one-line message; control characters show escaped."""
    return json.dumps(value, ensure_ascii=False)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, datetime.datetime):
        return "date-time"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, datetime.time):
        return "time"
    return type(value).__name__


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)


class _Section:
    """One TOML table being checked; ``label(key)`` names a key inside it in messages."""

    def __init__(
        self, data: dict[str, Any], problems: _Problems, *, dotted: str | None = None, entry: str | None = None
    ) -> None:
        self.data = data
        self.problems = problems
        self.dotted = dotted  # "plant" -> plant.timezone ; "" -> top level
        self.entry = entry  # '[[stages]] #2 (code "CUT")' -> ...: "kind"

    def label(self, key: str) -> str:
        if self.entry is not None:
            return f'{self.entry}: {_q(key)}'
        return f"{self.dotted}.{key}" if self.dotted else key

    def where(self) -> str:
        if self.entry is not None:
            return f"in {self.entry}"
        return f"in [{self.dotted}]" if self.dotted else "at top level"

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                suffix = f" (did you mean {_q(hint[0])}?)" if hint else ""
                if not hint and self.dotted != "" and key in _TOP_KEYS:
                    # "x = ..." written after a [table] header belongs to that table in TOML
                    suffix = f" ({_q(key)} is a top-level key: move it above the first [section])"
                elif not hint and key in _KEY_HOME:
                    suffix = f" ({_q(key)} belongs in {_KEY_HOME[key]})"
                self.problems.add(f"unknown key {_q(key)} {self.where()}{suffix}")

    def _get(self, key: str, required: bool, default: Any) -> tuple[bool, Any]:
        if key not in self.data:
            if required:
                self.problems.add(f"{self.label(key)} is required")
            return False, default
        return True, self.data[key]

    def text(self, key: str, *, required: bool = True, default: str = "", allow_empty: bool = False) -> str | None:
        present, value = self._get(key, required, default)
        if not present:
            return default if not required else None
        if not isinstance(value, str):
            self.problems.add(f"{self.label(key)} must be a string, not {_type_name(value)}")
            return None
        if not allow_empty and not value.strip():
            self.problems.add(f"{self.label(key)} must not be empty")
            return None
        if _has_control(value):
            self.problems.add(f"{self.label(key)} must not contain control characters: {_q(value)}")
            return None
        return value.strip()

    def code(self, key: str) -> str | None:
        present, value = self._get(key, True, None)
        if not present:
            return None
        return _check_code(value, self.label(key), self.problems)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        present, value = self._get(key, False, default)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.add(f"{self.label(key)} must be an integer, not {_type_name(value)}")
            return default
        if not low <= value <= high:
            self.problems.add(f"{self.label(key)} must be between {low} and {high}, got {value}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        present, value = self._get(key, False, default)
        if not present:
            return default
        if not isinstance(value, bool):
            self.problems.add(f"{self.label(key)} must be true or false, not {_type_name(value)}")
            return default
        return value

    def array(self, key: str, *, required: bool) -> list[Any] | None:
        present, value = self._get(key, required, None)
        if not present:
            return None
        if not isinstance(value, list):
            self.problems.add(f"{self.label(key)} must be an array, not {_type_name(value)}")
            return None
        return value

    def table(self, key: str, *, required: bool = False) -> _Section | None:
        present, value = self._get(key, False, None)
        if not present:
            if required:
                self.problems.add(f"missing required table [{key}]")
            return None
        if not isinstance(value, dict):
            self.problems.add(f"{self.label(key)} must be a table ([{self.label(key)}]), not {_type_name(value)}")
            return None
        return _Section(value, self.problems, dotted=self.label(key))

    def tables(self, key: str, *, required: bool) -> list[tuple[int, dict[str, Any]]] | None:
        """An array of tables ([[key]]); returns (1-based number, table) for the good items."""
        present, value = self._get(key, False, None)
        if not present:
            if required:
                self.problems.add(f"missing required [[{key}]] blocks")
            return None
        if not isinstance(value, list):
            self.problems.add(
                f"{self.label(key)} must be an array of tables ([[{self.label(key)}]]), not {_type_name(value)}"
            )
            return None
        good = []
        for number, item in enumerate(value, start=1):
            if isinstance(item, dict):
                good.append((number, item))
            else:
                self.problems.add(f"{self.label(key)} #{number} must be a table, not {_type_name(item)}")
        return good


def _check_code(value: Any, label: str, problems: _Problems) -> str | None:
    if not isinstance(value, str):
        problems.add(f"{label} must be a string, not {_type_name(value)}")
        return None
    if not _CODE_RE.fullmatch(value):
        problems.add(f"{label} must be {_CODE_RULE}, got {_q(value)}")
        return None
    return value


def _entry_name(what: str, number: int, item: dict[str, Any], key: str) -> str:
    ident = item.get(key)
    if isinstance(ident, str) and ident:
        return f"{what} #{number} ({key} {_q(ident)})"
    return f"{what} #{number}"


def _code_list(section: _Section, key: str, problems: _Problems) -> list[str] | None:
    """A list of stage codes (routing or terminal); None if the value is not usable."""
    values = section.array(key, required=True)
    if values is None:
        return None
    codes: list[str] = []
    for position, value in enumerate(values, start=1):
        if not isinstance(value, str):
            problems.add(f"{section.label(key)} item {position} must be a string, not {_type_name(value)}")
            return None
        codes.append(value)
    return codes


def _parse(text: str, source: str, *, path: Path | None, base_dir: Path) -> Config:
    """The whole file checked section by section; every problem found is reported at once."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None

    problems = _Problems()
    top = _Section(raw, problems, dotted="")
    top.check_keys(_TOP_KEYS)
    plant_name, timezone = _plant(top, problems)
    store_url = _store(top, problems)
    void_window = _ledger(top)
    suppliers = _suppliers(top, problems)
    stages, named_codes = _stages(top, raw, problems, {s.code for s in suppliers})
    stage_by_code = {s.code: s for s in stages}

    def unknown_stage(code: str) -> bool:
        return code not in stage_by_code and code not in named_codes

    routings = _routings(top, problems, stage_by_code, unknown_stage)
    reason_lists = _reasons(top, problems)
    terminals = _terminals(top, problems, unknown_stage)
    thresholds = _thresholds(top, problems, [s.code for s in stages])
    shifts = _shifts(top, raw, problems)
    _check_working_shifts(thresholds, shifts, problems)
    scanner = _scanner(top, problems)
    kiosk = _kiosk(top, problems)
    imports = _imports(top, problems)
    materials = _materials(top, problems)

    if problems.items:
        raise ConfigError("\n".join(f"{source}: {message}" for message in problems.items))

    assert plant_name is not None and timezone is not None
    return Config(
        path=path,
        plant_name=plant_name,
        timezone=timezone,
        store_url=store_url,
        void_window_minutes=void_window,
        stages=tuple(stages),
        routings=tuple(routings),
        delay_reasons=tuple(reason_lists["delay"]),
        reject_reasons=tuple(reason_lists["reject"]),
        scrap_reasons=tuple(reason_lists["scrap"]),
        qc_fail_reasons=tuple(reason_lists["qc_fail"]),
        material_scrap_reasons=tuple(reason_lists["material_scrap"]),
        terminals=tuple(terminals),
        shifts=tuple(shifts),
        thresholds=thresholds,
        scanner=scanner,
        kiosk=kiosk,
        imports=imports,
        extra_issue_reasons=tuple(reason_lists["extra_issue"]) or DEFAULT_EXTRA_ISSUE_REASONS,
        materials=materials,
        suppliers=tuple(suppliers),
        base_dir=base_dir,
    )


def _plant(top: _Section, problems: _Problems) -> tuple[str | None, str | None]:
    """[plant]: name and IANA time zone."""
    plant_name: str | None = None
    timezone: str | None = None
    plant = top.table("plant", required=True)
    if plant is not None:
        plant.check_keys(("name", "timezone"))
        plant_name = plant.text("name")
        present, tz_value = plant._get("timezone", True, None)
        if present:
            if not isinstance(tz_value, str):
                problems.add(f"plant.timezone must be a string, not {_type_name(tz_value)}")
            else:
                try:
                    zoneinfo.ZoneInfo(tz_value)
                    timezone = tz_value
                except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                    problems.add(
                        f"plant.timezone {_q(tz_value)} is not a known IANA time zone "
                        '(e.g. "Europe/Berlin", "America/Chicago", "UTC")'
                    )
    return plant_name, timezone


def _store(top: _Section, problems: _Problems) -> str:
    """[store]: the store's URL or file path."""
    store_url = DEFAULT_STORE_PATH
    store = top.table("store")
    if store is not None:
        store.check_keys(("url",))
        url = store.text("url", required=False, default=DEFAULT_STORE_PATH)
        if url is not None:
            store_url = url
            _check_store_url(url, problems)
    return store_url


def _ledger(top: _Section) -> int:
    """[ledger]: the void window in minutes."""
    ledger = top.table("ledger")
    if ledger is None:
        return 5
    ledger.check_keys(("void_window_minutes",))
    return ledger.integer("void_window_minutes", 5, 0, 1440)


def _suppliers(top: _Section, problems: _Problems) -> list[Supplier]:
    """[[suppliers]]: code and name of each firm outside stages send work to."""
    suppliers: list[Supplier] = []
    for number, item in top.tables("suppliers", required=False) or ():
        entry = _Section(item, problems, entry=_entry_name("[[suppliers]]", number, item, "code"))
        entry.check_keys(("code", "name"))
        code = entry.code("code")
        name = entry.text("name")
        if code is not None and any(s.code == code for s in suppliers):
            problems.add(f"duplicate supplier code {_q(code)}")
            continue
        if None not in (code, name):
            suppliers.append(Supplier(code=code, name=name))
    return suppliers


# A supervisor's badge as floorterm.inputs.parse_badge keeps it (upper case, at most 24).
_BADGE_RE = re.compile(r"[A-Z0-9][A-Z0-9_./-]{0,23}")


def _stage_owner(entry: _Section, problems: _Problems) -> tuple[str | None, str | None]:
    """A stage's optional owner (department) and supervisor badge."""
    owner = entry.text("owner", required=False, default="", allow_empty=True)
    if owner is not None and len(owner) > 80:
        problems.add(f"{entry.label('owner')} must be at most 80 characters, got {len(owner)}")
        owner = None
    supervisor = entry.text("supervisor", required=False, default="", allow_empty=True)
    if supervisor and not _BADGE_RE.fullmatch(supervisor):
        problems.add(
            f"{entry.label('supervisor')} must be a badge: 1-24 characters of A-Z 0-9 - _ . / (uppercase), "
            f"starting with a letter or digit; got {_q(supervisor)}"
        )
        supervisor = None
    return owner, supervisor


def _stages(
    top: _Section, raw: dict, problems: _Problems, supplier_codes: set[str] = frozenset()
) -> tuple[list[Stage], set[str]]:
    """[[stages]], and every stage code written (even in a broken block, so routings naming it
    are not reported a second time)."""
    stages: list[Stage] = []
    named_codes: set[str] = set()
    stage_items = top.tables("stages", required=True)
    if stage_items is None:
        return stages, named_codes
    if not stage_items and isinstance(raw.get("stages"), list) and not raw["stages"]:
        problems.add("stages must list at least one stage")
    for number, item in stage_items:
        entry = _Section(item, problems, entry=_entry_name("[[stages]]", number, item, "code"))
        entry.check_keys(("code", "name", "kind", "work_centre", "owner", "supervisor", "suppliers"))
        if isinstance(item.get("code"), str):
            named_codes.add(item["code"])
        code = entry.code("code")
        name = entry.text("name")
        kind = entry.text("kind")
        if kind is not None and kind not in STAGE_KINDS:
            problems.add(f"{entry.label('kind')} must be one of {', '.join(STAGE_KINDS)}; got {_q(kind)}")
            kind = None
        work_centre = entry.text("work_centre", required=False, default="", allow_empty=True)
        if work_centre is not None and len(work_centre) > 80:
            problems.add(f"{entry.label('work_centre')} must be at most 80 characters, got {len(work_centre)}")
            work_centre = None
        owner, supervisor = _stage_owner(entry, problems)
        usual = _stage_suppliers(entry, kind, supplier_codes, problems)
        if code is not None and any(s.code == code for s in stages):
            problems.add(f"duplicate stage code {_q(code)}")
            continue
        if None not in (code, name, kind, work_centre, owner, supervisor, usual):
            stages.append(
                Stage(
                    code=code,
                    name=name,
                    kind=kind,
                    work_centre=work_centre,
                    owner=owner,
                    supervisor=supervisor,
                    suppliers=usual,
                )
            )
    return stages, named_codes


def _stage_suppliers(
    entry: _Section, kind: str | None, supplier_codes: set[str], problems: _Problems
) -> tuple[str, ...] | None:
    """An outside stage's usual suppliers; an outside stage needs [[suppliers]] to send to."""
    if kind == "outside" and not supplier_codes:
        problems.add(f"{entry.where()}: an outside stage needs [[suppliers]] blocks (code, name) to send work to")
    values = entry.array("suppliers", required=False)
    if values is None:
        return None if "suppliers" in entry.data else ()
    if kind != "outside":
        problems.add(f"{entry.label('suppliers')} is only for stages of kind \"outside\"")
        return None
    codes = []
    for value in values:
        code = _check_code(value, entry.label("suppliers"), problems)
        if code is None:
            return None
        if code not in supplier_codes:
            known = ", ".join(sorted(supplier_codes)) or "none"
            problems.add(f"{entry.label('suppliers')}: unknown supplier {_q(code)} (the [[suppliers]] codes: {known})")
            return None
        codes.append(code)
    return tuple(codes)


def _routings(top: _Section, problems: _Problems, stage_by_code: dict[str, Stage], unknown_stage) -> list[Routing]:
    """[routings]: named, ordered stage lists; a dispatch stage only last."""
    routings: list[Routing] = []
    routing_table = top.table("routings", required=True)
    if routing_table is None:
        return routings
    if not routing_table.data:
        problems.add("[routings] must define at least one routing")
    for name in routing_table.data:
        label = routing_table.label(name)
        if not _ROUTING_NAME_RE.fullmatch(name):
            problems.add(f"routing name {_q(name)} must be 1-32 characters of A-Z a-z 0-9 - _")
            continue
        codes = _code_list(routing_table, name, problems)
        if codes is None:
            continue
        ok = True
        if not codes:
            problems.add(f"{label} must list at least one stage")
            continue
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                problems.add(f"{label} lists stage {_q(code)} more than once")
                ok = False
            seen.add(code)
            if unknown_stage(code):
                problems.add(f"{label} names unknown stage {_q(code)}")
                ok = False
        for position, code in enumerate(codes[:-1], start=1):
            stage = stage_by_code.get(code)
            if stage is not None and stage.kind == "dispatch":
                problems.add(
                    f"{label}: dispatch stage {_q(code)} must be the last step, "
                    f"but it is step {position} of {len(codes)}"
                )
                ok = False
        if ok:
            routings.append(Routing(name=name, stages=tuple(codes)))
    return routings


def _reasons(top: _Section, problems: _Problems) -> dict[str, list[Reason]]:
    """[reasons]: the fixed pick-lists, each with at least one reason."""
    reason_lists: dict[str, list[Reason]] = {kind: [] for kind in REASON_KINDS}
    reasons = top.table("reasons", required=True)
    if reasons is None:
        return reason_lists
    reasons.check_keys(REASON_KINDS)
    for kind in REASON_KINDS:
        items = reasons.tables(kind, required=False)
        if kind not in reasons.data and kind in OPTIONAL_REASON_KINDS:
            continue  # the default list applies
        if kind not in reasons.data:
            problems.add(f"reasons.{kind} is required (a list of {{ code = ..., label = ... }})")
            continue
        if items is None:
            continue
        if not items and not reasons.data[kind]:
            problems.add(f"reasons.{kind} must list at least one reason")
        for number, item in items:
            entry = _Section(item, problems, entry=_entry_name(f"reasons.{kind}", number, item, "code"))
            entry.check_keys(("code", "label"))
            code = entry.code("code")
            label = entry.text("label")
            if code is not None and any(r.code == code for r in reason_lists[kind]):
                problems.add(f"duplicate reason code {_q(code)} in reasons.{kind}")
                continue
            if code is not None and label is not None:
                reason_lists[kind].append(Reason(code=code, label=label))
    return reason_lists


def _terminals(top: _Section, problems: _Problems, unknown_stage) -> list[Terminal]:
    """[[terminals]]: id, name, kind and the stages each records."""
    terminals: list[Terminal] = []
    terminal_items = top.tables("terminals", required=False) or []
    for number, item in terminal_items:
        entry = _Section(item, problems, entry=_entry_name("[[terminals]]", number, item, "id"))
        entry.check_keys(("id", "name", "kind", "stages", "badge_required"))
        tid = entry.code("id")
        name = entry.text("name")
        kind = entry.text("kind")
        if kind is not None and kind not in TERMINAL_KINDS:
            problems.add(f"{entry.label('kind')} must be one of {', '.join(TERMINAL_KINDS)}; got {_q(kind)}")
            kind = None
        badge = entry.boolean("badge_required", True)
        codes = _code_list(entry, "stages", problems)
        if codes is not None:
            if not codes:
                problems.add(f'{entry.label("stages")} must not be empty')
                codes = None
            else:
                seen = set()
                for code in codes:
                    if code in seen:
                        problems.add(f"{entry.label('stages')} lists stage {_q(code)} more than once")
                        codes = None
                        break
                    seen.add(code)
                for code in list(codes or ()):
                    if unknown_stage(code):
                        problems.add(f"{entry.label('stages')} names unknown stage {_q(code)}")
                        codes = None
        if tid is not None and any(t.id == tid for t in terminals):
            problems.add(f"duplicate terminal id {_q(tid)}")
            continue
        if None not in (tid, name, kind, codes):
            terminals.append(Terminal(id=tid, name=name, kind=kind, stages=tuple(codes), badge_required=badge))
    return terminals


def _thresholds(top: _Section, problems: _Problems, stage_codes: list[str] | None = None) -> Thresholds:
    """[thresholds]: WIP ageing buckets (default and per stage) and the late warning."""
    thresholds = Thresholds()
    thr = top.table("thresholds")
    if thr is None:
        return thresholds
    thr.check_keys(("ageing_hours", "ageing_hours_by_stage", "late_warning_hours", *_EXCEPTION_KEYS))
    ageing = thresholds.ageing_hours
    values = thr.array("ageing_hours", required=False)
    if values is not None:
        ageing = _ageing(values, thr.label("ageing_hours"), problems) or ageing
    by_stage = _ageing_by_stage(thr, ageing, stage_codes or [], problems)
    late = thr.integer("late_warning_hours", 24, 0, 24 * 365)
    return Thresholds(
        ageing_hours=ageing,
        ageing_hours_by_stage=by_stage,
        late_warning_hours=late,
        **_exception_thresholds(thr, problems),
    )


def _ageing_by_stage(
    thr: _Section, default: tuple[int, ...], stage_codes: list[str], problems: _Problems
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """[thresholds.ageing_hours_by_stage]: STAGE = [hours, ...], as many as ageing_hours (the colours
    and buckets mean the same step everywhere); stage codes must be configured stages."""
    table = thr.table("ageing_hours_by_stage")
    if table is None:
        return ()
    out = []
    for code, values in table.data.items():
        label = table.label(code)
        if code not in stage_codes:
            problems.add(f"{label}: unknown stage {_q(code)}; the stages are: {', '.join(stage_codes) or 'none'}")
            continue
        if not isinstance(values, list):
            problems.add(
                f"{label} must be an array of {len(default)} hours like thresholds.ageing_hours, "
                f"e.g. {list(h * 2 for h in default)}, not {_type_name(values)}"
            )
            continue
        hours = _ageing(values, label, problems)
        if hours is None:
            continue
        if len(hours) != len(default):
            problems.add(
                f"{label} must give {len(default)} hours like thresholds.ageing_hours {list(default)} "
                f"(one per colour step), not {len(hours)}"
            )
            continue
        out.append((code, hours))
    return tuple(out)


_EXCEPTION_KEYS = ("stale_hours", "idle_after_issue_hours", "late_entry_minutes", "working_shifts", "working_days")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _exception_thresholds(thr: _Section, problems: _Problems) -> dict[str, Any]:
    """[thresholds] keys of the exception lists (floorterm.exceptions); shift names are checked later."""
    out: dict[str, Any] = {
        "stale_hours": thr.integer("stale_hours", 8, 1, 24 * 365),
        "idle_after_issue_hours": thr.integer("idle_after_issue_hours", 4, 1, 24 * 365),
        "late_entry_minutes": thr.integer("late_entry_minutes", 30, 1, 7 * 24 * 60),
    }
    names = thr.array("working_shifts", required=False)
    if names is not None:
        label = thr.label("working_shifts")
        if not names:
            problems.add(f"{label} must name at least one shift (or leave it out: every shift works)")
        elif any(not isinstance(n, str) for n in names):
            problems.add(f"{label} must list shift names (strings)")
        elif len(set(names)) != len(names):
            problems.add(f"{label} names a shift twice")
        else:
            out["working_shifts"] = tuple(names)
    days = thr.array("working_days", required=False)
    if days is not None:
        label = thr.label("working_days")
        bad = [d for d in days if d not in WEEKDAYS]
        if not days:
            problems.add(f"{label} must list at least one day (or leave it out: every day works)")
        elif bad:
            problems.add(f"{label} has {_q(str(bad[0]))}; use {', '.join(WEEKDAYS)}")
        elif len(set(days)) != len(days):
            problems.add(f"{label} names a day twice")
        else:
            out["working_days"] = tuple(sorted(WEEKDAYS.index(d) for d in days))
    return out


def _check_working_shifts(thresholds: Thresholds, shifts: list[Shift], problems: _Problems) -> None:
    """[thresholds] working_shifts must name shifts of [[shifts]]."""
    known = [s.name for s in shifts]
    for name in thresholds.working_shifts or ():
        if shifts and name not in known:
            problems.add(
                f"thresholds.working_shifts names unknown shift {_q(name)}; the shifts are: {', '.join(known)}"
            )


def _shifts(top: _Section, raw: dict, problems: _Problems) -> list[Shift]:
    """[[shifts]] in order of their start; one all-day shift when the section is left out."""
    shifts: list[Shift] = []
    shift_items = top.tables("shifts", required=False)
    if shift_items is None:
        if "shifts" not in raw:
            shifts = [Shift(name="Day", start=datetime.time(0, 0))]
    elif not shift_items and not raw["shifts"]:
        problems.add("shifts must list at least one shift (or leave [[shifts]] out)")
    for number, item in shift_items or ():
        entry = _Section(item, problems, entry=_entry_name("[[shifts]]", number, item, "name"))
        entry.check_keys(("name", "start"))
        name = entry.text("name")
        start = _shift_start(entry, problems)
        if name is not None and any(s.name == name for s in shifts):
            problems.add(f"duplicate shift name {_q(name)}")
            continue
        if start is not None:
            clash = next((s for s in shifts if s.start == start), None)
            if clash is not None:
                problems.add(f"{entry.label('start')} {start:%H:%M} is also the start of shift {_q(clash.name)}")
                continue
        if name is not None and start is not None:
            shifts.append(Shift(name=name, start=start))
    shifts.sort(key=lambda s: s.start)
    return shifts


def _scanner(top: _Section, problems: _Problems) -> Scanner:
    """[scanner]: the prefix and suffix the barcode scanners send."""
    scan = top.table("scanner")
    if scan is None:
        return Scanner()
    scan.check_keys(("prefix", "suffix"))
    prefix = scan.text("prefix", required=False, default="", allow_empty=True)
    if prefix is not None:
        raw_prefix = scan.data.get("prefix", "")
        if len(raw_prefix) > 8 or not raw_prefix.isprintable():
            problems.add(f"scanner.prefix must be at most 8 printable characters, got {_q(raw_prefix)}")
            prefix = None
        else:
            prefix = raw_prefix  # keep spaces: the scanner sends exactly these characters
    suffix = _scanner_suffix(scan, problems)
    return Scanner(prefix=prefix if prefix is not None else "", suffix=suffix or "enter")


def _kiosk(top: _Section, problems: _Problems) -> KioskSettings:
    """[kiosk]: sign-out, confirmation, bell, dispatch reference, offline copy age."""
    ks = top.table("kiosk")
    if ks is None:
        return KioskSettings()
    ks.check_keys(
        (
            "idle_signout_seconds",
            "confirm_seconds",
            "bell",
            "dispatch_reference",
            "offline_snapshot_max_age_minutes",
            "offline_snapshot_max_age",
        )
    )
    if "offline_snapshot_max_age" in ks.data:
        # The issue named it without units; say which key to write rather than "unknown key".
        problems.add(
            'kiosk.offline_snapshot_max_age: write the age in minutes as "offline_snapshot_max_age_minutes" (1..10080)'
        )
    reference = ks.text("dispatch_reference", required=False, default="optional")
    if reference is not None and reference not in DISPATCH_REFERENCE_MODES:
        problems.add(
            f"kiosk.dispatch_reference must be one of {', '.join(DISPATCH_REFERENCE_MODES)}; got {_q(reference)}"
        )
    return KioskSettings(
        idle_signout_seconds=ks.integer("idle_signout_seconds", 300, 1, 86400),
        confirm_seconds=ks.integer("confirm_seconds", 4, 1, 60),
        bell=ks.boolean("bell", True),
        dispatch_reference=reference if reference in DISPATCH_REFERENCE_MODES else "optional",
        offline_snapshot_max_age_minutes=ks.integer("offline_snapshot_max_age_minutes", 60, 1, 7 * 24 * 60),
    )


# [import.KIND]: the columns each import file has (= floorterm.importer's lists) and the keys it takes.
IMPORT_COLUMNS = {
    "jobs": (
        "job",
        "order_ref",
        "customer",
        "product",
        "qty",
        "planned_start",
        "planned_end",
        "priority",
        "routing",
        "inspection",
        "notes",
    ),
    "materials": ("job", "item", "description", "unit", "required_qty"),
    "operators": ("badge", "name", "role"),
}
_IMPORT_KEYS = {
    "jobs": ("columns", "ignore_columns", "priorities", "date_formats"),
    "materials": ("columns", "ignore_columns"),
    "operators": ("columns", "ignore_columns", "roles"),
}
_IMPORT_ROLES = ("operator", "qc", "stores", "supervisor", "planner", "viewer")  # = models.ROLES
_DATE_PROBE = datetime.date(2026, 12, 31)


def _import_name(text: str) -> str:
    """A column name or word as the importer compares them: case, spaces, hyphens and underscores folded."""
    return "_".join(text.lower().replace("-", " ").replace("_", " ").split())


def _imports(top: _Section, problems: _Problems) -> tuple[ImportSettings, ...]:
    """[import.jobs], [import.materials], [import.operators]: the ERP's column names, words and date formats."""
    section = top.table("import")
    if section is None:
        return ()
    section.check_keys(tuple(IMPORT_COLUMNS))
    found = []
    for kind in IMPORT_COLUMNS:
        sub = section.table(kind)
        if sub is None:
            continue
        sub.check_keys(_IMPORT_KEYS[kind])
        found.append(
            ImportSettings(
                kind,
                columns=_import_columns(sub, kind, problems),
                ignore_columns=_import_ignore(sub, problems),
                priorities=_import_words(sub, "priorities", problems, _priority_value),
                date_formats=_import_date_formats(sub, problems),
                roles=_import_words(sub, "roles", problems, _role_value),
            )
        )
    return tuple(found)


def _import_columns(sub: _Section, kind: str, problems: _Problems) -> tuple[tuple[str, str], ...]:
    table = sub.table("columns")
    if table is None:
        return ()
    known = IMPORT_COLUMNS[kind]
    out: list[tuple[str, str]] = []
    sources: dict[str, str] = {}
    for target, source in table.data.items():
        label = table.label(target)
        if target not in known:
            hint = difflib.get_close_matches(target, known, n=1)
            more = f" (did you mean {_q(hint[0])}?)" if hint else ""
            problems.add(f"{label}: unknown {kind} column {_q(target)}{more}; the columns are: {', '.join(known)}")
            continue
        if not isinstance(source, str):
            problems.add(f"{label} must be a string (the column name in the file), not {_type_name(source)}")
            continue
        if not source.strip() or _has_control(source):
            problems.add(f"{label} must be a column name of printable characters, got {_q(source)}")
            continue
        key = _import_name(source)
        if key in sources:
            problems.add(f"{label}: the file column {_q(source)} is already given for {_q(sources[key])}")
            continue
        sources[key] = target
        out.append((target, source.strip()))
    return tuple(out)


def _import_ignore(sub: _Section, problems: _Problems) -> tuple[str, ...]:
    values = sub.array("ignore_columns", required=False)
    if values is None:
        return ()
    out = []
    for position, value in enumerate(values, start=1):
        if not isinstance(value, str) or not value.strip() or _has_control(value):
            problems.add(f"{sub.label('ignore_columns')} item {position} must be a column name, got {_q(str(value))}")
            continue
        out.append(value.strip())
    return tuple(out)


def _priority_value(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9:
        return None, "must be a priority from 1 (most urgent) to 9"
    return value, None


def _role_value(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or value.strip().lower() not in _IMPORT_ROLES:
        return None, f"must be one of the roles {', '.join(_IMPORT_ROLES)}"
    return value.strip().lower(), None


def _import_words(sub: _Section, key: str, problems: _Problems, check) -> tuple[tuple[str, Any], ...]:
    """A table of the file's words and what each stands for (priorities = { rush = 1 })."""
    table = sub.table(key)
    if table is None:
        return ()
    out = []
    for word, value in table.data.items():
        if not word.strip() or _has_control(word):
            problems.add(f"{table.label(word)}: a word must be printable and not empty")
            continue
        result, error = check(value)
        if error:
            problems.add(f"{table.label(word)} {error}, got {_q(value) if isinstance(value, str) else value}")
            continue
        out.append((_import_name(word), result))
    return tuple(out)


def _import_date_formats(sub: _Section, problems: _Problems) -> tuple[str, ...]:
    values = sub.array("date_formats", required=False)
    if values is None:
        return ()
    out = []
    for position, value in enumerate(values, start=1):
        label = f"{sub.label('date_formats')} item {position}"
        if not isinstance(value, str):
            problems.add(f"{label} must be a string like \"%d.%m.%Y\", not {_type_name(value)}")
            continue
        try:
            back = datetime.datetime.strptime(_DATE_PROBE.strftime(value), value)
        except ValueError:
            back = None
        if back is None or back.date() != _DATE_PROBE or back.time() != datetime.time(0) or "%" not in value:
            problems.add(
                f"{label} {_q(value)} is not a date format with day, month and year "
                '(strftime codes, e.g. "%d.%m.%Y" or "%m/%d/%Y")'
            )
            continue
        out.append(value)
    return tuple(out)


def _materials(top: _Section, problems: _Problems) -> MaterialSettings:
    """[materials]: release_without_issue, and [materials.substitutes] item = [allowed items]."""
    mat = top.table("materials")
    if mat is None:
        return MaterialSettings()
    mat.check_keys(("release_without_issue", "substitutes"))
    mode = mat.text("release_without_issue", required=False, default="warn")
    if mode is not None and mode not in RELEASE_WITHOUT_ISSUE_MODES:
        problems.add(
            f"materials.release_without_issue must be one of {', '.join(RELEASE_WITHOUT_ISSUE_MODES)}; got {_q(mode)}"
        )
    pairs: list[tuple[str, tuple[str, ...]]] = []
    subs = mat.table("substitutes")
    for item, allowed in (subs.data if subs is not None else {}).items():
        label = f"materials.substitutes.{_q(item)}"
        if not _ITEM_RE.fullmatch(item):
            problems.add(f"{label}: an item code is {_ITEM_RULE}")
            continue
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            problems.add(f"{label} must be a list of item codes, e.g. [\"RB-C45-65\"]")
            continue
        bad = [a for a in allowed if not _ITEM_RE.fullmatch(a) or a == item]
        if bad:
            named = ", ".join(_q(a) for a in bad)
            problems.add(f"{label}: {named} is not a usable substitute ({_ITEM_RULE}, not the item itself)")
            continue
        pairs.append((item, tuple(dict.fromkeys(allowed))))
    return MaterialSettings(
        release_without_issue=mode if mode in RELEASE_WITHOUT_ISSUE_MODES else "warn",
        substitutes=tuple(pairs),
    )


def _check_store_url(url: str, problems: _Problems) -> None:
    match = _SCHEME_RE.match(url)
    if match is None:
        return  # a plain file path
    scheme = match.group(1).lower()
    rest = url[match.end() :]
    if scheme in ("postgresql", "postgres"):
        if not rest:
            problems.add(f"store.url {_q(url)} names no PostgreSQL server")
        return
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            problems.add(
                f"store.url {_q(url)} must look like sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        return
    problems.add(f"store.url has unknown scheme {_q(scheme)}; use a file path, sqlite:///path.db or postgresql://...")


def _ageing(values: list[Any], label: str, problems: _Problems) -> tuple[int, ...] | None:
    if not values:
        problems.add(f"{label} must list at least one number of hours")
        return None
    result: list[int] = []
    for position, value in enumerate(values, start=1):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(f"{label} item {position} must be an integer, not {_type_name(value)}")
            return None
        if value <= 0:
            problems.add(f"{label} item {position} must be a positive number of hours, got {value}")
            return None
        if result and value <= result[-1]:
            problems.add(f"{label} must be strictly increasing, but {value} follows {result[-1]}")
            return None
        result.append(value)
    return tuple(result)


def _shift_start(entry: _Section, problems: _Problems) -> datetime.time | None:
    present, value = entry._get("start", True, None)
    if not present:
        return None
    label = entry.label("start")
    if isinstance(value, datetime.time) and not isinstance(value, datetime.datetime):
        # TOML local time (start = 06:00:00) is accepted when it is a whole minute.
        if value.second or value.microsecond or value.tzinfo is not None:
            problems.add(f'{label} must be a whole minute "HH:MM", got {value.isoformat()}')
            return None
        return value
    if not isinstance(value, str):
        problems.add(f'{label} must be a string "HH:MM", not {_type_name(value)}')
        return None
    match = _HHMM_RE.fullmatch(value)
    if match is None:
        problems.add(f'{label} must be "HH:MM" (24-hour, e.g. "06:00"), got {_q(value)}')
        return None
    return datetime.time(int(match.group(1)), int(match.group(2)))


def _scanner_suffix(scan: _Section, problems: _Problems) -> str | None:
    present, value = scan._get("suffix", False, "enter")
    if not present:
        return "enter"
    if not isinstance(value, str):
        problems.add(f"scanner.suffix must be a string, not {_type_name(value)}")
        return None
    if value in ("enter", "tab"):
        return value
    if 1 <= len(value) <= 3 and value.isprintable():
        return value
    problems.add(f'scanner.suffix must be "enter", "tab" or 1-3 printable characters, got {_q(value)}')
    return None
