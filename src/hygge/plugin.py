"""The plugin API: what a Home and a Store are. Synchronous; the coordinator owns threads."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, ClassVar, Generic, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict

from hygge.config.models import RunType
from hygge.errors import EntityError, StoreError
from hygge.pool import Pools
from hygge.results import SchemaChange
from hygge.watermark import Mark


class PluginConfig(BaseModel):
    """Base of every home/store config model: strict and frozen, `type` names the plugin."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    type: str
    """The plugin: a built-in type or one an installed package brings."""


ConfigT = TypeVar("ConfigT", bound=PluginConfig)


@dataclass(frozen=True)
class Context:
    """Where a plugin instance lives: the project root (for relative paths), its entity,
    the coordinator's connection pools (one per named connection), and for a home the
    connections of each pool its store holds meanwhile (the home may use the rest)."""

    root: Path
    flow: str
    entity: str
    pools: Pools = field(default_factory=lambda: Pools({}), compare=False)
    reserved: Mapping[str, int] = field(default_factory=dict, compare=False)

    def resolve(self, path: str) -> str:
        """Relative local paths are relative to the project root; URLs stay as written.
        Separators are `/` on every system (Windows takes them too)."""
        if "://" in path or Path(path).is_absolute():
            return path
        return (self.root / path).as_posix()


@dataclass(frozen=True)
class Window:
    """Which rows to read: `column` between lower and upper, both inclusive.

    No column means everything. Homes push the bounds down and also return rows whose
    column is NULL (a full_drop copies them; otherwise the flow counts and drops them).
    Rows at the lower bound that were already loaded are dropped by the flow, so a home need
    not know about them.
    """

    column: str | None = None
    lower: Mark | None = None
    upper: Mark | None = None
    files: tuple[str, ...] | None = None  # new-files-only: read just these files

    @classmethod
    def everything(cls) -> Window:
        return cls()


@dataclass(frozen=True)
class Commit:
    """What a load published, kept by the store beside the data.

    The journal is committed after the store publishes; if the process dies in between,
    the next run finds this record and adopts its watermark, so nothing is read twice.
    """

    run_id: str
    published_at: datetime
    watermark: str | None = None  # an encoded hygge.watermark.Mark
    state: bytes | None = None  # the window state (rows loaded at the watermark)


@dataclass(frozen=True)
class WholeFile:
    """A file a read would give whole, its rows unchanged: a load writing files of the same
    format and codec may copy its bytes instead of re-encoding its rows (read from its
    footer: the rows, the columns as a read gives them, the codecs of its column chunks)."""

    path: str
    open: Callable[[], IO[bytes]] = field(compare=False)
    local: bool
    rows: int
    schema: pl.Schema
    codecs: frozenset[str]


@dataclass(frozen=True)
class LoadRun:
    """What a store needs to know about the run it loads for."""

    run_id: str
    run_type: RunType
    primary_key: tuple[str, ...] = ()
    version: str | None = None  # merge: of rows sharing a key, the greatest of this column wins


class Home(ABC, Generic[ConfigT]):
    """A source of one entity's rows, configured by a `ConfigT` (its `Config`)."""

    Config: ClassVar[type[PluginConfig]]
    # A flow-level `path` naming a folder holds one sub-folder per entity (as for stores).
    folder_per_entity: ClassVar[bool] = False
    # The keys naming what is read: in the flow.yml of a flow with several entities each
    # must hold {entity} (or be the entity's own), else every entity would read one source.
    entity_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ConfigT, context: Context) -> None:
        self.config = config
        self.context = context

    @abstractmethod
    def describe(self) -> str:
        """Short text naming the source, e.g. its path or table."""

    def origin(self) -> str | None:
        """What this home reads, as an identity of the form of `Store.target()`, so a plan can
        refuse a store that would write over it; None when the home cannot tell."""
        return None

    def preflight(self) -> list[str]:
        """Cheap config-level problems found before anything runs (no connections opened)."""
        return []

    @abstractmethod
    def check(self) -> list[str]:
        """Problems that would stop a run (missing path, no access); empty when fine."""

    def schema(self) -> pl.Schema:
        """Column names and types, read without reading the rows."""
        raise EntityError(f"home type {self.config.type!r} cannot tell its columns")

    def high_mark(self, column: str) -> Mark | None:
        """The largest value of column right now: an incremental read's upper bound."""
        raise EntityError(f"home type {self.config.type!r} cannot read incrementally")

    def column_bounds(self, column: str) -> tuple[pl.DataType | None, Mark | None]:
        """The column's type (None: no such column) and high_mark, in one go where the home
        can: an incremental run asks both before reading, and each ask may be a round trip."""
        dtype = self.schema().get(column)
        return dtype, None if dtype is None else self.high_mark(column)

    def window_problem(self, column: str | None) -> str | None:
        """Why a window on column cannot be pushed down (None when it can); asked at planning."""
        return None

    @property
    def new_files_only(self) -> bool:
        """True when the home reads only files new or changed since the last run."""
        return False

    def listing(self) -> pl.DataFrame:
        """The files this home would read now: path, size, modified_ns (new-files-only)."""
        raise EntityError(f"home type {self.config.type!r} has no files to list")

    def estimate_rows(self, window: Window) -> int | None:
        """About how many rows a read of window yields, when that is cheap to know (file
        footers, catalog statistics): progress shows % and ETA from it. None: unknown."""
        return None

    @abstractmethod
    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        """Yield the rows of window in DataFrames of at most batch_rows rows."""

    def pool_needs(self) -> Mapping[str, int]:
        """Pool name -> the most connections of `context.pools` this home holds at once."""
        return {}

    # The format of the files `whole_files` offers; None: this home offers none.
    whole_format: ClassVar[str | None] = None

    def whole_files(self, window: Window) -> list[WholeFile] | None:
        """The files a read of window would give, each whole and unchanged (no columns
        selected, no rows filtered); None when a read would change them or cannot tell."""
        return None


class Load(ABC):
    """One run's writes to a store: staged until publish, discarded by abort.

    A store that changes its destination's columns (adds the source's new ones) says so in
    `schema_changes` once published; the flow reports them and the journal keeps them.
    Anything else the run's summary should say (e.g. requests a cloud made it retry) goes
    into `notes`.
    """

    schema_changes: tuple[SchemaChange, ...] = ()
    # Rows the destination itself reports this load delivered (its staged table counted,
    # the rows of its published files), once published; None: the store cannot tell. The
    # flow compares it with the rows it wrote, so a load that lost rows never reports success.
    published_rows: int | None = None
    notes: tuple[str, ...] = ()

    @abstractmethod
    def write(self, frame: pl.DataFrame) -> None: ...

    @abstractmethod
    def publish(self, commit: Commit) -> None:
        """Make everything written visible at once, with the commit record beside it."""

    @abstractmethod
    def abort(self) -> None:
        """Discard everything staged; safe to call more than once."""

    # The format of files this load could take whole (`copy_in`); None: it writes rows only.
    whole_format: str | None = None

    def refuse_whole(self, files: Sequence[WholeFile]) -> str | None:
        """Why this load would not take files as they are (None: it takes them)."""
        return "it writes rows"

    def copy_in(self, file: WholeFile) -> None:
        """Stage file's bytes as one of the load's files (after `refuse_whole` said None)."""
        raise NotImplementedError


@dataclass(frozen=True)
class LandedColumn:
    """A column the destination has now: its name, its type as the destination names it,
    and what a load would do with the incoming column of that name: `same` type (nothing
    converted), or `holds` (converted, e.g. a wider type; False: the load fails). Both are
    None when nothing incoming has that name (the load fills it with nulls)."""

    name: str
    type: str
    same: bool | None
    holds: bool | None


class Store(ABC, Generic[ConfigT]):
    """A destination for one entity, configured by a `ConfigT` (its `Config`)."""

    Config: ClassVar[type[PluginConfig]]
    run_types: ClassVar[frozenset[RunType]] = frozenset()
    # An incremental load updates rows by primary_key instead of appending them.
    incremental_upserts: ClassVar[bool] = False
    # A flow-level `path` names a folder that holds one sub-folder per entity.
    folder_per_entity: ClassVar[bool] = False
    # `column_problem` may refuse a name (`hygge debug` then reads the home's columns for it).
    refuses_names: ClassVar[bool] = False

    def __init__(self, config: ConfigT, context: Context) -> None:
        self.config = config
        self.context = context

    @abstractmethod
    def destination(self) -> str:
        """Where the data lands (folder, table), for plans and summaries."""

    def target(self) -> str:
        """What this store writes, as an identity: two configs reaching one folder or table
        give one target, which locks and the plan's conflict check key on. A local path is
        absolute with `..` and symlinks resolved (`hygge.filesystem.real_path`), a table
        `engine://host:port/database#schema.table` with names in the case its engine tells
        apart. Never a user or password: lock files are keyed by it. By default the
        destination (a plugin that knows better overrides this)."""
        return self.destination()

    def preflight(self) -> list[str]:
        """Cheap config-level problems found before anything runs (no connections opened)."""
        return []

    @abstractmethod
    def check(self) -> list[str]:
        """Problems that would stop a load (not writable, unreachable); empty when fine."""

    def column_problem(self, name: str) -> str | None:
        """Why this store cannot take a column of this name (as polish leaves it); None when
        it can. `hygge debug` asks it of each column the home describes, when
        `refuses_names` says the store may refuse one."""
        return None

    def landed_columns(self, incoming: pl.Schema) -> list[LandedColumn] | None:
        """The destination's columns now, each held to the incoming column of its name, for
        `hygge schema`: empty when there is no destination yet, None when the store cannot
        tell. Reads metadata only, writes nothing."""
        return None

    def begin(self, run: LoadRun) -> Load:
        """A load for run; a run type the store does not declare in `run_types` is refused
        here, before the store is touched."""
        if run.run_type not in self.run_types:
            raise StoreError(
                f"{self.config.type} store cannot {run.run_type}",
                hint=f"use one of: {', '.join(sorted(self.run_types))}",
            )
        return self.start(run)

    @abstractmethod
    def start(self, run: LoadRun) -> Load:
        """A load for run, whose run type is one of `run_types`."""

    @abstractmethod
    def recover(self) -> None:
        """Finish or clean up what a crashed run left behind (staging)."""

    def pool_needs(self) -> Mapping[str, int]:
        """Pool name -> the most connections of `context.pools` this store holds at once."""
        return {}

    def last_commit(self) -> Commit | None:
        """The record of the newest published load; None when the store keeps none."""
        return None

    def row_count(self) -> int | None:
        """How many rows the destination holds now (None: there is none yet), read cheaply
        (footers, count(*)). Asked before a full_drop of nothing would replace it."""
        raise EntityError(
            f"store type {self.config.type!r} cannot count the rows of {self.destination()}",
            hint="set allow_empty: true to publish an empty copy anyway",
        )
