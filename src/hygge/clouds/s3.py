"""Amazon S3 and S3-compatible stores (MinIO, R2): `s3://bucket/key` through s3fs.

A connection's credentials go to s3fs (botocore) for listing and writing, and to Polars'
readers as their `storage_options`; whatever the connection leaves out, both take from the
AWS default chain (environment, shared config and profile, instance or task role).
Listings are never cached: another process (or the crash a run recovers from) changes the
bucket between two looks.
"""

from __future__ import annotations

from typing import Any

import s3fs

from hygge.config.models import S3Connection


def filesystem(credentials: S3Connection | None) -> s3fs.S3FileSystem:
    c = credentials or S3Connection(type="s3")
    return s3fs.S3FileSystem(
        key=c.access_key_id,
        secret=c.secret_access_key,
        token=c.session_token,
        profile=c.profile,
        endpoint_url=c.endpoint_url,
        client_kwargs={"region_name": c.region} if c.region else {},
        use_listings_cache=False,
    )


def polars_options(credentials: S3Connection | None) -> dict[str, str] | None:
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
