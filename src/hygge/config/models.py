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
    model_config = ConfigDict(extra="forbid", frozen=True)


def _name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a valid name: use letters, digits, '_' and '-' only")
    return value


Name = Annotated[str, BeforeValidator(lambda v: _name(v) if isinstance(v, str) else v)]


class Watermark(Strict):
    """The column that tells new rows from old."""

    column: str
    start: Any = None
    lookback: Any = None

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
    remove_special: bool = False  # drop characters other than letters, digits, _ and spaces
    remove_spaces: bool = False  # spaces (and runs of them) become one _
    max_length: Annotated[int | None, Field(gt=0)] = None
    rename: dict[str, str] = {}  # source name -> destination name, taken as written
    hash_ids: dict[str, list[str]] = {}  # new column -> the source columns it hashes
    constants: dict[str, Constant] = {}  # new column -> its value on every row
    timestamps: dict[str, Literal["run_start", "now"]] = {}  # new column -> which time
    run_id: str | None = None  # a new column holding the run's id

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
    max: Any = None


class Freshness(Strict):
    column: str
    max_age: str  # a duration: 90s, 15m, 2h, 1d

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)  # its ValueError names the value
        return value


class Checks(Strict):
    """Data checks on the rows a run loads (hygge.checks); a failed one publishes nothing,
    unless it is listed in `warn`."""

    not_null: list[str] = []
    unique: list[str] = []  # these columns together identify a row within the run
    accepted_values: dict[str, list[Constant]] = {}
    range: dict[str, Bounds] = {}
    row_count: Bounds | None = None
    freshness: Freshness | None = None
    warn: list[CheckName] = []  # checks that only warn


class Settings(Strict):
    """Run settings that layer: built-in < hygge.yml options < flow.yml < defaults < entity."""

    run_type: Annotated[RunType | None, BeforeValidator(parse_run_type)] = None
    batch_rows: Annotated[int | None, Field(gt=0)] = None
    retries: Annotated[int | None, Field(ge=0)] = None
    retry_delay: Annotated[float | None, Field(ge=0)] = None
    primary_key: list[str] | None = None
    watermark: Watermark | None = None
    allow_empty: bool | None = None  # may a full_drop of no rows empty a destination?
    polish: Polish | None = None
    checks: Checks | None = None

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
    continue_on_error: bool = True
    exclusive: bool = False  # one coordinator per project at a time
    # seconds between the progress lines of `hygge go` when its output is not a terminal
    progress_interval: Annotated[float | None, Field(gt=0)] = None

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
    url: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = None
    pool_size: Annotated[int, Field(gt=0)] = DEFAULT_SIZE
    acquire_timeout: Annotated[float, Field(gt=0)] = DEFAULT_TIMEOUT  # seconds
    # SQL Server's sign-in and transport (hygge.engines._mssql_login), carried in the URL.
    authentication: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    encrypt: str | bool | None = None
    trust_server_certificate: bool | None = None
    login_timeout: Annotated[int, Field(ge=0)] | None = None
    query_timeout: Annotated[int, Field(ge=0)] | None = None

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
    region: str | None = None
    endpoint_url: str | None = None  # S3-compatible stores (MinIO, R2) and emulators
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = None

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
    account: str | None = None  # else the one an abfss:// URL names
    endpoint_url: str | None = None  # the blob endpoint of an emulator or another cloud
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    sas_token: str | None = None
    account_key: str | None = None
    anonymous: bool = False

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
    project: str | None = None
    token: str | None = None
    endpoint_url: str | None = None  # an emulator
    anonymous: bool = False

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
    path: str = ".hygge/journal.db"


class PostgresJournalConfig(Strict):
    """The journal in a PostgreSQL schema, reached through a named postgres connection:
    runs on several machines share it, and its advisory locks (hygge.journal.advisory)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["postgres"]
    connection: Name
    db_schema: Annotated[str, Field(alias="schema", min_length=1, max_length=63)] = "hygge"


def _journal_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "PostgresJournalConfig" if kind == "postgres" else "SqliteJournalConfig"


JournalConfig = Annotated[
    Annotated[SqliteJournalConfig, Tag("SqliteJournalConfig")]
    | Annotated[PostgresJournalConfig, Tag("PostgresJournalConfig")],
    Discriminator(_journal_kind),
]


class ProjectFile(Strict):
    name: Name
    id: Name | None = None  # with name, the project's identity in a shared journal
    flows_dir: str = "flows"
    options: ProjectOptions = ProjectOptions()
    connections: dict[Name, AnyConnection] = {}
    journal: JournalConfig = SqliteJournalConfig()
    log_file: str | None = None  # each run's log records as JSON lines (relative: to the project)


class EntityFile(Settings):
    """An entity: its settings and overrides of the flow's home/store keys.

    Inline entities must have a name; an entity file is named by its file name.
    """

    name: Name | None = None
    home: dict[str, Any] = {}
    store: dict[str, Any] = {}
    tags: list[Name] = []  # added to its flow's, for --tag


class FlowFile(Settings):
    home: dict[str, Any]
    store: dict[str, Any]
    defaults: Settings = Settings()
    entities: list[Name | EntityFile] | None = None
    description: str | None = None
    tags: list[Name] = []  # every entity of the flow has them, for --tag
