"""The validated shape of hygge.yml, flow.yml and entity files.

Every model forbids unknown keys and is frozen. Home and store sections stay plain
mappings here: their keys depend on `type` and are validated by the plugin's own
config model once the entity's effective section is known.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from hygge.pool import DEFAULT_SIZE, DEFAULT_TIMEOUT
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
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


def parse_run_type(value: Any) -> Any:
    """Accept the aliases (docs/architecture.md, Run types) wherever a run type is written."""
    if isinstance(value, str):
        return RUN_TYPE_ALIASES.get(value.strip().lower(), value)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a valid name: use letters, digits, '_' and '-' only")
    return value


Name = Annotated[str, BeforeValidator(lambda v: _name(v) if isinstance(v, str) else v)]


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
    hash_ids: dict[str, list[str]] = {}
    """New column -> the source columns it hashes (SHA-256 in hex)."""
    constants: dict[str, Constant] = {}
    """New column -> its value on every row."""
    timestamps: dict[str, Literal["run_start", "now"]] = {}
    """New column -> the time it holds: the run's start (one per run) or now."""
    run_id: str | None = None
    """A new column of this name holding the run's id."""

    @field_validator("hash_ids")
    @classmethod
    def _some_columns(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        empty = [name for name, columns in value.items() if not columns]
        if empty:
            raise ValueError(f"hash id {empty[0]!r} lists no columns to hash")
        return value

    def added(self) -> list[str]:
        """The names of the columns polish adds, in the order it adds them."""
        extra = [self.run_id] if self.run_id else []
        return [*self.hash_ids, *self.constants, *self.timestamps, *extra]


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


SQL_SERVER_OPTIONS = ("authentication", "tenant_id", "client_id", "client_secret", "encrypt",
                      "trust_server_certificate", "login_timeout", "query_timeout")  # fmt: skip


class Connection(Strict):
    """A named connection, shared by the flows that name it."""

    type: str
    """The database engine: postgres, mysql, mssql (or an installed plugin's)."""
    url: str | None = None
    """The whole address, e.g. `postgres://user:${PG_PASSWORD}@host:5432/db`; or the parts below."""
    host: str | None = None
    """The server's host name."""
    port: int | None = None
    """The server's port; none: the engine's."""
    database: str | None = None
    """The database to connect to."""
    user: str | None = None
    """The user to connect as."""
    password: str | None = None
    """The password; only from `${VAR}`, never written into the file."""
    pool_size: Annotated[int, Field(gt=0)] = DEFAULT_SIZE
    """Connections this process opens to it at most."""
    acquire_timeout: Annotated[float, Field(gt=0)] = DEFAULT_TIMEOUT
    """Seconds an entity waits for a free connection before it fails."""
    # SQL Server's sign-in and transport (hygge.engines._mssql_login), carried in the URL.
    authentication: str | None = None
    """SQL Server only: how to sign in: sql (user and password), ActiveDirectoryDefault,
    ActiveDirectoryManagedIdentity or ActiveDirectoryServicePrincipal."""
    tenant_id: str | None = None
    """SQL Server only: the service principal's tenant."""
    client_id: str | None = None
    """SQL Server only: the service principal's (or a user-assigned identity's) client id."""
    client_secret: str | None = None
    """SQL Server only: the service principal's secret; only from `${VAR}`."""
    encrypt: str | bool | None = None
    """SQL Server only: encrypt the connection: yes (the driver's default), no or strict."""
    trust_server_certificate: bool | None = None
    """SQL Server only: accept the server's certificate unchecked (default false)."""
    login_timeout: Annotated[int, Field(ge=0)] | None = None
    """SQL Server only: seconds to wait for the sign-in (default 15)."""
    query_timeout: Annotated[int, Field(ge=0)] | None = None
    """SQL Server only: seconds a statement may run (0: no limit)."""

    @model_validator(mode="after")
    def _sql_server_options_for_sql_server(self) -> Connection:
        given = [name for name in SQL_SERVER_OPTIONS if getattr(self, name) is not None]
        if given and self.type not in ("mssql", "sqlserver"):
            raise ValueError(f"{', '.join(given)}: only a SQL Server connection (mssql) takes")
        return self


class S3Connection(Strict):
    """Credentials for `s3://` paths (hygge.clouds.s3). What is left out comes from the AWS
    default chain: environment, shared config and profile, instance or task role."""

    type: Literal["s3"]
    """Amazon S3 or an S3-compatible store."""
    region: str | None = None
    """The bucket's region."""
    endpoint_url: str | None = None
    """The endpoint of an S3-compatible store (MinIO, R2) or an emulator."""
    access_key_id: str | None = None
    """An access key's id, given with `secret_access_key`."""
    secret_access_key: str | None = None
    """The access key's secret; only from `${VAR}`."""
    session_token: str | None = None
    """A temporary credential's token; only from `${VAR}`."""
    profile: str | None = None
    """A profile of `~/.aws/config`, instead of access keys."""

    @model_validator(mode="after")
    def _one_kind_of_credential(self) -> S3Connection:
        keys = (self.access_key_id, self.secret_access_key)
        if any(keys) and not all(keys):
            raise ValueError("give access_key_id and secret_access_key together")
        if self.profile and any(keys):
            raise ValueError("give a profile or access keys, not both")
        return self


class AzureConnection(Strict):
    """Credentials for Azure Blob and ADLS Gen2 paths (`az://`, `abfss://`; hygge.clouds.azure).
    Without a key, SAS token, client secret or `anonymous`, azure-identity's default chain
    (environment, workload or managed identity, `az login`) is used."""

    type: Literal["azure"]
    """Azure Blob Storage or ADLS Gen2."""
    account: str | None = None
    """The storage account; none: the one an `abfss://` path names."""
    endpoint_url: str | None = None
    """The blob endpoint of an emulator or another cloud (with a key or SAS token)."""
    tenant_id: str | None = None
    """A service principal's tenant."""
    client_id: str | None = None
    """A service principal's client id."""
    client_secret: str | None = None
    """A service principal's secret; only from `${VAR}`."""
    sas_token: str | None = None
    """A SAS token; only from `${VAR}`."""
    account_key: str | None = None
    """The account's key; only from `${VAR}`."""
    anonymous: bool = False
    """Read public containers without credentials."""

    @model_validator(mode="after")
    def _one_kind_of_credential(self) -> AzureConnection:
        kinds = [self.account_key, self.sas_token, self.client_secret, self.anonymous or None]
        if sum(kind is not None for kind in kinds) > 1:
            raise ValueError("give one of account_key, sas_token, client_secret or anonymous")
        if self.client_secret and not (self.tenant_id and self.client_id):
            raise ValueError("a client_secret needs tenant_id and client_id")
        if self.endpoint_url and not (self.account_key or self.sas_token):
            raise ValueError("an endpoint_url needs an account_key or a sas_token")
        return self


class GcsConnection(Strict):
    """Credentials for `gs://` paths (hygge.clouds.gcs). `token` is a service account's JSON
    key (only through `${VAR}`) or the path of a file holding one; without it, Google's
    default chain (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default login, the
    metadata server of GCE, GKE or Cloud Run) is used."""

    type: Literal["gcs"]
    """Google Cloud Storage."""
    project: str | None = None
    """The Google Cloud project of the buckets."""
    token: str | None = None
    """A service account's JSON key (only from `${VAR}`) or the path of a file holding one."""
    endpoint_url: str | None = None
    """The endpoint of an emulator."""
    anonymous: bool = False
    """Go without credentials: public buckets, or an emulator at `endpoint_url`."""

    @model_validator(mode="after")
    def _one_kind_of_credential(self) -> GcsConnection:
        if self.token and self.anonymous:
            raise ValueError("give a token or anonymous, not both")
        return self


CloudConnection = S3Connection | AzureConnection | GcsConnection
CLOUD_CONNECTIONS: dict[str, type[CloudConnection]] = {
    "s3": S3Connection,
    "azure": AzureConnection,
    "gcs": GcsConnection,
}


def _connection_kind(value: Any) -> str:
    """A cloud's connection model by its type; any other type is a database connection."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    cloud = CLOUD_CONNECTIONS.get(kind) if isinstance(kind, str) else None
    return cloud.__name__ if cloud else "Connection"


AnyConnection = Annotated[
    Annotated[Connection, Tag("Connection")]
    | Annotated[S3Connection, Tag("S3Connection")]
    | Annotated[AzureConnection, Tag("AzureConnection")]
    | Annotated[GcsConnection, Tag("GcsConnection")],
    Discriminator(_connection_kind),
]


class SqliteJournalConfig(Strict):
    """The journal in one SQLite file of the project (the default): one machine."""

    type: Literal["sqlite"] = "sqlite"
    """A SQLite file in the project, for one machine (the default)."""
    path: str = ".hygge/journal.db"
    """The journal's file, relative to the project folder."""


class PostgresJournalConfig(Strict):
    """The journal in a PostgreSQL schema, reached through a named postgres connection:
    runs on several machines share it, and its advisory locks (hygge.journal.advisory)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["postgres"]
    """A PostgreSQL journal, shared by the machines that run the project."""
    connection: Name
    """The postgres connection of hygge.yml that reaches it."""
    db_schema: Annotated[str, Field(alias="schema", min_length=1, max_length=63)] = "hygge"
    """The schema that holds its tables."""


def _journal_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "PostgresJournalConfig" if kind == "postgres" else "SqliteJournalConfig"


JournalConfig = Annotated[
    Annotated[SqliteJournalConfig, Tag("SqliteJournalConfig")]
    | Annotated[PostgresJournalConfig, Tag("PostgresJournalConfig")],
    Discriminator(_journal_kind),
]


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
