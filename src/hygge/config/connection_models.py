"""The validated shape of hygge.yml's named connections (databases, clouds) and of its
journal. Like every config model, each forbids unknown keys and is frozen."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from hygge.config.strict import Name, Strict
from hygge.pool import DEFAULT_SIZE, DEFAULT_TIMEOUT

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
