"""Benchmark: a PostgreSQL read with a watermark window against the same read without one.

Why: a window's values are bound parameters, and a read must stream all the same: memory
that does not grow with the window, and a first batch as soon as a read without a window
gives one (issue 13). Against a throwaway PostgreSQL 15 server holding the table of
`postgres.py`, for each size, every run in a fresh child process:

1. home:  the postgres home's own batches, timed to the first batch and to the last, for the
          whole table (no window) and for the window of a first incremental load (the
          column's maximum as the upper bound: every row, one bound value);
2. go:    `hygge go` into a parquet store, full_drop without a watermark against the first
          `hygge go --incremental` of an entity with `watermark: {column: id}`.

    python bench/pg_window.py                              # 1M and 10M rows
    python bench/pg_window.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.pg

from file_to_file import _checked, _mib, child_main, run_child, warn_if_busy
from postgres import CHILD_ROLE, check_parquet, make_source, pg_home, pq_plugin, sql
from postgres import write_project as project

DEFAULT_ROWS = (1_000_000, 10_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "pg_window.json"
TARGET_RSS_GROWTH = 1.5  # windowed peak RSS at the largest size over that at the smallest
TARGET_FIRST_BATCH = 1.2  # windowed time to the first batch over the unwindowed one's


def home_read(url: str, table: str, windowed: str, batch_rows: str) -> None:
    """In the child: read the table through the postgres home; time the first batch."""
    from hygge.homes.postgres import PostgresHome
    from hygge.plugin import Context, Window

    config = PostgresHome.Config.model_validate({"type": "postgres", "url": url, "table": table})
    home = PostgresHome(config, Context(root=Path.cwd(), flow="bench", entity=table))
    started = time.perf_counter()
    window = Window()
    if windowed == "yes":  # the first incremental load's: up to the column's maximum
        window = Window("id", None, home.high_mark("id"))
    first, rows = None, 0
    for frame in home.batches(window, int(batch_rows)):
        first = first if first is not None else time.perf_counter() - started
        rows += frame.height
    seconds = time.perf_counter() - started
    print(json.dumps({"first": first, "seconds": seconds, "rows": rows}))


@dataclass(frozen=True)
class Run:
    phase: str  # home | go
    window: bool
    rows: int
    first: float | None  # seconds to the first batch (home only)
    seconds: float
    wall: float
    peak_rss: int


def measure_home(url: str, table: str, rows: int, window: bool, batch_rows: int) -> Run:
    args = (url, table, "yes" if window else "no", str(batch_rows))
    child = _checked(run_child("home", *args, script=__file__), "home read")
    out = json.loads(child.stdout)
    if out["rows"] != rows:
        raise SystemExit(f"home read gave {out['rows']:,} rows, expected {rows:,}")
    return Run("home", window, rows, out["first"], out["seconds"], child.wall, child.peak_rss)


def measure_go(root: Path, rows: int, window: bool) -> Run:
    """`hygge go`; with the window, the first run of an incremental entity."""
    mode = ["--incremental"] if window else []
    child = run_child("hygge", "go", "--project", str(root), *mode, "--json", script=__file__)
    out = json.loads(_checked(child, "hygge go").stdout)
    if out["rows"] != rows:
        raise SystemExit(f"hygge go moved {out['rows']:,} rows, expected {rows:,}")
    return Run("go", window, rows, None, out["seconds"], child.wall, child.peak_rss)


def bench_size(url: str, work: Path, rows: int, args: argparse.Namespace) -> Iterator[Run]:
    table = f"src_{rows}"
    print(f"{rows:,} rows: generating the table ...", file=sys.stderr, flush=True)
    make_source(url, table, rows)
    extra = {False: [], True: ["watermark: {column: id}"]}
    for repeat in range(args.repeat):
        for window in (False, True):  # alternately, in the same run
            print(f"  home, go: window {window}", file=sys.stderr, flush=True)
            yield measure_home(url, table, rows, window, args.batch_rows)
            here = work / f"go-{rows}-{window}-{repeat}"  # a first run each time
            lake = here / "lake"
            home, store = pg_home(url, table), pq_plugin(lake)
            yield measure_go(project(here, home, store, extra[window], url), rows, window)
            check_parquet(lake, rows)
            shutil.rmtree(here)
    sql(url, f"DROP TABLE {table}")


def median_of(runs: list[Run], phase: str, window: bool, rows: int) -> dict[str, Any]:
    mine = [r for r in runs if (r.phase, r.window, r.rows) == (phase, window, rows)]
    firsts = [r.first for r in mine if r.first is not None]
    return {
        "first": statistics.median(firsts) if firsts else None,
        "seconds": statistics.median(r.seconds for r in mine),
        "wall": statistics.median(r.wall for r in mine),
        "peak_rss": max(r.peak_rss for r in mine),
    }


def summarise(runs: list[Run], sizes: list[int]) -> dict[str, Any]:
    table = {
        f"{phase} {n} {window}": median_of(runs, phase, window, n)
        for phase in ("home", "go")
        for n in sizes
        for window in (False, True)
    }
    checks: list[tuple[str, bool]] = []
    for n in sizes:
        plain, windowed = table[f"home {n} False"], table[f"home {n} True"]
        ratio = windowed["first"] / plain["first"]
        name = f"first batch {n:,}: windowed {ratio:.2f} x unwindowed <= {TARGET_FIRST_BATCH}"
        checks.append((name, ratio <= TARGET_FIRST_BATCH))
    if len(sizes) > 1:
        for phase in ("home", "go"):
            small, large = (table[f"{phase} {n} True"]["peak_rss"] for n in (sizes[0], sizes[-1]))
            growth = large / small
            name = f"{phase} windowed peak RSS growth {growth:.2f} x <= {TARGET_RSS_GROWTH}"
            checks.append((name, growth <= TARGET_RSS_GROWTH))
    return {
        "medians": table,
        "runs": [asdict(r) for r in runs],
        "checks": [{"target": name, "met": met} for name, met in checks],
    }


def print_summary(summary: dict[str, Any]) -> None:
    print(f"{'phase':<5} {'rows':>11} {'window':<7}{'first s':>8} {'move s':>8} {'wall s':>7} RSS")
    for key, m in summary["medians"].items():
        phase, rows, window = key.split()
        first = f"{m['first']:.2f}" if m["first"] is not None else "-"
        print(
            f"{phase:<5} {int(rows):>11,} {window:<7}{first:>8} {m['seconds']:>8.2f}"
            f" {m['wall']:>7.2f} {_mib(m['peak_rss'])}"
        )
    for check in summary["checks"]:
        print(f"{'met   ' if check['met'] else 'MISSED'} {check['target']}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--rows",
        type=lambda text: sorted({int(n) for n in text.replace("_", "").split(",")}),
        default=list(DEFAULT_ROWS),
        help="comma-separated table sizes (default: 1000000,10000000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case per size")
    parser.add_argument("--batch-rows", type=int, default=100_000, help="the home's batch_rows")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    if argv[:1] == [CHILD_ROLE]:
        child_main(argv[1], argv[2], list(argv[3:]), {"home": home_read})
        return 0
    args = parse_args(argv)
    from tests.pg import ServerUnavailable, running_server

    warn_if_busy()
    runs: list[Run] = []
    try:
        with running_server() as url, tempfile.TemporaryDirectory(prefix="hygge-pgw-") as work:
            os.environ["BENCH_PG_URL"] = url  # the children inherit it
            for rows in args.rows:
                runs += bench_size(url, Path(work), rows, args)
    except ServerUnavailable as exc:
        raise SystemExit(f"no PostgreSQL server: {exc}") from None
    summary = summarise(runs, args.rows)
    print_summary(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 1 if args.check and not all(c["met"] for c in summary["checks"]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
