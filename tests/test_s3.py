"""hygge on S3 (moto, tests/s3.py) as a user runs it: a `type: s3` connection in hygge.yml,
its secret from the environment, `s3://` paths on file homes and stores."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from tests.cloud import rows_per_landing_run
from tests.conftest import ProjectMaker, read_lake
from tests.s3 import S3, SECRET

CANARY = "canary-7c1f-secret"


@pytest.fixture
def bucket(s3_server: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LAKE_SECRET", SECRET)
    return s3_server.bucket(tmp_path)


def s3_project(make_project: ProjectMaker, s3: S3, flows: dict[str, str], **extra: str) -> Path:
    files = {f"flows/{name}/flow.yml": text for name, text in flows.items()}
    root = make_project({"hygge.yml": "name: t\n" + s3.connection_yaml(**extra), **files})
    (root / "data").mkdir(exist_ok=True)
    return root


def read_s3(s3: S3, folder: str, kind: str = "parquet") -> pl.DataFrame:
    fs = s3.filesystem()
    names = [p for p in fs.ls(folder, detail=False) if p.endswith(f".{kind}")]
    readers = {"parquet": pl.read_parquet, "csv": pl.read_csv, "ndjson": pl.read_ndjson}
    return pl.concat([readers[kind](io.BytesIO(fs.cat(name))) for name in sorted(names)])


def ids(frame: pl.DataFrame) -> list[int]:
    return sorted(frame["id"].to_list())


def test_incremental_runs_append_each_row_once(
    bucket: str, s3_server: S3, make_project: ProjectMaker, hygge_cli
) -> None:
    root = s3_project(
        make_project,
        s3_server,
        {"x": "home: {type: parquet, path: data/x.parquet}\n"
         f"store: {{type: parquet, connection: lake, path: s3://{bucket}/lake}}\n"
         "watermark: {column: id}\n"},
    )  # fmt: skip
    for rows in ([1, 2], [1, 2, 3, 4], [1, 2, 3, 4]):
        pl.DataFrame({"id": rows}).write_parquet(root / "data/x.parquet")
        result = hygge_cli("go", cwd=root)
        assert result.exit_code == 0, result.output
    assert ids(read_s3(s3_server, f"{bucket}/lake")) == [1, 2, 3, 4]


def test_a_landing_folder_on_s3_is_read_file_by_file(
    bucket: str, s3_server: S3, make_project: ProjectMaker, hygge_cli
) -> None:
    landing = f"s3://{bucket}/landing"
    root = s3_project(
        make_project,
        s3_server,
        {"events": f"home: {{type: csv, connection: lake, path: {landing}, new_files_only: true}}"
         "\nstore: {type: parquet, path: lake}\n"},
    )  # fmt: skip
    fs = s3_server.filesystem()
    fs.pipe(f"{landing}/a.csv", b"id\n1\n2\n")
    fs.pipe(f"{landing}/2026/b.csv", b"id\n3\n")
    fs.pipe(f"{landing}/_tmp/c.csv", b"id\n99\n")  # being written: never data
    arrivals: list[dict[str, bytes]] = [{}, {"2026/d.csv": b"id\n4\n"}, {}]
    runs = rows_per_landing_run(hygge_cli, root, fs, landing, arrivals)
    assert runs == [3, 1, 0]
    assert ids(read_lake(root / "lake")) == [1, 2, 3, 4]


def test_without_a_connection_the_default_chain_is_used(
    s3_server: S3, tmp_path: Path, make_project: ProjectMaker, hygge_cli, monkeypatch
) -> None:
    """No connection: credentials, endpoint and region come from the environment, as the
    AWS libraries read it (the session set the keys and region)."""
    bucket = s3_server.bucket(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")  # Polars' readers refuse http otherwise
    root = make_project(
        {"flows/x/flow.yml": "home: {type: parquet, path: data/x.parquet}\n"
         f"store: {{type: parquet, path: s3://{bucket}/lake}}\n"}
    )  # fmt: skip
    (root / "data").mkdir()
    pl.DataFrame({"id": [7]}).write_parquet(root / "data/x.parquet")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 0, result.output
    assert ids(read_s3(s3_server, f"{bucket}/lake")) == [7]


def test_a_secret_key_written_into_hygge_yml_is_refused(
    make_project: ProjectMaker, hygge_cli
) -> None:
    root = make_project(
        {"hygge.yml": f"name: t\nconnections:\n  lake:\n    type: s3\n    access_key_id: AK\n"
         f"    secret_access_key: {CANARY}\n",
         "flows/x/flow.yml": "home: {type: parquet, path: data/x.parquet}\n"
         "store: {type: parquet, connection: lake, path: s3://bucket/lake}\n"}
    )  # fmt: skip
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2
    assert "hygge.yml:6" in result.stderr
    assert "'connections.lake.secret_access_key' holds a secret" in result.stderr
    assert "${LAKE_SECRET_ACCESS_KEY}" in result.stderr
    assert CANARY not in result.output


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        ("{type: parquet, connection: lake, path: lake}", "is of type 's3', for s3:// paths"),
        ("{type: parquet, connection: wh, path: s3://b/lake}", "'wh' is a database connection"),
        ("{type: parquet, connection: nope, path: s3://b/lake}", "'nope' is not defined"),
    ],
)
def test_a_connection_that_does_not_fit_the_path_is_a_config_error(
    store: str, expected: str, make_project: ProjectMaker, hygge_cli
) -> None:
    root = make_project(
        {"hygge.yml": "name: t\nconnections:\n  lake: {type: s3, region: eu-west-1}\n"
         "  wh: {type: postgres, host: db}\n",
         "flows/x/flow.yml": f"home: {{type: parquet, path: data/x.parquet}}\nstore: {store}\n"}
    )  # fmt: skip
    result = hygge_cli("go", "--dry-run", cwd=root)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "flow.yml" in result.stderr
    assert "Traceback" not in result.output


def test_an_s3_connection_takes_only_its_own_keys(make_project: ProjectMaker, hygge_cli) -> None:
    root = make_project({"hygge.yml": "name: t\nconnections:\n  lake: {type: s3, host: db}\n"})
    result = hygge_cli("go", "--dry-run", cwd=root)
    assert result.exit_code == 2
    assert "hygge.yml:3" in result.stderr and "unknown key 'connections.lake.host'" in result.stderr


def test_two_spellings_of_one_s3_folder_are_one_destination(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = "home: {{type: parquet, path: data/{n}.parquet}}\nstore: {{type: parquet, path: {p}}}\n"
    root = make_project(
        {"flows/a/flow.yml": flow.format(n="a", p="s3://lake/shop/orders"),
         "flows/b/flow.yml": flow.format(n="b", p="S3://Lake/shop/./x/../orders/")}
    )  # fmt: skip
    result = hygge_cli("go", "--dry-run", cwd=root)
    assert result.exit_code == 2, result.output
    assert "s3://lake/shop/orders" in result.stderr


def test_debug_probes_each_store_location_and_names_a_missing_bucket(
    bucket: str, s3_server: S3, make_project: ProjectMaker, hygge_cli
) -> None:
    flow = "home: {{type: parquet, path: data/x.parquet}}\n" + (
        "store: {{type: parquet, connection: lake, path: s3://{b}/lake}}\n"
    )
    root = s3_project(
        make_project,
        s3_server,
        {"good": flow.format(b=bucket), "bad": flow.format(b="no-such-bucket-42")},
    )
    pl.DataFrame({"id": [1]}).write_parquet(root / "data/x.parquet")
    result = hygge_cli("debug", cwd=root)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok") and f"s3://{bucket}/lake" in line for line in lines)
    problem = next(i for i, line in enumerate(lines) if line.startswith("problem"))
    assert "bad.bad" in lines[problem]
    assert "s3://no-such-bucket-42/lake" in lines[problem + 1]
    assert "bucket does not exist" in lines[problem + 1]
    assert s3_server.filesystem().find(bucket) == []  # the probe object is gone


def test_a_landing_folder_of_many_files_is_listed_once_per_run(
    s3_counted: tuple[S3, list[str]],
    tmp_path: Path,
    make_project: ProjectMaker,
    hygge_cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The objects already read cost no request of their own: one recursive listing tells
    each one's size and LastModified."""
    monkeypatch.setenv("LAKE_SECRET", SECRET)
    s3, seen = s3_counted
    bucket = s3.bucket(tmp_path)
    landing = f"s3://{bucket}/landing"
    root = s3_project(
        make_project,
        s3,
        {"events": f"home: {{type: csv, connection: lake, path: {landing}, new_files_only: true}}"
         "\nstore: {type: parquet, path: lake}\n"},
    )  # fmt: skip
    fs = s3.filesystem()
    for number in range(60):
        fs.pipe(f"{landing}/{number // 10}/f{number}.csv", f"id\n{number}\n".encode())
    assert hygge_cli("go", cwd=root).exit_code == 0
    fs.pipe(f"{landing}/new/a.csv", b"id\n100\n")
    seen.clear()

    result = hygge_cli("go", "--json", cwd=root)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["entities"][0]["rows"] == 1
    listings = [line for line in seen if "list-type=2" in line]
    assert len(listings) <= 2, listings  # the preflight's look, and the one listing
    about_old_files = [line for line in seen if "/landing/" in line and "/new/" not in line]
    assert about_old_files == [], about_old_files


@pytest.mark.parametrize(
    ("path", "expected"), [("one.csv", [1]), ("data/*/keep-*.csv", [2, 3]), ("data", [2, 3, 4])]
)
def test_a_home_path_on_s3_is_an_object_a_glob_or_a_folder(
    path: str,
    expected: list[int],
    bucket: str,
    s3_server: S3,
    make_project: ProjectMaker,
    hygge_cli,
) -> None:
    fs = s3_server.filesystem()
    for key, value in {
        "one.csv": 1, "data/x/keep-1.csv": 2, "data/y/keep-2.csv": 3, "data/y/other.csv": 4,
        "data/_tmp/keep-3.csv": 98, "data/x/.keep-4.csv": 99,
    }.items():  # fmt: skip
        fs.pipe(f"{bucket}/{key}", f"id\n{value}\n".encode())
    root = s3_project(
        make_project,
        s3_server,
        {"x": f'home: {{type: csv, connection: lake, path: "s3://{bucket}/{path}"}}\n'
         "store: {type: parquet, path: lake}\n"},
    )  # fmt: skip
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 0, result.output
    assert ids(read_lake(root / "lake")) == expected


def test_a_store_path_that_is_a_whole_bucket_is_refused(
    make_project: ProjectMaker, hygge_cli
) -> None:
    """The staging of a load sits beside its folder: a bucket has no beside."""
    root = make_project(
        {"flows/x/flow.yml": "home: {type: parquet, path: data/x.parquet}\n"
         "store: {type: parquet, path: s3://shop-lake/}\n"}
    )  # fmt: skip
    (root / "data").mkdir()
    pl.DataFrame({"id": [1]}).write_parquet(root / "data/x.parquet")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2, result.output
    assert "s3://shop-lake is a whole bucket" in result.stderr
