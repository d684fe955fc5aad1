"""Google Cloud Storage: `gs://bucket/key` through gcsfs.

A connection's `token` (a service account's JSON key, or the path of a file holding one) goes
to gcsfs (listing, writing) and to Polars' readers; without one both use Google's default
chain through google-auth (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default
login, the metadata server). gcsfs retries throttling and server errors (429, 5xx) with
backoff, uncounted; a refused credential (401, 403) or a missing bucket fails at once.

gcsfs's plain filesystem is used, not its experimental one for zonal and hierarchical
buckets (which asks a gRPC control API per bucket). A move is a copy and a delete, as on
S3: GCS moves objects in one request only in hierarchical buckets.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import google.auth.exceptions
from gcsfs.core import GCSFileSystem
from gcsfs.retry import HttpError

from hygge.clouds._translating import TranslatingFileSystem
from hygge.config.connection_models import GcsConnection
from hygge.errors import ConfigError

_DEFAULT_CHAIN = "google_default"  # gcsfs's name for google.auth.default()
_MISSING_BUCKET = re.compile(r"\bb/([^/?]+)/o(?:\?|$)")  # a request on the bucket's objects


class CopyingGcs(GCSFileSystem):  # type: ignore[misc]
    """gcsfs with moves as copy and delete (see the module's note)."""

    async def _mv_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        await self._cp_file(path1, path2)
        await self._rm_file(path1)


def filesystem(credentials: GcsConnection | None, path: str) -> TranslatingFileSystem:
    """gcsfs, its errors made OSErrors (`translate`). gcsfs loads its credentials as it
    starts: a token it cannot use, or a default chain that finds none, is a ConfigError."""
    try:
        with warnings.catch_warnings():  # "project not set": hygge never creates buckets
            warnings.simplefilter("ignore", UserWarning)
            fs = CopyingGcs(**gcsfs_options(credentials))
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise ConfigError(
            f"no credentials for {path}: no token is given and Google's default chain found none",
            hint="give the gcs connection a token (a service account key from ${VAR}, or its"
            " file's path), or set GOOGLE_APPLICATION_CREDENTIALS, or run gcloud auth"
            " application-default login",
        ) from exc
    except (google.auth.exceptions.GoogleAuthError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"the token of the gcs connection for {path} is not a key Google accepts"
            f" ({type(exc).__name__})",
            hint="give a service account's JSON key, or an authorized user's",
        ) from exc
    return TranslatingFileSystem(fs, translate)


def gcsfs_options(credentials: GcsConnection | None) -> dict[str, Any]:
    """gcsfs's arguments: the token as gcsfs takes it (a JSON key parsed, a file's path as
    it is, `anon` for anonymous), Google's default chain without one."""
    c = credentials or GcsConnection(type="gcs")
    options: dict[str, Any] = {
        "project": c.project,
        "token": "anon" if c.anonymous else _token(c.token) or _DEFAULT_CHAIN,
        "skip_instance_cache": True,
        "cache_timeout": 0,  # listings are never cached: other processes change the bucket
    }
    if c.endpoint_url:
        options["endpoint_url"] = c.endpoint_url
    return options


def _token(token: str | None) -> str | dict[str, Any] | None:
    """A JSON key parsed, else the path of a key file, which must exist (gcsfs would take any
    other text for an access token and send it to Google to check)."""
    if not token:
        return None
    if token.lstrip().startswith("{"):
        try:
            parsed: dict[str, Any] = json.loads(token)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"the token of a gcs connection is not valid JSON ({exc.msg})",
                hint="give a service account's JSON key whole, or the path of its file",
            ) from None
        return parsed
    if not Path(token).is_file():
        raise ConfigError(
            "the token of a gcs connection is no JSON key and names no existing file",
            hint="give the path of a key file (relative to where hygge runs), or the key itself"
            " through ${VAR}",
        )
    return token


def translate(exc: BaseException) -> OSError | None:
    """gcsfs's and google-auth's errors as OSErrors: a refused credential PermissionError, a
    request on a missing bucket (gcsfs says only `.../b/BUCKET/o`) naming it."""
    if isinstance(exc, FileNotFoundError):
        bucket = _MISSING_BUCKET.search(str(exc))
        return FileNotFoundError(f"bucket {bucket[1]} does not exist") if bucket else None
    if isinstance(exc, google.auth.exceptions.DefaultCredentialsError):
        return PermissionError(
            f"{exc}: give the connection a token, or set one where Google's default chain"
            " looks (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login)"
        )
    if isinstance(exc, google.auth.exceptions.GoogleAuthError):
        return PermissionError(str(exc))
    if isinstance(exc, OSError) and str(exc).startswith("Forbidden"):
        return PermissionError(str(exc))
    if isinstance(exc, HttpError):
        code = getattr(exc, "code", None)
        return PermissionError(str(exc)) if code in (401, 403) else OSError(str(exc))
    return None


def polars_options(credentials: GcsConnection | None, path: str) -> dict[str, str] | None:
    """Polars' names for the same settings; None leaves its own default chain to it."""
    if credentials is None:
        return None
    c = credentials
    token = _token(c.token)
    given: dict[str, Any] = {
        "google_service_account_key": json.dumps(token) if isinstance(token, dict) else None,
        "google_service_account": token if isinstance(token, str) else None,
        "google_base_url": c.endpoint_url,
        "google_skip_signature": "true" if c.anonymous else None,
    }
    if (c.endpoint_url or "").startswith("http://"):
        given["allow_http"] = "true"
    return {key: value for key, value in given.items() if value is not None} or None
