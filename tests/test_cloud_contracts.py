"""Every file home and store passes the contracts of hygge.testing on object storage: S3 (moto,
tests/s3.py), Azure Blob (Azurite, tests/azurite.py) and GCS (fake-gcs-server, tests/gcs.py),
with credentials as planning gives them from a hygge.yml connection."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from hygge.plugin import Home, Store
from hygge.testing import HomeContract, StoreContract
from tests.cloud import CloudEmulator
from tests.test_contracts import READERS, home, store

WRITERS = {
    "parquet": lambda frame, handle: frame.write_parquet(handle),
    "csv": lambda frame, handle: frame.write_csv(handle),
    "ndjson": lambda frame, handle: frame.write_ndjson(handle),
}


class InCloud:
    """The cloud's emulator (`server`: its session fixture) and this test's bucket or
    container (one per tmp_path, so a second make_store reaches the same destination)."""

    kind: str
    server: str
    lake: CloudEmulator

    @pytest.fixture(autouse=True)
    def _server(self, request: pytest.FixtureRequest) -> None:
        self.lake = request.getfixturevalue(self.server)

    def url(self, tmp_path: Path, key: str) -> str:
        return f"{self.lake.scheme}://{self.lake.bucket(tmp_path)}/{key}"

    def put(self, url: str, frame: pl.DataFrame) -> None:
        with self.lake.filesystem().open(url, "wb") as handle:
            WRITERS[self.kind](frame, handle)


class CloudHomeCase(InCloud, HomeContract):
    """A folder of two files plus entries a reader must skip, as for local files."""

    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        folder = self.url(tmp_path, "data/orders")
        half = frame.height // 2
        parts = [frame.head(half), frame.slice(half)] if half else [frame]
        for number, part in enumerate(parts):
            self.put(f"{folder}/part-{number}.{self.kind}", part)
        self.put(f"{folder}/.hidden.{self.kind}", frame.head(1))
        self.put(f"{folder}/_staging/part.{self.kind}", frame.head(1))
        return home(self.kind, tmp_path, path=folder, credentials=self.lake.credentials())

    def make_broken_home(self, tmp_path: Path) -> Home:
        missing = self.url(tmp_path, "data/missing")
        return home(self.kind, tmp_path, path=missing, credentials=self.lake.credentials())


class TestS3ParquetHome(CloudHomeCase):
    kind, server = "parquet", "s3_server"


class TestS3CsvHome(CloudHomeCase):
    kind, server = "csv", "s3_server"


class TestS3NdjsonHome(CloudHomeCase):
    kind, server = "ndjson", "s3_server"


class TestAzureParquetHome(CloudHomeCase):
    kind, server = "parquet", "azurite"


class TestAzureCsvHome(CloudHomeCase):
    kind, server = "csv", "azurite"


class TestAzureNdjsonHome(CloudHomeCase):
    kind, server = "ndjson", "azurite"


class TestGcsParquetHome(CloudHomeCase):
    kind, server = "parquet", "gcs"


class TestGcsCsvHome(CloudHomeCase):
    kind, server = "csv", "gcs"


class TestGcsNdjsonHome(CloudHomeCase):
    kind, server = "ndjson", "gcs"


class CloudStoreCase(InCloud, StoreContract):
    """The destination is <bucket>/lake/orders; small files so that loads span several."""

    def make_store(self, tmp_path: Path, **config: Any) -> Store:
        destination = self.url(tmp_path, "lake/orders")
        credentials = self.lake.credentials()
        return store(
            self.kind, tmp_path, path=destination, file_rows=7, credentials=credentials, **config
        )

    def make_broken_store(self, tmp_path: Path) -> Store:
        """A bucket that does not exist."""
        return store(
            self.kind,
            tmp_path,
            path=f"{self.lake.scheme}://no-such-bucket-here/lake/orders",
            credentials=self.lake.credentials(),
        )

    def read_back(self, store: Store) -> pl.DataFrame | None:
        fs = self.lake.filesystem()
        folder = store.destination()
        if not fs.exists(folder):
            return None
        names = sorted(p.rpartition("/")[2] for p in fs.ls(folder, detail=False))
        files = [n for n in names if n.endswith(f".{self.kind}") and not n.startswith((".", "_"))]
        if not files:
            return pl.DataFrame()
        read = READERS[self.kind]
        return pl.concat([read(io.BytesIO(fs.cat(f"{folder}/{name}"))) for name in files])

    def leftovers(self, store: Store) -> list[str]:
        fs = self.lake.filesystem()
        folder = store.destination()
        parent = folder.rpartition("/")[0]
        beside = [p for p in fs.find(parent) if not p.startswith(fs._strip_protocol(folder) + "/")]
        inside = [p for p in fs.find(folder) if "/." in p]
        return sorted(beside + inside)


class TestS3ParquetStore(CloudStoreCase):
    kind, server = "parquet", "s3_server"


class TestS3CsvStore(CloudStoreCase):
    kind, server = "csv", "s3_server"


class TestS3NdjsonStore(CloudStoreCase):
    kind, server = "ndjson", "s3_server"


class TestAzureParquetStore(CloudStoreCase):
    kind, server = "parquet", "azurite"


class TestAzureCsvStore(CloudStoreCase):
    kind, server = "csv", "azurite"


class TestAzureNdjsonStore(CloudStoreCase):
    kind, server = "ndjson", "azurite"


class TestGcsParquetStore(CloudStoreCase):
    kind, server = "parquet", "gcs"


class TestGcsCsvStore(CloudStoreCase):
    kind, server = "csv", "gcs"


class TestGcsNdjsonStore(CloudStoreCase):
    kind, server = "ndjson", "gcs"
