"""Benchmark: PostgreSQL <-> parquet with hygge, against the raw ADBC driver in the same run.

Why: docs/architecture.md (Testing and benchmarks) promises that hygge moves data close to
the speed of the engine underneath it, in memory that does not grow with the table, and that
an incremental run costs what its new rows cost. Against a throwaway PostgreSQL 15 server
(started as `tests/pg.py` starts the test server), for each table size it measures, every
run in a fresh child process:

1. read:  postgres table -> parquet; hygge (postgres home -> parquet store, full_drop) against
          ADBC `fetch_record_batch()` streamed into a `pq.ParquetWriter`;
2. load:  parquet -> postgres table; hygge (parquet home -> postgres store, full_drop) against
          ADBC `adbc_ingest` of the same file's record batches into a fresh table;
3. incremental: after a full load with a watermark on `id`, 1% new rows are inserted and
          `hygge go --incremental` moves them; against the raw read of exactly those rows into
          parquet, and against hygge moving a table that holds only those rows (full_drop).

    python bench/postgres.py                              # 1M and 10M rows
    python bench/postgres.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.pg

from file_to_file import (  # bench/ is on sys.path when run as a script
    HYGGE_ZSTD_LEVEL,
    _checked,
    _mib,
    child_main,
    run_child,
    warn_if_busy,
)

TARGET_RATIO = 0.8  # hygge rows/s at least this share of the baseline's (read and load)
TARGET_RSS_GROWTH = 1.5  # hygge peak RSS at the largest size over that at the smallest
TARGET_INCREMENTAL = 1.1  # hygge incremental time at most this multiple of moving the 1% alone
DEFAULT_ROWS = (1_000_000, 10_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "postgres.json"
CHILD_ROLE = "_child"  # argv[1] of a measured child: `_child hygge|read|ingest PEAK_FILE ARGS...`
TEXT = (
    "hygge is the Danish feeling of a warm room on a cold evening; data should settle "
    "where it belongs with as little fuss, as few copies and as little memory as possible."
)
COLUMNS = (
    "id bigint NOT NULL, amount double precision, note text, created_at timestamptz,"
    " active boolean, price numeric(12,2)"
)


# --- source data, made by the server ----------------------------------------------------


def rows_sql(first: int, count: int) -> str:
    """`SELECT` of rows first..first+count-1: deterministic, generated inside the server."""
    return (
        "SELECT g,"
        " CASE WHEN g % 100 = 7 THEN NULL ELSE ((g * 7919) % 1000003) / 100.0 END,"
        f" 'order ' || g || ': ' || substr('{TEXT}', 1 + (g * 31 % 60)::int, (g * 17 % 100)::int),"
        " timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',"
        " g % 3 = 0,"
        " ((g * 104729) % 10000000 / 100.0)::numeric(12,2)"
        f" FROM generate_series({first}::bigint, {first + count - 1}) AS g"
    )


def connect(url: str) -> Any:
    import adbc_driver_postgresql.dbapi as dbapi

    return dbapi.connect(url, autocommit=True)


def sql(url: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements on a fresh connection; the last one's rows."""
    rows: list[tuple[Any, ...]] = []
    with connect(url) as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else []
    return rows


def make_source(url: str, table: str, rows: int) -> None:
    sql(
        url,
        f"DROP TABLE IF EXISTS {table}",
        f"CREATE TABLE {table} ({COLUMNS})",
        f"INSERT INTO {table} {rows_sql(0, rows)}",
        f"ALTER TABLE {table} ADD PRIMARY KEY (id)",
        f"VACUUM (ANALYZE) {table}",  # hint bits set now, not by whichever contender reads first
    )


# --- measuring a child process ----------------------------------------------------------


# --- the baselines ----------------------------------------------------------------------


def _plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """ADBC hands numeric over as an opaque extension type holding text, which parquet cannot
    store; the baseline casts numeric(12,2) to decimal128(12,2) as hygge does (same output)."""
    columns = []
    for column in batch.columns:
        if isinstance(column, pa.ExtensionArray):
            column = column.storage.cast(pa.decimal128(12, 2))
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def raw_read(url: str, query: str, target: str) -> None:
    """Baseline read: ADBC's Arrow stream straight into one parquet file (zstd, level 1)."""
    started = time.perf_counter()
    rows = 0
    with connect(url) as con, con.cursor() as cur:
        cur.execute(query)
        writer: pq.ParquetWriter | None = None
        for batch in cur.fetch_record_batch():
            batch = _plain(batch)
            if writer is None:
                writer = pq.ParquetWriter(
                    target, batch.schema, compression="zstd", compression_level=HYGGE_ZSTD_LEVEL
                )
            writer.write_batch(batch)
            rows += batch.num_rows
        if writer is not None:
            writer.close()
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


def cx_read(url: str, query: str, target: str) -> None:
    """Baseline read: connectorx in two partitions on id (its own parallel reader) into one
    parquet file (zstd, level 1), as its users write it."""
    import connectorx as cx

    started = time.perf_counter()
    table = cx.read_sql(url, query, return_type="arrow", partition_on="id", partition_num=2)
    pq.write_table(table, target, compression="zstd", compression_level=HYGGE_ZSTD_LEVEL)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": table.num_rows}))


def copy_binary(url: str, query: str) -> float:
    """Baseline: `psql -c "COPY (query) TO STDOUT (FORMAT binary)"` into /dev/null, the
    server's own fastest way out; its wall time (the parent times it; no RSS)."""
    command = ["psql", url, "-qc", f"COPY ({query}) TO STDOUT (FORMAT binary)"]
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(command, stdout=sink, check=True)
    return time.perf_counter() - started


def raw_ingest(url: str, source: str, table: str) -> None:
    """Baseline load: the parquet file's record batches, streamed into ADBC bulk ingest (COPY)."""
    started = time.perf_counter()
    file = pq.ParquetFile(source)
    reader = pa.RecordBatchReader.from_batches(file.schema_arrow, file.iter_batches())
    with connect(url) as con, con.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        rows = cur.adbc_ingest(table, reader, mode="create")
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


# --- hygge projects ---------------------------------------------------------------------


URL_VARIABLE = '"${BENCH_PG_URL}"'  # hygge refuses a password written into a project file
INLINE_URL = False  # set by --inline-url: plugins carry `url` instead of naming a connection


def write_project(
    root: Path, home: str, store: str, extra: Sequence[str] = (), url: str = ""
) -> Path:
    """A one-entity project; `home` and `store` are YAML flow mappings. With `url`, hygge.yml
    names it as connection `db` (pooled), which `pg_home`/`pg_store` then refer to."""
    flow = root / "flows" / "bench"
    flow.mkdir(parents=True)
    connections = f"connections:\n  db: {{type: postgres, url: {URL_VARIABLE}}}\n" if url else ""
    (root / "hygge.yml").write_text(f"name: bench\n{connections}", encoding="utf-8")
    lines = [f"home: {home}", f"store: {store}", "run_type: full_drop", *extra]
    (flow / "flow.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _pg(url: str) -> str:
    return f"url: {URL_VARIABLE}" if INLINE_URL else "connection: db"


def pg_home(url: str, table: str) -> str:
    return f"{{type: postgres, {_pg(url)}, table: {table}}}"


def pq_plugin(path: Path) -> str:
    return f"{{type: parquet, path: {json.dumps(str(path))}}}"


def pg_store(url: str, table: str) -> str:
    return f"{{type: postgres, {_pg(url)}, table: {table}}}"


# --- one measurement --------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One measured move: `seconds` is the move itself, `wall` the whole child process."""

    phase: str  # read | load | incremental
    tool: str  # hygge | adbc | hygge-1% (hygge full_drop of a table holding only the 1%)
    rows: int  # the size of the table (the phase's N)
    moved: int  # rows this run moved
    seconds: float
    wall: float
    peak_rss: int

    @property
    def rows_per_second(self) -> float:
        return self.moved / self.seconds


def hygge(phase: str, tool: str, size: int, moved: int, *args: str) -> Run:
    child = run_child("hygge", "go", *args, "--json", script=__file__)
    child = _checked(child, f"hygge go ({phase})")
    result = json.loads(child.stdout)
    if result["rows"] != moved:
        raise SystemExit(f"hygge ({phase}) reported {result['rows']:,} rows, expected {moved:,}")
    return Run(phase, tool, size, moved, result["seconds"], child.wall, child.peak_rss)


def adbc(phase: str, size: int, moved: int, role: str, *args: str, tool: str = "adbc") -> Run:
    child = _checked(run_child(role, *args, script=__file__), f"baseline ({phase})")
    result = json.loads(child.stdout)
    if result["rows"] not in (moved, -1):
        raise SystemExit(f"baseline ({phase}) moved {result['rows']:,} rows, expected {moved:,}")
    return Run(phase, tool, size, moved, result["seconds"], child.wall, child.peak_rss)


def psql_copy(phase: str, size: int, moved: int, url: str, query: str) -> Run:
    wall = copy_binary(url, query)
    return Run(phase, "copy", size, moved, wall, wall, 0)


def parquet_files(target: Path) -> list[Path]:
    return sorted(target.glob("*.parquet")) if target.is_dir() else [target]


def check_parquet(target: Path, rows: int, first: int = 0) -> None:
    """The output must hold ids first..first+rows-1 (their count and sum)."""
    count = total = 0
    for file in parquet_files(target):
        ids = pq.read_table(file, columns=["id"]).column("id")
        count += len(ids)
        total += pc.sum(ids).as_py() or 0
    expected = rows * first + rows * (rows - 1) // 2
    if (count, total) != (rows, expected):
        raise SystemExit(f"{target}: {count:,} rows, expected {rows:,} (or ids differ)")


def check_table(url: str, table: str, rows: int) -> None:
    found = sql(url, f"SELECT count(*), coalesce(sum(id), 0) FROM {table}")[0]
    if (int(found[0]), int(found[1])) != (rows, rows * (rows - 1) // 2):
        raise SystemExit(f"{table}: {found[0]:,} rows, expected {rows:,} (or ids differ)")


def clear(target: Path) -> None:
    for file in parquet_files(target):
        file.unlink()


# --- the benchmark ----------------------------------------------------------------------


def bench_size(url: str, work: Path, rows: int, args: argparse.Namespace) -> Iterator[Run]:
    here = work / f"rows-{rows}"
    src = f"src_{rows}"
    print(f"{rows:,} rows: generating the table ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    make_source(url, src, rows)
    print(f"  generated in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    extra = [f"defaults: {{batch_rows: {args.batch_rows}}}"] if args.batch_rows else []

    # 1. postgres -> parquet
    lake = here / "lake"
    raw_file = here / "raw.parquet"
    read = write_project(here / "read", pg_home(url, src), pq_plugin(lake), extra, url)
    everything = f"SELECT * FROM {src}"
    cx_file = here / "cx.parquet"
    lake_one = here / "lake-one"  # a pool of one connection: no automatic ranges
    one = write_project(here / "read-one", pg_home(url, src), pq_plugin(lake_one), extra, url)
    config = one / "hygge.yml"
    pooled = f"url: {URL_VARIABLE}}}"
    config.write_text(config.read_text().replace(pooled, f"url: {URL_VARIABLE}, pool_size: 1}}"))
    for _ in range(args.repeat):
        print("  read: copy, adbc, connectorx, hygge", file=sys.stderr, flush=True)
        yield psql_copy("read", rows, rows, url, everything)
        yield adbc("read", rows, rows, "read", url, everything, str(raw_file))
        check_parquet(raw_file, rows)
        yield adbc("read", rows, rows, "cx", url, everything, str(cx_file), tool="cx")
        check_parquet(cx_file, rows)
        cx_file.unlink()
        yield hygge("read", "hygge", rows, rows, "--project", str(read))
        check_parquet(lake, rows)
        clear(lake)
        yield hygge("read", "hygge-1conn", rows, rows, "--project", str(one))
        check_parquet(lake_one, rows)
        clear(lake_one)

    # 2. parquet -> postgres, from the baseline's file
    load = write_project(
        here / "load", pq_plugin(raw_file), pg_store(url, f"dst_{rows}"), extra, url
    )
    for _ in range(args.repeat):
        print("  load: adbc, hygge", file=sys.stderr, flush=True)
        yield adbc("load", rows, rows, "ingest", url, str(raw_file), f"raw_{rows}")
        check_table(url, f"raw_{rows}", rows)
        sql(url, f"DROP TABLE raw_{rows}")
        yield hygge("load", "hygge", rows, rows, "--project", str(load))
        check_table(url, f"dst_{rows}", rows)
        sql(url, f"DROP TABLE dst_{rows}")
    raw_file.unlink()

    # 3. incremental: a full load with a watermark, then 1% new rows
    new = max(rows // 100, 1)
    inc_lake = here / "inc-lake"
    inc = write_project(
        here / "inc",
        pg_home(url, src),
        pq_plugin(inc_lake),
        [*extra, "watermark: {column: id}"],
        url,
    )
    print("  incremental: full load, insert 1%", file=sys.stderr, flush=True)
    hygge("incremental", "hygge-full", rows, rows, "--project", str(inc))
    sql(
        url,
        f"INSERT INTO {src} {rows_sql(rows, new)}",
        f"CREATE TABLE only_new_{rows} AS SELECT * FROM {src} WHERE id >= {rows}",
        f"VACUUM (ANALYZE) {src}",
        f"VACUUM (ANALYZE) only_new_{rows}",
    )
    new_file = here / "new.parquet"
    query = f"SELECT * FROM {src} WHERE id >= {rows}"
    new_lake = here / "new-lake"
    alone = write_project(
        here / "alone", pg_home(url, f"only_new_{rows}"), pq_plugin(new_lake), extra, url
    )
    journal = here / "inc" / ".hygge"
    saved = {journal: here / "saved-journal", inc_lake: here / "saved-lake"}
    for folder, copy in saved.items():  # each repeat reads the same 1% on from the same mark
        shutil.copytree(folder, copy)
    for _ in range(args.repeat):
        print("  incremental: copy, adbc, connectorx, hygge-1%, hygge", file=sys.stderr, flush=True)
        yield psql_copy("incremental", rows, new, url, query)
        yield adbc("incremental", rows, new, "read", url, query, str(new_file))
        yield adbc("incremental", rows, new, "cx", url, query, str(new_file), tool="cx")
        yield hygge("incremental", "hygge-1%", rows, new, "--project", str(alone))
        clear(new_lake)
        yield hygge("incremental", "hygge", rows, new, "--project", str(inc), "--incremental")
        check_parquet(inc_lake, rows + new)
        for folder, copy in saved.items():
            shutil.rmtree(folder)
            shutil.copytree(copy, folder)
    sql(url, f"DROP TABLE {src}", f"DROP TABLE only_new_{rows}")


def find(runs: list[Run], phase: str, tool: str, rows: int) -> Run:
    """The median of the repeats (seconds and wall apart), with the highest peak RSS seen."""
    mine = [r for r in runs if (r.phase, r.tool, r.rows) == (phase, tool, rows)]
    return Run(
        phase, tool, rows, mine[0].moved,
        statistics.median(r.seconds for r in mine), statistics.median(r.wall for r in mine),
        max(r.peak_rss for r in mine),
    )  # fmt: skip


def summarise(runs: list[Run], sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": [], "runs": [asdict(r) for r in runs]}
    checks: list[tuple[str, bool]] = []
    for n in sizes:
        size: dict[str, Any] = {"rows": n}
        for phase in ("read", "load"):
            h, b = find(runs, phase, "hygge", n), find(runs, phase, "adbc", n)
            ratio = h.rows_per_second / b.rows_per_second
            size[phase] = {"hygge": asdict(h), "adbc": asdict(b), "ratio": ratio}
            if phase == "read":
                c, x = find(runs, phase, "copy", n), find(runs, phase, "cx", n)
                size[phase] |= {"copy": asdict(c), "cx": asdict(x)}
                size[phase] |= {"wall_vs_copy": h.wall / c.wall, "wall_vs_cx": h.wall / x.wall}
            checks.append((f"{phase} {n:,}: ratio >= {TARGET_RATIO}", ratio >= TARGET_RATIO))
        h, b = find(runs, "incremental", "hygge", n), find(runs, "incremental", "adbc", n)
        a = find(runs, "incremental", "hygge-1%", n)
        size["incremental"] = {
            "hygge": asdict(h),
            "adbc": asdict(b),
            "hygge_1pct": asdict(a),
            "vs_adbc": h.seconds / b.seconds,
            "vs_hygge_1pct": h.seconds / a.seconds,
            "wall_vs_adbc": h.wall / b.wall,
            "wall_vs_hygge_1pct": h.wall / a.wall,
            "wall_vs_copy": h.wall / find(runs, "incremental", "copy", n).wall,
            "wall_vs_cx": h.wall / find(runs, "incremental", "cx", n).wall,
        }
        ok = h.seconds / a.seconds <= TARGET_INCREMENTAL
        checks.append((f"incremental {n:,}: <= {TARGET_INCREMENTAL} x hygge on the 1%", ok))
        out["sizes"].append(size)
    if len(sizes) > 1:
        small, large = out["sizes"][0], out["sizes"][-1]
        for phase in ("read", "load"):
            growth = large[phase]["hygge"]["peak_rss"] / small[phase]["hygge"]["peak_rss"]
            base = large[phase]["adbc"]["peak_rss"] / small[phase]["adbc"]["peak_rss"]
            out[f"{phase}_rss_growth"] = {"hygge": growth, "adbc": base}
            ok = growth <= TARGET_RSS_GROWTH
            checks.append((f"{phase} RSS growth <= {TARGET_RSS_GROWTH}", ok))
    out["checks"] = [{"target": name, "met": ok} for name, ok in checks]
    out["passed"] = all(ok for _, ok in checks)
    return out


def _line(r: Run, note: str = "") -> str:
    return (
        f"{r.rows:>11,} {r.phase:<12}{r.tool:<10}{r.moved:>11,} {r.seconds:>8.2f} {r.wall:>7.2f}"
        f" {r.rows_per_second:>12,.0f} {_mib(r.peak_rss):>9}  {note}"
    )


def print_summary(runs: list[Run], summary: dict[str, Any], sizes: list[int]) -> None:
    print(
        f"{'table rows':>11} {'phase':<12}{'tool':<10}{'moved':>11} {'move s':>8} {'wall s':>7}"
        f" {'rows/s':>12} {'peak RSS':>9}  hygge vs baseline"
    )
    for n, size in zip(sizes, summary["sizes"], strict=True):
        for phase in ("read", "load"):
            if phase == "read":
                print(_line(find(runs, phase, "copy", n)))
                print(_line(find(runs, phase, "cx", n)))
                print(_line(find(runs, phase, "hygge-1conn", n)))
            print(_line(find(runs, phase, "adbc", n)))
            print(_line(find(runs, phase, "hygge", n), f"rows/s ratio {size[phase]['ratio']:.2f}"))
        read = size["read"]
        print(f"{'':>11} read wall: x{read['wall_vs_copy']:.2f} copy, x{read['wall_vs_cx']:.2f} cx")
        inc = size["incremental"]
        print(_line(find(runs, "incremental", "copy", n)))
        print(_line(find(runs, "incremental", "cx", n)))
        print(_line(find(runs, "incremental", "adbc", n)))
        print(_line(find(runs, "incremental", "hygge-1%", n)))
        print(
            _line(
                find(runs, "incremental", "hygge", n),
                f"time x{inc['vs_hygge_1pct']:.2f} hygge-1%"
                f" (wall x{inc['wall_vs_hygge_1pct']:.2f}),"
                f" x{inc['vs_adbc']:.2f} adbc (wall x{inc['wall_vs_adbc']:.2f}),"
                f" wall x{inc['wall_vs_copy']:.2f} copy, x{inc['wall_vs_cx']:.2f} cx",
            )
        )
    for phase in ("read", "load"):
        growth = summary.get(f"{phase}_rss_growth")
        if growth:
            print(
                f"{phase} peak RSS growth {sizes[0]:,} -> {sizes[-1]:,}:"
                f" hygge {growth['hygge']:.2f} x, adbc {growth['adbc']:.2f} x"
            )
    for check in summary["checks"]:
        print(f"{'met   ' if check['met'] else 'MISSED'} {check['target']}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=lambda text: sorted({int(n) for n in text.replace("_", "").split(",")}),
        default=list(DEFAULT_ROWS),
        help="comma-separated table sizes (default: 1000000,10000000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool per size")
    parser.add_argument("--batch-rows", type=int, help="hygge batch_rows (default: hygge's)")
    parser.add_argument("--workdir", type=Path, help="where temp data goes (default: system temp)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    parser.add_argument("--no-out", action="store_true", help="write no JSON result file")
    parser.add_argument(
        "--inline-url",
        action="store_true",
        help="plugins carry the URL inline instead of naming a connection of hygge.yml",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    if argv[:1] == [CHILD_ROLE]:
        roles = {"read": raw_read, "cx": cx_read, "ingest": raw_ingest}
        child_main(argv[1], argv[2], list(argv[3:]), roles)
        return 0
    args = parse_args(argv)
    global INLINE_URL
    INLINE_URL = args.inline_url
    from tests.pg import ServerUnavailable, running_server

    warn_if_busy()
    runs: list[Run] = []
    try:
        with (
            running_server() as url,
            tempfile.TemporaryDirectory(prefix="hygge-bench-pg-", dir=args.workdir) as work,
        ):
            os.environ["BENCH_PG_URL"] = url  # the children inherit it
            for rows in args.rows:
                runs += bench_size(url, Path(work), rows, args)
    except ServerUnavailable as exc:
        raise SystemExit(f"no PostgreSQL server: {exc}") from None
    summary = summarise(runs, args.rows)
    summary["settings"] = {
        "repeat": args.repeat,
        "batch_rows": args.batch_rows,
        "inline_url": args.inline_url,
    }
    print_summary(runs, summary, args.rows)
    if not args.no_out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(f"written {args.out}", file=sys.stderr)
    return 1 if args.check and not summary["passed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
