"""Benchmark: CSV -> parquet with types inferred, hygge against DuckDB and Polars in one run.

Why: issue 13 asks hygge to read CSV with its types inferred at least as fast as DuckDB's
auto-detecting `COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)`, with types as
good (zoned timestamps stay timestamps, decimals numbers), and within 0.8 of Polars given the
schema. Every contender runs in a fresh child process, alternately, `--repeat` times; the
table reports medians of the move and of the whole process, peak RSS, and the ratios.

    python bench/csv_to_file.py                    # 1M and 10M rows
    python bench/csv_to_file.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import polars as pl

from file_to_file import (  # a sibling script: bench/ is on sys.path when run as one
    CHILD_ROLE,
    DEFAULT_ROWS,
    HYGGE_ZSTD_LEVEL,
    Run,
    _checked,
    _mib,
    child_main,
    run_child,
    source_frame,
    take_output,
    warn_if_busy,
    write_project,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "csv_to_file.json"
TOOLS = ("duckdb", "polars", "hygge")  # polars: told the schema


def write_csv(folder: Path, rows: int, file_rows: int) -> None:
    """The parquet bench's table plus a date, two zoned timestamps, a decimal and a text
    column 30% NULL, as CSV files of file_rows rows."""
    folder.mkdir(parents=True)
    for number, start in enumerate(range(0, rows, file_rows)):
        frame = source_frame(start, min(file_rows, rows - start)).with_columns(
            day=pl.col("created_at").dt.date(),
            zoned=pl.col("created_at").dt.replace_time_zone("UTC").dt.convert_time_zone("CET"),
            zoned_utc=pl.col("created_at").dt.replace_time_zone("UTC"),
            price=(pl.col("id") % 100_000 / 100).cast(pl.Decimal(12, 2)),
            maybe=pl.when(pl.col("id") % 10 < 3).then(None).otherwise(pl.col("country")),
        )
        frame.write_csv(folder / f"part-{number:05d}.csv")


def duckdb_copy(source: str, target: str) -> None:
    import duckdb

    started = time.perf_counter()
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{source}/*.csv')) TO '{target}'"
        f" (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {HYGGE_ZSTD_LEVEL})"
    )
    print(json.dumps({"seconds": time.perf_counter() - started}))


def polars_schema(source: str, target: str) -> None:
    """Polars told the types (those DuckDB infers, in Polars' names), scan -> sink."""
    started = time.perf_counter()
    pl.scan_csv(f"{source}/*.csv", schema=SCHEMA).sink_parquet(
        target, compression="zstd", compression_level=HYGGE_ZSTD_LEVEL
    )
    print(json.dumps({"seconds": time.perf_counter() - started}))


SCHEMA = pl.Schema(
    {
        "id": pl.Int64, "amount": pl.Float64, "note": pl.String, "created_at": pl.Datetime("us"),
        "active": pl.Boolean, "country": pl.String, "day": pl.Date,
        "zoned": pl.Datetime("us", "UTC"), "zoned_utc": pl.Datetime("us", "UTC"),
        "price": pl.Float64, "maybe": pl.String,
    }
)  # fmt: skip


def measure(tool: str, rows: int, source: Path, here: Path) -> Run:
    """One child run of tool; the output's types go into the run's name for the table."""
    target = here / "lake" if tool == "hygge" else here / f"{tool}.parquet"
    if tool == "hygge":
        args: tuple[str, ...] = ("hygge", "go", "--project", str(here / "project"), "--json")
    else:
        args = (tool, str(source), str(target))
    child = _checked(run_child(*args, script=__file__), tool)
    seconds = json.loads(child.stdout)["seconds"]
    named = f"{tool} {_types(target)}"
    return Run(named, rows, seconds, child.wall, child.peak_rss, take_output(target, rows))


def _types(target: Path) -> str:
    """The output's temporal and decimal columns' types, to compare what each inferred."""
    files = sorted(target.glob("*.parquet")) if target.is_dir() else [target]
    schema = pl.read_parquet_schema(files[0])
    return ",".join(str(schema[c]).split("(")[0] for c in ("created_at", "zoned", "day", "price"))


def bench_size(work: Path, rows: int, args: argparse.Namespace) -> list[Run]:
    here = work / f"rows-{rows}"
    source = here / "source"
    write_csv(source, rows, args.source_file_rows)
    project = write_project(here / "project", source, here / "lake", None)
    flow = project / "flows" / "bench" / "flow.yml"
    flow.write_text(flow.read_text().replace("type: parquet", "type: csv", 1))
    runs = []
    for _ in range(args.repeat):
        runs += [measure(tool, rows, source, here) for tool in TOOLS]
    return runs


def median(runs: list[Run], tool: str, rows: int) -> Run:
    mine = [r for r in runs if r.tool.split()[0] == tool and r.rows == rows]
    return Run(
        mine[0].tool, rows,
        statistics.median(r.seconds for r in mine), statistics.median(r.wall for r in mine),
        max(r.peak_rss for r in mine), mine[0].output_bytes,
    )  # fmt: skip


def report(runs: list[Run], sizes: list[int]) -> dict[str, object]:
    print(f"{'rows':>12}  {'tool (types: created_at,zoned,day,price)':<48} {'move s':>7}"
          f" {'wall s':>7} {'peak RSS':>10}  hygge wall / it")  # fmt: skip
    per_size: list[dict[str, object]] = []
    out: dict[str, object] = {"runs": [asdict(r) for r in runs], "sizes": per_size}
    for n in sizes:
        found = {tool: median(runs, tool, n) for tool in TOOLS}
        hygge = found["hygge"]
        for tool, r in found.items():
            ratio = "" if tool == "hygge" else f"  {hygge.wall / r.wall:.2f}"
            times = f"{r.seconds:>7.2f} {r.wall:>7.2f}"
            print(f"{n:>12,}  {r.tool:<48} {times} {_mib(r.peak_rss):>10}{ratio}")
        per_size.append({"rows": n, **{t: asdict(r) for t, r in found.items()}})
    return out


def main(argv: Sequence[str]) -> int:
    if argv[:1] == [CHILD_ROLE]:
        child_main(
            argv[1], argv[2], list(argv[3:]), {"duckdb": duckdb_copy, "polars": polars_schema}
        )
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda t: sorted({int(n) for n in t.split(",")}),
                        default=list(DEFAULT_ROWS))  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source-file-rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    warn_if_busy()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="hygge-bench-csv-") as work:
        for rows in args.rows:
            print(f"moving {rows:,} rows ...", file=sys.stderr, flush=True)
            runs += bench_size(Path(work), rows, args)
    out = report(runs, args.rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
