"""Object storage: which cloud a path belongs to, and the module that knows its credentials.

One module per cloud (`s3.py`, `azure.py`, `gcs.py`), each turning its connection
(`config/models.py`) into its fsspec filesystem and the options of Polars' readers. A cloud's
module, and its library, are imported only for a path of its scheme, so `import hygge` loads
none of them; a missing library is a MissingDriverError naming the pip extra.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Self

from pydantic import model_validator

from hygge.config.connection_models import CloudConnection
from hygge.errors import MissingDriverError
from hygge.plugin import PluginConfig


@dataclass(frozen=True)
class Cloud:
    name: str  # its connection type
    module: str
    extra: str  # the pip extra that brings its library

    def load(self) -> ModuleType:
        try:
            return importlib.import_module(self.module)
        except ImportError as exc:
            raise MissingDriverError(
                f"{self.name} paths need a library that is not installed ({exc.name or exc})",
                hint=f"install the extra {self.extra!r}: pip install '.[{self.extra}]' in a"
                " checkout of hygge",
            ) from exc

    def filesystem(self, credentials: CloudConnection | None, path: str) -> Any:
        """An fsspec filesystem reaching path's cloud with credentials (None: its default
        chain), raising OSErrors only."""
        return self.load().filesystem(credentials, path)

    def polars_options(
        self, credentials: CloudConnection | None, path: str
    ) -> dict[str, str] | None:
        """`storage_options` for Polars' readers, which reach the cloud on their own."""
        return self.load().polars_options(credentials, path)  # type: ignore[no-any-return]


_AZURE = Cloud("azure", "hygge.clouds.azure", extra="azure")
_GCS = Cloud("gcs", "hygge.clouds.gcs", extra="gcs")
CLOUDS = {  # a URL's scheme -> its cloud
    "s3": Cloud("s3", "hygge.clouds.s3", extra="s3"),
    "az": _AZURE,
    "abfs": _AZURE,
    "abfss": _AZURE,
    "gs": _GCS,
    "gcs": _GCS,
}


def cloud_of(path: str) -> Cloud | None:
    """The cloud of a URL's scheme; None for a local path (or a scheme fsspec handles alone)."""
    scheme, sep, _ = path.partition("://")
    return CLOUDS.get(scheme.lower()) if sep else None


class LocationConfig(PluginConfig):
    """A file plugin's `path`, and for a cloud URL the `connection` (a hygge.yml name) whose
    `credentials` planning fills in; without one, the cloud's default chain is used."""

    path: str
    """A file, folder or glob; relative to the project folder, or an `s3://`, `az://` or
    `abfss://` URL."""
    connection: str | None = None
    """A cloud connection of hygge.yml for a URL's credentials; none: the cloud's default chain."""
    credentials: CloudConnection | None = None
    """Filled in by hygge from `connection`; not written in config files."""

    @model_validator(mode="before")
    @classmethod
    def _no_database_connection(cls, data: Any) -> Any:
        """Planning gives a database connection's section a `url`, which files cannot use."""
        if isinstance(data, dict) and data.get("connection") and "url" in data:
            raise ValueError(
                f"connection {data['connection']!r} is a database connection; a file path"
                f" takes a connection of type {', '.join(sorted(CLOUDS))}"
            )
        return data

    @model_validator(mode="after")
    def _credentials_fit_the_path(self) -> Self:
        if self.credentials is None:
            return self
        cloud = cloud_of(self.path)
        if cloud is None or cloud.name != self.credentials.type:
            schemes = sorted(s for s, c in CLOUDS.items() if c.name == self.credentials.type)
            raise ValueError(
                f"connection {self.connection!r} is of type {self.credentials.type!r}, for"
                f" {' and '.join(f'{s}://' for s in schemes)} paths; path {self.path!r} is"
                " not one"
            )
        return self
