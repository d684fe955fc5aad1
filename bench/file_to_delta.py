"""Benchmark: parquet -> Delta table with hygge, against delta-rs's own `write_deltalake`.

The baseline streams the same parquet files (a pyarrow dataset's batch reader, so it too
holds a few batches, not the table) into `deltalake.write_deltalake`, in the same run on the
same machine; hygge runs `hygge go` with a parquet home and a delta store (full_drop). Each
measurement is a fresh child process with its own peak RSS (see `file_to_file.py`, whose
source data and child machinery this reuses).

    python bench/file_to_delta.py                    # 1M and 10M rows
    python bench/file_to_delta.py --rows 1000000 --repeat 3 --check
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from file_to_file import (
    CHILD_ROLE,
    DEFAULT_ROWS,
    TARGET_RATIO,
    TARGET_RSS_GROWTH,
    Run,
    _checked,
    _mib,
    child_main,
    run_child,
    write_source,
)


def baseline(source: str, target: str) -> None:
    """delta-rs on its own: the parquet files' batches streamed into one table write."""
    import pyarrow.dataset as ds
    from deltalake import write_deltalake

    started = time.perf_counter()
    write_deltalake(target, ds.dataset(source, format="parquet").scanner().to_reader())
    print(json.dumps({"seconds": time.perf_counter() - started}))


def write_project(root: Path, source: Path, target: Path) -> Path:
    flow = root / "flows" / "bench"
    flow.mkdir(parents=True)
    (root / "hygge.yml").write_text("name: bench\n", encoding="utf-8")
    (flow / "flow.yml").write_text(
        f"home: {{type: parquet, path: {json.dumps(str(source))}}}\n"
        f"store: {{type: delta, path: {json.dumps(str(target))}}}\n"
        "run_type: full_drop\n",
        encoding="utf-8",
    )
    return root


def take_output(target: Path, rows: int) -> int:
    """Check the table (its rows and the sum of ids), delete it, return its data's bytes."""
    found = pl.scan_delta(str(target)).select(n=pl.len(), ids=pl.col("id").sum()).collect().row(0)
    if found != (rows, rows * (rows - 1) // 2):
        raise SystemExit(f"{target}: {found[0]:,} rows, expected {rows:,} (or ids differ)")
    size = sum(f.stat().st_size for f in target.rglob("*.parquet"))
    shutil.rmtree(target)
    return size


def measure(tool: str, source: Path, project: Path, target: Path, rows: int) -> Run:
    if tool == "deltalake":
        child = _checked(run_child(tool, str(source), str(target), script=__file__), tool)
        seconds = json.loads(child.stdout)["seconds"]
    else:
        command = ("go", "--project", str(project), "--json")
        child = _checked(run_child(tool, *command, script=__file__), "hygge go")
        seconds = json.loads(child.stdout)["seconds"]
    return Run(tool, rows, seconds, child.wall, child.peak_rss, take_output(target, rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--source-file-rows", type=int, default=1_000_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    results: list[tuple[Run, Run]] = []
    with tempfile.TemporaryDirectory(prefix="hygge-bench-") as work:
        for rows in sorted(args.rows):
            here = Path(work) / f"rows-{rows}"
            write_source(here / "source", rows, args.source_file_rows)
            project = write_project(here / "project", here / "source", here / "lake")
            runs = [
                measure(tool, here / "source", project, here / target, rows)
                for _ in range(args.repeat)
                for tool, target in (("deltalake", "baseline"), ("hygge", "lake"))
            ]
            best = {
                tool: min((r for r in runs if r.tool == tool), key=lambda r: r.seconds)
                for tool in ("deltalake", "hygge")
            }
            results.append((best["hygge"], best["deltalake"]))
    print(f"{'rows':>12} {'tool':>10} {'seconds':>8} {'peak RSS':>10}  hygge/deltalake")
    for hygge, base in results:
        ratio = base.seconds / hygge.seconds
        print(f"{base.rows:>12,} {'deltalake':>10} {base.seconds:>8.2f} {_mib(base.peak_rss):>10}")
        print(f"{hygge.rows:>12,} {'hygge':>10} {hygge.seconds:>8.2f} {_mib(hygge.peak_rss):>10}"
              f"  {ratio:.2f}")  # fmt: skip
    ratios = [base.seconds / hygge.seconds for hygge, base in results]
    growth = results[-1][0].peak_rss / results[0][0].peak_rss
    measured = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"\ntarget: rows/s ratio >= {TARGET_RATIO}, measured {measured}")
    print(f"target: hygge peak RSS growth <= {TARGET_RSS_GROWTH} x, measured {growth:.2f} x")
    missed = min(ratios) < TARGET_RATIO or growth > TARGET_RSS_GROWTH
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_ROLE:
        child_main(sys.argv[2], sys.argv[3], sys.argv[4:], {"deltalake": baseline})
    else:
        sys.exit(main())
