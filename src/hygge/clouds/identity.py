"""Where an object-storage URL points, as an identity: every spelling of one location gives
one string, which destination locks and the plan's conflict check key on (`Store.target`).

Pure parsing, no cloud library: `import hygge` and a plan without the extras can use it.

- S3: `s3://bucket/key`; bucket names are lower case.
- Azure: `az://container/key` (account from the connection), `abfs[s]://container@account
  .dfs.core.windows.net/key` and the `.blob.` spelling all become `az://account/container/key`;
  accounts and containers are lower case. An account neither the connection nor the URL
  names stays empty (such a path cannot run anyway).
- OneLake: `abfss://workspace@onelake.dfs.fabric.microsoft.com/item.Lakehouse/Files/...` (or
  `.blob.`) becomes `onelake://workspace/item.Lakehouse/Files/...`, as written: a workspace or
  item named once by name and once by id are two locations to hygge (only Fabric's API could
  tell they are one).
- GCS: `gs://bucket/key` (`gcs://` too); bucket names are lower case.

Keys keep their case with `.`, `..`, repeated and trailing slashes folded. A connection with
an `endpoint_url` (an S3-compatible store, an emulator) reaches other buckets than the
cloud's: its endpoint joins the scheme (`s3+127.0.0.1:9000://bucket/key`).
"""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from hygge.config.connection_models import CloudConnection

ONELAKE_DOMAIN = ".fabric.microsoft.com"  # onelake.dfs.fabric.microsoft.com and regional hosts
_AZURE = ("az", "abfs", "abfss")


def object_identity(path: str, credentials: CloudConnection | None) -> str:
    """The location a cloud URL reaches with `credentials` (None: the cloud's default)."""
    scheme, _, rest = path.partition("://")
    scheme = scheme.lower()
    authority, _, key = rest.partition("/")
    if scheme in _AZURE:
        return _azure(authority, key, credentials)
    if scheme == "gcs":
        scheme = "gs"
    return _joined(f"{scheme}{_endpoint(credentials)}://{authority.lower()}", key)


def is_onelake(host: str) -> bool:
    return host.lower().endswith(ONELAKE_DOMAIN)


def host_of(authority: str) -> str:
    """`account.dfs.core.windows.net` of `container@account.dfs.core.windows.net`."""
    return authority.rpartition("@")[2] if "@" in authority else ""


def _azure(authority: str, key: str, credentials: CloudConnection | None) -> str:
    container = authority.partition("@")[0]
    host = host_of(authority)
    if is_onelake(host):
        return _joined(f"onelake://{container}", key)
    account = getattr(credentials, "account", None) or host.partition(".")[0]
    return _joined(f"az{_endpoint(credentials)}://{account.lower()}/{container.lower()}", key)


def _endpoint(credentials: CloudConnection | None) -> str:
    endpoint = getattr(credentials, "endpoint_url", None)
    return f"+{urlsplit(endpoint).netloc.lower()}" if endpoint else ""


def _joined(base: str, key: str) -> str:
    folded = posixpath.normpath("/" + key).lstrip("/")  # a leading `..` cannot climb out
    return f"{base}/{folded}" if folded else base
