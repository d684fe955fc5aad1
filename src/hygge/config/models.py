"""The validated shape of hygge.yml, flow.yml and entity files.

Every model forbids unknown keys and is frozen. Home and store sections stay plain
mappings here: their keys depend on `type` and are validated by the plugin's own
config model once the entity's effective section is known.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from hygge.config.connection_models import AnyConnection, JournalConfig, SqliteJournalConfig
from hygge.config.strict import Name, Strict
from hygge.watermark import parse_duration

RunType = Literal["incremental", "full_drop", "merge"]
RUN_TYPES: tuple[RunType, ...] = ("incremental", "full_drop", "merge")
RUN_TYPE_ALIASES: dict[str, RunType] = {
    "incremental": "incremental",
    "i": "incremental",
    "full_drop": "full_drop",
    "full-drop": "full_drop",
    "d": "full_drop",
    "merge": "merge",
    "m": "merge",
}


def parse_run_type(value: Any) -> Any:
    """Accept the aliases (docs/architecture.md, Run types) wherever a run type is written."""
    if isinstance(value, str):
        return RUN_TYPE_ALIASES.get(value.strip().lower(), value)
    return value


class Watermark(Strict):
    """The column that tells new rows from old."""

    column: str
    """The column that tells new rows from old: a number, date or time that grows."""
    start: Any = None
    """Where the first run starts (inclusive), written like the column's values; none: all rows."""
    lookback: Any = None
    """Read again this far below the watermark (a count, or a duration like 2h) for rows that
    arrive late; rows already loaded are dropped."""

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, value: Any) -> Any:
        """A count (integer columns) or a duration (dates, times), checked here so that a
        typo stops the run with its file and line instead of failing the entity later."""
        if value is None or (type(value) is int and value >= 0):
            return value
        if isinstance(value, str):
            parse_duration(value)  # its ValueError names the value
            return value
        raise ValueError(f"{value!r} is not a lookback: use a count like 100 or a duration like 2h")


Case = Literal["snake", "camel", "pascal", "lower", "upper", "keep"]
Constant = str | int | float | bool
HashAlgorithm = Literal["sha256", "xxh64"]


class HashId(Strict):
    """A hash id spelled out: its source columns and the hash of their canonical text."""

    columns: list[str]
    """The source columns it hashes, in this order."""
    algorithm: HashAlgorithm = "sha256"
    """`sha256`: 64 hex characters (text). `xxh64`: XXH64 (seed 0) as a signed 64-bit integer,
    a bigint in every store and several times cheaper to compute and store; at 64 bits a
    collision is about even odds among 5 billion rows (1 in 3,700 among 100 million)."""


def _hash_id_kind(value: Any) -> str:
    return "HashId" if isinstance(value, dict | HashId) else "columns"


# a list of columns, or a mapping spelled out: errors name the keys of the form written
HashIdSetting = Annotated[
    Annotated[list[str], Tag("columns")] | Annotated[HashId, Tag("HashId")],
    Discriminator(_hash_id_kind),
]


class Polish(Strict):
    """How each batch is shaped on its way to the store (hygge.polish): destination column
    names, and columns hygge adds. Keys merge layer by layer like any mapping setting."""

    case: Case = "keep"
    """The case of destination column names."""
    remove_special: bool = False
    """Drop characters other than letters, digits, _ and spaces from column names."""
    remove_spaces: bool = False
    """Spaces (and runs of them) in column names become one _."""
    max_length: Annotated[int | None, Field(gt=0)] = None
    """Cut column names to this many characters."""
    rename: dict[str, str] = {}
    """Source name -> destination name, taken as written, before the rules above."""
    hash_ids: dict[str, HashIdSetting] = {}
    """New column -> the source columns it hashes (SHA-256 in hex), or a hash id spelled out."""
    constants: dict[str, Constant] = {}
    """New column -> its value on every row."""
    timestamps: dict[str, Literal["run_start", "now"]] = {}
    """New column -> the time it holds: the run's start (one per run) or now."""
    run_id: str | None = None
    """A new column of this name holding the run's id."""

    @field_validator("hash_ids")
    @classmethod
    def _some_columns(cls, value: dict[str, list[str] | HashId]) -> dict[str, list[str] | HashId]:
        empty = [name for name, hashed in value.items() if not _spelled_out(hashed).columns]
        if empty:
            raise ValueError(f"hash id {empty[0]!r} lists no columns to hash")
        return value

    def hashes(self) -> dict[str, HashId]:
        """Each hash id spelled out (a bare list of columns is hashed with SHA-256)."""
        return {name: _spelled_out(hashed) for name, hashed in self.hash_ids.items()}

    def added(self) -> list[str]:
        """The names of the columns polish adds, in the order it adds them."""
        extra = [self.run_id] if self.run_id else []
        return [*self.hash_ids, *self.constants, *self.timestamps, *extra]


def _spelled_out(hashed: list[str] | HashId) -> HashId:
    return hashed if isinstance(hashed, HashId) else HashId(columns=hashed)


CheckName = Literal["not_null", "unique", "accepted_values", "range", "row_count", "freshness"]


class Bounds(Strict):
    """Inclusive limits; either may be left open."""

    min: Any = None
    """The lowest value allowed (inclusive); none: open."""
    max: Any = None
    """The highest value allowed (inclusive); none: open."""


class Freshness(Strict):
    column: str
    """The time column whose newest value is judged."""
    max_age: str
    """How old the newest value may be: a duration like 90s, 15m, 2h, 1d."""

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)  # its ValueError names the value
        return value


OnFail = Literal["fail", "warn", "quarantine"]
ROW_CHECKS: tuple[CheckName, ...] = ("not_null", "accepted_values", "range")  # judged row by row


class Checks(Strict):
    """Data checks on the rows a run loads (hygge.checks). What a failure does is the check's
    `on_fail`: `fail` publishes nothing, `warn` only warns, `quarantine` (row checks only)
    moves the failing rows to the sibling destination `<entity>__quarantine`. `warn: [..]` is
    short for `on_fail: warn` of the checks it lists."""

    not_null: list[str] = []
    """Columns that must hold no null."""
    unique: list[str] = []
    """Columns that together identify a row within the run (across all its batches)."""
    accepted_values: dict[str, list[Constant]] = {}
    """Column -> the values it may hold."""
    range: dict[str, Bounds] = {}
    """Column -> its inclusive `min` and `max`."""
    row_count: Bounds | None = None
    """The rows the run may load: `min` and `max`."""
    freshness: Freshness | None = None
    """How recent the newest value of a time column must be."""
    on_fail: OnFail | dict[CheckName, OnFail] = "fail"
    """What a failure does: fail, warn or quarantine; one for all checks, or per check."""
    warn: list[CheckName] = []
    """Checks that only warn instead of failing the entity (short for on_fail: warn)."""

    @model_validator(mode="after")
    def _consistent(self) -> Checks:
        per_check = self.on_fail if isinstance(self.on_fail, dict) else {}
        both = [c for c in self.warn if c in per_check and per_check[c] != "warn"]
        if both:
            raise ValueError(
                f"check {both[0]!r} is listed in warn and has on_fail {per_check[both[0]]!r}"
            )
        held = [c for c in self._written() if self.action(c) == "quarantine"]
        whole = [c for c in held if c not in ROW_CHECKS]
        if whole:
            raise ValueError(
                f"check {whole[0]!r} cannot quarantine: it judges the run as a whole, not a"
                f" row; quarantine takes {', '.join(ROW_CHECKS)} (use fail or warn)"
            )
        return self

    def _written(self) -> list[CheckName]:
        given = {
            "not_null": self.not_null,
            "unique": self.unique,
            "accepted_values": self.accepted_values,
            "range": self.range,
            "row_count": self.row_count,
            "freshness": self.freshness,
        }
        return [name for name, value in given.items() if value]  # type: ignore[misc]

    def action(self, check: CheckName) -> OnFail:
        """What a failure of check does."""
        if check in self.warn:
            return "warn"
        if isinstance(self.on_fail, dict):
            return self.on_fail.get(check, "fail")
        return self.on_fail

    def quarantines(self) -> bool:
        """Does any check written here move failing rows to the quarantine?"""
        return any(self.action(c) == "quarantine" for c in self._written())


class Settings(Strict):
    """Run settings that layer: built-in < hygge.yml options < flow.yml < defaults < entity."""

    run_type: Annotated[RunType | None, BeforeValidator(parse_run_type)] = None
    """`full_drop` (atomic replace), `incremental` (append what is new) or `merge` (upsert on
    `primary_key`); by default `incremental` with a watermark, else `full_drop`."""
    batch_rows: Annotated[int | None, Field(gt=0)] = None
    """Rows per batch between home and store (bounds memory)."""
    retries: Annotated[int | None, Field(ge=0)] = None
    """Retries of transient errors."""
    retry_delay: Annotated[float | None, Field(ge=0)] = None
    """Seconds before the first retry; doubles with each."""
    primary_key: list[str] | None = None
    """The columns `merge` matches rows on (a name or a list)."""
    watermark: Watermark | None = None
    """The column telling new rows from old, for incremental runs."""
    allow_empty: bool | None = None
    """May a `full_drop` that reads no rows empty a destination holding rows."""
    polish: Polish | None = None
    """Destination column names and added columns."""
    checks: Checks | None = None
    """Data checks on the rows a run loads, judged before the publish."""

    @field_validator("primary_key", mode="before")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


SETTING_KEYS = tuple(Settings.model_fields)
BUILTIN_SETTINGS = Settings(
    run_type=None, batch_rows=100_000, retries=2, retry_delay=1.0, allow_empty=False
)


class ProjectOptions(Settings):
    concurrency: Annotated[int | None, Field(gt=0)] = None
    """Entities moved at the same time; by default as many as are selected, up to 4."""
    continue_on_error: bool = True
    """Start further entities after one failed."""
    exclusive: bool = False
    """Allow one `hygge go` per project at a time."""
    progress_interval: Annotated[float | None, Field(gt=0)] = None
    """Seconds between the progress lines of `hygge go` when its output is not a terminal."""

    @field_validator("allow_empty")
    @classmethod
    def _not_project_wide(cls, value: Any) -> Any:
        """For every entity at once it would switch the guard off where nobody looked."""
        if value is not None:
            raise ValueError(
                "allow_empty is set per flow (flow.yml or its defaults) or per entity,"
                " not for the whole project"
            )
        return value


class ProjectFile(Strict):
    """hygge.yml: the project's name, options and named connections."""

    name: Name
    """The project's name: letters, digits, _ and -."""
    id: Name | None = None
    """With `name`, the project's identity in a shared (PostgreSQL) journal."""
    flows_dir: str = "flows"
    """The folder of flows (one sub-folder with a flow.yml each), relative to the project."""
    options: ProjectOptions = ProjectOptions()
    """Options of the run, and settings every entity starts from."""
    connections: dict[Name, AnyConnection] = {}
    """Named connections (databases, clouds) that homes and stores refer to by `connection`."""
    journal: JournalConfig = SqliteJournalConfig()
    """Where runs and watermarks are recorded."""
    log_file: str | None = None
    """Each run's log records as JSON lines, in this file (relative: to the project)."""


class EntityFile(Settings):
    """An entity: its settings and overrides of the flow's home/store keys.

    Inline entities must have a name; an entity file is named by its file name.
    """

    name: Name | None = None
    """The entity's name (required inline; an entity file is named by its file name)."""
    home: dict[str, Any] = {}
    """Keys of the flow's home this entity changes, e.g. its own `path` or `table`."""
    store: dict[str, Any] = {}
    """Keys of the flow's store this entity changes."""
    tags: list[Name] = []
    """Tags of the entity, added to its flow's, for `--tag`."""


class FlowFile(Settings):
    """flow.yml: one home, one store, settings shared by the flow's entities."""

    home: dict[str, Any]
    """Where the data lives: `type` and that type's keys (see Homes)."""
    store: dict[str, Any]
    """Where the data settles: `type` and that type's keys (see Stores)."""
    defaults: Settings = Settings()
    """Settings every entity of the flow starts from (an entity's own win)."""
    entities: list[Name | EntityFile] | None = None
    """The flow's entities: names, or mappings with a `name` and their settings."""
    description: str | None = None
    """What the flow is for, for people; hygge does not use it."""
    tags: list[Name] = []
    """Tags every entity of the flow has, for `--tag`."""
