"""Azure Blob Storage, ADLS Gen2 and OneLake: `az://container/key`,
`abfss://container@account.dfs.core.windows.net/key` and
`abfss://workspace@onelake.dfs.fabric.microsoft.com/item.Lakehouse/Files/key` through adlfs.

The storage account is the connection's `account`, else the one an abfss:// URL names. A
connection's key, SAS token or service principal goes to adlfs (listing, writing) and to
Polars' readers; with none of them, both use azure-identity's default chain (environment,
workload or managed identity, `az login`). An `endpoint_url` (an emulator such as Azurite,
whose blob endpoint hygge is tested on, or another cloud) is reached by a connection string.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import adlfs
from azure.core import exceptions as azure

from hygge.clouds._translating import TranslatingFileSystem
from hygge.clouds.identity import host_of, is_onelake
from hygge.config.connection_models import AzureConnection
from hygge.errors import ConfigError


def account_of(credentials: AzureConnection | None, path: str) -> str | None:
    """The connection's account, else the one in `abfss://container@ACCOUNT.dfs...`
    (`onelake` for OneLake)."""
    if credentials and credentials.account and not _onelake_host(path):
        return credentials.account
    host = host_of(urlsplit(path).netloc)
    return host.split(".")[0] if "." in host else None


def _onelake_host(path: str) -> str | None:
    """The OneLake host a path names (its blob spelling, which adlfs speaks), else None."""
    host = host_of(urlsplit(path).netloc).lower()
    return host.replace(".dfs.", ".blob.") if is_onelake(host) else None


def filesystem(credentials: AzureConnection | None, path: str) -> TranslatingFileSystem:
    """adlfs, its errors made OSErrors (`translate`)."""
    options = adlfs_options(credentials, path)
    return TranslatingFileSystem(adlfs.AzureBlobFileSystem(**options), translate)


def adlfs_options(credentials: AzureConnection | None, path: str) -> dict[str, Any]:
    """adlfs's arguments for path: a connection string for an `endpoint_url`; OneLake's
    host for a OneLake path (its workspace is the container, and it takes Entra ID tokens
    only: a service principal or the default chain); else the account and credential."""
    c = credentials or AzureConnection(type="azure")
    account = account_of(c, path)
    if c.endpoint_url:
        return {"connection_string": _connection_string(c, account), "skip_instance_cache": True}
    if account is None:
        raise ConfigError(
            f"path {path} names no storage account",
            hint="give the connection an `account`, or write the path as"
            " abfss://container@ACCOUNT.dfs.core.windows.net/...",
        )
    options: dict[str, Any] = {
        "account_name": account,
        "account_key": c.account_key,
        "sas_token": c.sas_token,
        "tenant_id": c.tenant_id,
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "anon": c.anonymous,
        "skip_instance_cache": True,
    }
    onelake = _onelake_host(path)
    if onelake:
        options["account_host"] = onelake
    return options


def _connection_string(c: AzureConnection, account: str | None) -> str:
    endpoint = c.endpoint_url or ""
    parts = {
        "DefaultEndpointsProtocol": urlsplit(endpoint).scheme or "https",
        "AccountName": account,
        "AccountKey": c.account_key,
        "SharedAccessSignature": c.sas_token,
        "BlobEndpoint": endpoint,
    }
    return ";".join(f"{k}={v}" for k, v in parts.items() if v) + ";"


def translate(exc: BaseException) -> OSError | None:
    """azure-core's errors (adlfs passes them on, some inside a RuntimeError) as OSErrors:
    a missing container or blob FileNotFoundError, a refused credential PermissionError."""
    if isinstance(exc, RuntimeError) and isinstance(exc.__cause__, azure.AzureError):
        exc = exc.__cause__
    if not isinstance(exc, azure.AzureError):
        return None
    text = str(exc.message if hasattr(exc, "message") else exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(exc, azure.ResourceNotFoundError):
        return FileNotFoundError(message)
    if isinstance(exc, azure.ClientAuthenticationError) or status == 403:
        return PermissionError(message)
    if isinstance(exc, azure.ServiceRequestError):
        return ConnectionError(message)
    return OSError(message)


def polars_options(credentials: AzureConnection | None, path: str) -> dict[str, str] | None:
    """Polars' names for the same settings; None leaves its own default chain to it."""
    if credentials is None:
        return None  # Polars tells a OneLake URL by its host on its own
    c = credentials
    given: dict[str, Any] = {
        "account_name": account_of(c, path),
        "account_key": c.account_key,
        "sas_token": c.sas_token,
        "tenant_id": c.tenant_id,
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "azure_storage_endpoint": c.endpoint_url,
        "azure_skip_signature": "true" if c.anonymous else None,
        "use_fabric_endpoint": "true" if _onelake_host(path) else None,
    }
    if (c.endpoint_url or "").startswith("http://"):
        given["azure_allow_http"] = "true"
    return {key: value for key, value in given.items() if value is not None} or None
