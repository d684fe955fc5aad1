"""Amazon S3 and S3-compatible stores (MinIO, R2): `s3://bucket/key` through s3fs.

A connection's credentials go to s3fs (botocore) for listing and writing, and to Polars'
readers as their `storage_options`; whatever the connection leaves out, both take from the
AWS default chain (environment, shared config and profile, instance or task role).
Listings are never cached: another process (or the crash a run recovers from) changes the
bucket between two looks.

Throttling (429, SlowDown) and server errors (500, 503) are retried with backoff by botocore
(and s3fs); each filesystem counts the retries its requests needed, for the run's summary.
A refused credential (403) or a missing bucket is no such error: it fails at once, as an
OSError naming the S3 error, like every other S3 error s3fs translates. Failures that never
reached S3 (no endpoint, no credentials found) become OSErrors too, so callers catch one kind.
"""

from __future__ import annotations

from typing import Any

import s3fs
from botocore import exceptions as boto
from fsspec.asyn import sync_wrapper

from hygge.config.connection_models import S3Connection


class CountingS3(s3fs.S3FileSystem):  # type: ignore[misc]
    """s3fs counting the retries of its requests, its non-HTTP failures made OSErrors."""

    retried = 0

    async def _call_s3(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await super()._call_s3(method, *args, **kwargs)
        except boto.BotoCoreError as exc:
            raise _os_error(exc) from exc
        except OSError as exc:
            self._count(getattr(exc.__cause__, "response", None))
            raise
        self._count(result)
        return result

    call_s3 = sync_wrapper(_call_s3)  # what s3fs's file objects call

    def _count(self, response: Any) -> None:
        if isinstance(response, dict):
            self.retried += int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))


def _os_error(exc: boto.BotoCoreError) -> OSError:
    if isinstance(exc, boto.NoCredentialsError):
        return PermissionError(
            f"{exc}: give the connection access keys or a profile, or set them where the AWS"
            " default chain looks (environment, ~/.aws, an instance or task role)"
        )
    if isinstance(exc, boto.ConnectionError):
        return ConnectionError(str(exc))
    return OSError(str(exc))


def filesystem(credentials: S3Connection | None, path: str) -> s3fs.S3FileSystem:
    """A filesystem of its own (not fsspec's shared instance), so its retry count is one
    plugin's."""
    c = credentials or S3Connection(type="s3")
    return CountingS3(
        skip_instance_cache=True,
        key=c.access_key_id,
        secret=c.secret_access_key,
        token=c.session_token,
        profile=c.profile,
        endpoint_url=c.endpoint_url,
        client_kwargs={"region_name": c.region} if c.region else {},
        use_listings_cache=False,
    )


def polars_options(credentials: S3Connection | None, path: str) -> dict[str, str] | None:
    """Polars' names for the same settings; None leaves its own default chain to it."""
    if credentials is None:
        return None
    given: dict[str, Any] = {
        "aws_region": credentials.region,
        "aws_endpoint_url": credentials.endpoint_url,
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "aws_session_token": credentials.session_token,
        "aws_profile": credentials.profile,
    }
    if (credentials.endpoint_url or "").startswith("http://"):
        given["aws_allow_http"] = "true"
    return {key: value for key, value in given.items() if value is not None} or None
