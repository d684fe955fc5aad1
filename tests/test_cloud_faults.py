"""Crashes, refusals and throttling on object storage (S3 by moto, tests/s3.py; Azure Blob by
Azurite, tests/azurite.py; GCS by fake-gcs-server, tests/gcs.py), with real processes: after
a crash at any failpoint and a rerun every row is there once, and a full_drop leaves the old
set or the new one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from hygge.plugin import Context
from hygge.registry import store_class
from tests.azurite import Azure
from tests.cloud import CloudEmulator
from tests.conftest import ProjectMaker
from tests.gcs import Gcs
from tests.proc import run
from tests.s3 import S3, SECRET

FULL_DROP = """\
home: {{type: parquet, path: data/orders}}
store: {{type: parquet, connection: lake, path: "{scheme}://{bucket}/lake/orders", file_rows: 250}}
run_type: full_drop
batch_rows: 100
"""
INCREMENTAL = """\
home: {{type: parquet, path: data/orders}}
store: {{type: parquet, connection: lake, path: "{scheme}://{bucket}/lake/orders", file_rows: 250}}
watermark: {{column: id}}
batch_rows: 100
"""
ENV = {"LAKE_SECRET": SECRET}
Lake = CloudEmulator


@pytest.fixture(params=["s3_server", "azurite", "gcs"])
def lake(request: pytest.FixtureRequest) -> Lake:
    """Each cloud's emulator in turn."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def project(make_project: ProjectMaker, s3: Lake, flow: str, bucket: str) -> Path:
    return make_project(
        {
            "hygge.yml": "name: t\n" + s3.connection_yaml(),
            "flows/orders/flow.yml": flow.format(bucket=bucket, scheme=s3.scheme),
        }
    )


def env(lake: Lake, **extra: str) -> dict[str, str]:
    return {"LAKE_SECRET": lake.secret, **extra}


def write_orders(root: Path, ids: range, version: int) -> pl.DataFrame:
    frame = pl.DataFrame({"id": list(ids), "version": [version] * len(ids)})
    folder = root / "data/orders"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / f"part-{version}.parquet")
    return frame


def seen(s3: Lake, bucket: str) -> pl.DataFrame:
    """What a reader listing the folder sees."""
    fs = s3.filesystem()
    names = [p for p in fs.ls(f"{bucket}/lake/orders", detail=False) if p.endswith(".parquet")]
    return pl.concat([pl.read_parquet(io.BytesIO(fs.cat(name))) for name in names])


def hidden(s3: Lake, bucket: str) -> list[str]:
    """Staging prefixes and hidden objects: what a finished run leaves none of."""
    return [p for p in s3.filesystem().find(bucket) if "/." in p]


def recover(s3: Lake, bucket: str, root: Path) -> None:
    """What the next run does first, alone: finish or undo what the crash left."""
    cls = store_class("parquet")
    path = f"{s3.scheme}://{bucket}/lake/orders"
    config = cls.Config.model_validate(
        {"type": "parquet", "path": path, "credentials": s3.credentials()}
    )
    cls(config, Context(root=root, flow="orders", entity="orders")).recover()


@pytest.mark.parametrize(
    ("point", "versions_seen", "recovered"),
    [
        ("after_batch", {1}, {1}),
        ("before_publish", {1}, {1}),
        ("before_swap", {1}, {2}),  # the record is in: the replacement is rolled forward
        ("mid_publish", {1, 2}, {2}),  # the window where a reader sees both sets
        ("after_swap", {2}, {2}),
        ("after_publish", {2}, {2}),
    ],
)
def test_a_full_drop_crash_leaves_old_or_new_after_recovery(
    point: str,
    versions_seen: set[int],
    recovered: set[int],
    lake: Lake,
    tmp_path: Path,
    make_project: ProjectMaker,
) -> None:
    bucket = lake.bucket(tmp_path)
    root = project(make_project, lake, FULL_DROP, bucket)
    old = write_orders(root, range(1000), 1)
    assert run(root, "go", env=env(lake)).returncode == 0
    (root / "data/orders/part-1.parquet").unlink()
    new = write_orders(root, range(500, 1500), 2)

    crashed = run(root, "go", env=env(lake, HYGGE_FAILPOINT=point))

    assert crashed.returncode == 99, crashed.stderr
    assert set(seen(lake, bucket)["version"].unique()) == versions_seen
    recover(lake, bucket, root)
    after = seen(lake, bucket).sort("id")
    assert after.equals(new if recovered == {2} else old)
    assert hidden(lake, bucket) == []
    rerun = run(root, "go", env=env(lake))
    assert rerun.returncode == 0, rerun.stderr
    assert seen(lake, bucket).sort("id").equals(new)
    assert hidden(lake, bucket) == []


@pytest.mark.parametrize("point", ["after_batch", "before_publish", "mid_publish", "after_publish"])
def test_an_incremental_crash_then_a_rerun_loads_every_row_once(
    point: str, lake: Lake, tmp_path: Path, make_project: ProjectMaker
) -> None:
    bucket = lake.bucket(tmp_path)
    root = project(make_project, lake, INCREMENTAL, bucket)
    write_orders(root, range(300), 1)
    assert run(root, "go", env=env(lake)).returncode == 0
    write_orders(root, range(300, 1000), 2)

    crashed = run(root, "go", env=env(lake, HYGGE_FAILPOINT=point))
    assert crashed.returncode == 99, crashed.stderr
    rerun = run(root, "go", env=env(lake))

    assert rerun.returncode == 0, rerun.stderr
    assert sorted(seen(lake, bucket)["id"].to_list()) == list(range(1000))
    assert hidden(lake, bucket) == []


def test_a_refused_credential_fails_at_once_naming_the_place_and_never_shows_the_secret(
    s3_locked: S3, tmp_path: Path, make_project: ProjectMaker
) -> None:
    """A server that checks credentials (moto with auth on) refuses an unknown key with a
    403: the entity fails on its first attempt, and the secret is in no output or journal."""
    canary = "canary-7c1f-secret-key"
    root = project(make_project, s3_locked, FULL_DROP, "locked-bucket")
    write_orders(root, range(10), 1)

    done = run(root, "go", "-v", "--json", env={"LAKE_SECRET": canary})

    assert done.returncode == 1, done.stdout + done.stderr
    entity = json.loads(done.stdout)["entities"][0]
    assert entity["attempts"] <= 1, json.dumps(entity)  # no retry
    assert "s3://locked-bucket/lake/orders" in entity["error"]
    assert "Access Key Id you provided does not exist" in entity["error"]
    journal = (root / ".hygge/journal.db").read_bytes()
    for text in (done.stdout, done.stderr, journal.decode("latin-1")):
        assert canary not in text


def test_throttled_requests_are_retried_and_counted(
    s3_throttled: S3, tmp_path: Path, make_project: ProjectMaker
) -> None:
    """A proxy answers every third request with 503 SlowDown: the run succeeds, and its
    summary says how many requests were retried."""
    bucket = s3_throttled.bucket(tmp_path)
    root = project(make_project, s3_throttled, FULL_DROP, bucket)
    frame = write_orders(root, range(1000), 1)

    done = run(root, "go", "--json", env=ENV)

    assert done.returncode == 0, done.stdout + done.stderr
    entity = json.loads(done.stdout)["entities"][0]
    notes = [w for w in entity["warnings"] if "throttled" in w]
    assert notes and int(notes[0].split()[0]) > 0, entity["warnings"]
    assert seen(s3_throttled, bucket).sort("id").equals(frame)


def test_throttled_azure_requests_are_retried(
    azurite_throttled: Azure, tmp_path: Path, make_project: ProjectMaker
) -> None:
    """The same proxy in front of Azurite: azure-core retries each 503 and the run succeeds
    (its retries are not counted: README, Object storage)."""
    bucket = azurite_throttled.bucket(tmp_path)
    root = project(make_project, azurite_throttled, FULL_DROP, bucket)
    frame = write_orders(root, range(1000), 1)

    done = run(root, "go", env=env(azurite_throttled))

    assert done.returncode == 0, done.stdout + done.stderr
    assert seen(azurite_throttled, bucket).sort("id").equals(frame)


def test_throttled_gcs_requests_are_retried(
    gcs_throttled: Gcs, tmp_path: Path, make_project: ProjectMaker
) -> None:
    """The same proxy in front of fake-gcs-server, every third request refused: gcsfs
    retries each 503 with backoff and the run succeeds (its retries are not counted)."""
    bucket = gcs_throttled.bucket(tmp_path)
    root = project(make_project, gcs_throttled, FULL_DROP, bucket)
    frame = write_orders(root, range(1000), 1)

    done = run(root, "go", env=env(gcs_throttled))

    assert done.returncode == 0, done.stdout + done.stderr
    assert seen(gcs_throttled, bucket).sort("id").equals(frame)
