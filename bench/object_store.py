"""Benchmark: hygge on S3 (a moto server on loopback), against the baselines of issue 11.

1. parquet, local -> S3: hygge's `full_drop` into `s3://` against Polars' own
   `scan_parquet(src).sink_parquet("s3://...")` in the same run (target ratio >= 0.8, and
   hygge's peak RSS at the largest size <= 1.5 x at the smallest);
2. a landing folder of many small files on S3: a `new_files_only` run that finds 10 new files
   against a bare recursive listing of the folder (target <= 2 x the listing).

moto is an emulator written in Python: its own CPU time is in both contenders' numbers (it
runs on the same cores), so the ratios say more than the rows/s. Each move runs in a fresh
child process (bench/file_to_file.py measures the same way).

    python bench/object_store.py                        # 1M rows, 2,000 landing files
    python bench/object_store.py --rows 1000000,10000000 --files 10000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from file_to_file import (  # a sibling script, not a package
    CHILD_ROLE,
    HYGGE_ZSTD_LEVEL,
    TARGET_RATIO,
    TARGET_RSS_GROWTH,
    child_main,
    run_child,
    write_source,
)

TARGET_LISTING_RATIO = 2.0
KEY_ID, SECRET = "bench-key", "bench-secret"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "LAKE_SECRET": SECRET,
}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def filesystem(endpoint: str) -> Any:
    import s3fs

    return s3fs.S3FileSystem(
        key=KEY_ID, secret=SECRET, endpoint_url=endpoint, use_listings_cache=False
    )


def polars_options(endpoint: str) -> dict[str, str]:
    return {
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
        "aws_endpoint_url": endpoint,
        "aws_region": "us-east-1",
        "aws_allow_http": "true",
    }


def baseline(source: str, target: str, endpoint: str) -> None:
    """Polars' streaming engine from local parquet files straight into S3."""
    started = time.perf_counter()
    pl.scan_parquet(source).sink_parquet(
        target,
        compression="zstd",
        compression_level=HYGGE_ZSTD_LEVEL,
        storage_options=polars_options(endpoint),
    )
    print(json.dumps({"seconds": time.perf_counter() - started}))


def write_project(root: Path, endpoint: str, home: str, store: str) -> Path:
    (root / "flows" / "bench").mkdir(parents=True)
    (root / "hygge.yml").write_text(
        "name: bench\nconnections:\n  lake: {type: s3, endpoint_url: "
        f'{endpoint}, access_key_id: {KEY_ID}, secret_access_key: "${{LAKE_SECRET}}"}}\n'
    )
    (root / "flows" / "bench" / "flow.yml").write_text(f"home: {home}\nstore: {store}\n")
    return root


def hygge_go(project: Path) -> tuple[dict[str, Any], int]:
    """One `hygge go --json` in a child: its entity's result and the child's peak RSS."""
    child = run_child("hygge", "go", "--project", str(project), "--json", script=__file__)
    if child.code != 0:
        raise SystemExit(f"hygge go failed ({child.code}):\n{child.stderr}{child.stdout}")
    return json.loads(child.stdout)["entities"][0], child.peak_rss


def check_output(fs: Any, prefix: str, rows: int) -> None:
    """The folder holds `rows` rows with ids 0..rows-1; then it is emptied for the next run."""
    files = [p for p in fs.find(prefix) if p.endswith(".parquet") and "/_" not in p]
    ids = [pl.read_parquet(fs.open(f, "rb"), columns=["id"])["id"] for f in files]
    found = (sum(len(i) for i in ids), sum(int(i.sum()) for i in ids))
    if found != (rows, rows * (rows - 1) // 2):
        raise SystemExit(f"{prefix}: {found[0]:,} rows, expected {rows:,} (or ids differ)")
    fs.rm(prefix, recursive=True)


def bench_parquet(work: Path, endpoint: str, rows: int) -> dict[str, Any]:
    fs = filesystem(endpoint)
    source = work / f"source-{rows}"
    write_source(source, rows, 1_000_000)
    child = run_child(
        "polars", str(source), f"s3://bench/base-{rows}/x.parquet", endpoint, script=__file__
    )
    if child.code != 0:
        raise SystemExit(f"baseline failed:\n{child.stderr}")
    polars_seconds = json.loads(child.stdout)["seconds"]
    polars_rss = child.peak_rss
    check_output(fs, f"bench/base-{rows}", rows)
    project = write_project(
        work / f"project-{rows}",
        endpoint,
        f"{{type: parquet, path: {json.dumps(str(source))}}}",
        f"{{type: parquet, connection: lake, path: s3://bench/lake-{rows}}}",
    )
    result, hygge_rss = hygge_go(project)
    check_output(fs, f"bench/lake-{rows}", rows)
    return {
        "rows": rows,
        "polars": {"seconds": polars_seconds, "peak_rss": polars_rss},
        "hygge": {"seconds": result["seconds"], "peak_rss": hygge_rss},
        "ratio": polars_seconds / result["seconds"],
    }


def bench_landing(work: Path, endpoint: str, files: int) -> dict[str, Any]:
    fs = filesystem(endpoint)
    for number in range(files):
        fs.pipe(f"bench/landing/{number % 100:02d}/f{number}.csv", f"id\n{number}\n".encode())
    project = write_project(
        work / "landing",
        endpoint,
        "{type: csv, connection: lake, path: s3://bench/landing, new_files_only: true}",
        f"{{type: parquet, path: {json.dumps(str(work / 'landed'))}}}",
    )
    first, _ = hygge_go(project)
    for number in range(files, files + 10):
        fs.pipe(f"bench/landing/new/f{number}.csv", f"id\n{number}\n".encode())
    started = time.perf_counter()
    listed = len(fs.find("bench/landing"))
    listing = time.perf_counter() - started
    second, _ = hygge_go(project)
    if (first["rows"], second["rows"], listed) != (files, 10, files + 10):
        raise SystemExit(f"landing: read {first['rows']} then {second['rows']} rows")
    return {
        "files": files,
        "first_run_seconds": first["seconds"],
        "run_seconds": second["seconds"],
        "listing_seconds": listing,
        "ratio": second["seconds"] / listing,
    }


def main(argv: Sequence[str]) -> int:
    if argv[:1] == [CHILD_ROLE]:
        child_main(argv[1], argv[2], list(argv[3:]), {"polars": baseline})
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000", help="comma-separated table sizes")
    parser.add_argument("--files", type=int, default=2000, help="files in the landing folder")
    args = parser.parse_args(argv)
    os.environ.update(ENVIRONMENT)
    sizes = sorted(int(n) for n in args.rows.replace("_", "").split(","))
    with tempfile.TemporaryDirectory(prefix="hygge-bench-s3-") as work, moto_server() as endpoint:
        filesystem(endpoint).mkdir("bench")
        moves = [bench_parquet(Path(work), endpoint, rows) for rows in sizes]
        landing = bench_landing(Path(work), endpoint, args.files)
    for move in moves:
        polars, hygge = move["polars"], move["hygge"]
        print(
            f"{move['rows']:>12,} rows  polars {polars['seconds']:7.2f}s"
            f" {polars['peak_rss'] / 2**20:6.0f} MiB   hygge {hygge['seconds']:7.2f}s"
            f" {hygge['peak_rss'] / 2**20:6.0f} MiB   hygge/polars {move['ratio']:.2f}"
            f" (target >= {TARGET_RATIO})"
        )
    if len(moves) > 1:
        growth = moves[-1]["hygge"]["peak_rss"] / moves[0]["hygge"]["peak_rss"]
        print(f"hygge peak RSS growth {growth:.2f} x (target <= {TARGET_RSS_GROWTH})")
    print(
        f"landing of {landing['files']:,} files: a new_files_only run finding 10 new ones"
        f" {landing['run_seconds']:.2f}s, a bare recursive listing"
        f" {landing['listing_seconds']:.2f}s:"
        f" {landing['ratio']:.1f} x (target <= {TARGET_LISTING_RATIO});"
        f" the first run, reading them all, {landing['first_run_seconds']:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
