"""Benchmark: parquet -> parquet with hygge, against Polars' own scan -> sink in the same run.

Why: docs/architecture.md (Testing and benchmarks) promises that hygge moves data close to
the speed of the engine underneath it and in memory that does not grow with the table.
Absolute numbers depend on the machine, so every hygge run is compared with
`pl.scan_parquet(src).sink_parquet(dst)` measured on the same data, on the same machine,
seconds apart. Each measurement runs in a fresh child process
so its peak RSS is its own; hygge runs as `hygge go --project P --json` would: once copying the
files (nothing to change), against `cp -r`, and once re-encoding them, against Polars.

    python bench/file_to_file.py                    # 1M and 10M rows
    python bench/file_to_file.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import polars as pl

TARGET_RATIO = 0.8  # hygge rows/s at least this share of the baseline's
TARGET_WALL_RATIO = 1.25  # hygge whole process over polars' own scan -> sink process
TARGET_RSS_GROWTH = 1.5  # hygge peak RSS at the largest size over that at the smallest
DEFAULT_ROWS = (1_000_000, 10_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "file_to_file.json"
CHILD_ROLE = "_child"  # argv[1] of a measured child: `_child polars|hygge PEAK_FILE ARGS...`
# The parquet store's default is zstd at level 1 (Arrow's default, which hygge keeps);
# Polars' own default, level 3, would cost the baseline about a tenth more CPU.
HYGGE_ZSTD_LEVEL = 1
SEED = 0x5EED
COUNTRIES = ("DK", "SE", "NO", "FI", "IS", "DE", "NL", "UK", "FR", "ES", "IT", "PL")
TEXT = (
    "hygge is the Danish feeling of a warm room on a cold evening; data should settle "
    "where it belongs with as little fuss, as few copies and as little memory as possible."
)
_U64 = pl.UInt64


# --- source data ------------------------------------------------------------------------


def _u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=_U64)


def _mix(x: pl.Expr) -> pl.Expr:
    """splitmix64's finaliser: cheap, vectorised, and identical on every Polars version.

    Polars' own `hash` may change between versions, and NumPy is not a hygge dependency.
    UInt64 multiplication wraps in Polars, like in C; `// 2**k` is a right shift.
    """
    x = (x ^ (x // _u64(1 << 30))) * _u64(0xBF58476D1CE4E5B9)
    x = (x ^ (x // _u64(1 << 27))) * _u64(0x94D049BB133111EB)
    return x ^ (x // _u64(1 << 31))


def _random(row: pl.Expr, salt: int) -> pl.Expr:
    """A pseudo-random UInt64 per row; each salt gives an independent column."""
    return _mix(row.cast(_U64) * _u64(0x9E3779B97F4A7C15) + _u64(SEED * 1_000_003 + salt))


def source_frame(start: int, rows: int) -> pl.DataFrame:
    """Rows start..start+rows of the benchmark table: the same values on every run."""
    row = pl.int_range(start, start + rows, dtype=pl.Int64)
    a, b, c = _random(row, 1), _random(row, 2), _random(row, 3)
    two_years_us = 2 * 365 * 24 * 3600 * 1_000_000
    jan_2024_us = 1_704_067_200 * 1_000_000
    return pl.select(
        id=row,
        amount=pl.when(b % _u64(100) == 0)
        .then(None)
        .otherwise(((a // _u64(1 << 11)).cast(pl.Float64) / 2.0**53 * 10_000).round(2)),
        note=pl.concat_str(
            pl.lit("order "),
            row.cast(pl.String),
            pl.lit(": "),
            pl.lit(TEXT).str.slice((b % _u64(60)).cast(pl.Int64), (c % _u64(100)).cast(pl.UInt32)),
        ),
        created_at=((c % _u64(two_years_us)).cast(pl.Int64) + jan_2024_us).cast(pl.Datetime("us")),
        active=(a % _u64(2)) == 1,
        country=(c % _u64(len(COUNTRIES))).replace_strict(
            dict(enumerate(COUNTRIES)), return_dtype=pl.String
        ),
    )


def write_source(folder: Path, rows: int, file_rows: int) -> None:
    """Several parquet files, like a real landing folder; one file in memory at a time."""
    folder.mkdir(parents=True)
    for number, start in enumerate(range(0, rows, file_rows)):
        path = folder / f"part-{number:05d}.parquet"
        source_frame(start, min(file_rows, rows - start)).write_parquet(path, compression="zstd")


# --- measuring a child process ----------------------------------------------------------


def peak_rss() -> int:
    """This process's peak resident memory in bytes.

    VmHWM belongs to the process's own address space, created fresh by exec. Not
    ru_maxrss (wait4, RUSAGE_CHILDREN): Linux carries the parent's peak RSS into the child
    at exec, so a child of this script would never report less than the script itself.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


@dataclass(frozen=True)
class Child:
    """What one child process did: its exit status, wall time, peak RSS and stdout."""

    code: int
    wall: float
    peak_rss: int  # bytes
    stdout: str
    stderr: str


def run_child(role: str, *args: str, script: str = __file__) -> Child:
    """Run one role of a benchmark script (this one by default) in a fresh child process and
    collect what it measured."""
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        command = [sys.executable, str(Path(script).resolve()), CHILD_ROLE, role, str(peak_file)]
        os.sync()  # the previous run's dirty pages are written back now, not during this one
        started = time.perf_counter()
        done = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        peak = int(peak_file.read_text()) if peak_file.exists() else 0
    return Child(done.returncode, wall, peak, done.stdout, done.stderr)


def child_main(
    role: str, peak_file: str, args: list[str], baselines: Mapping[str, Callable[..., None]]
) -> None:
    """Inside the child: play one role (a baseline, or `hygge ARGS`), then leave its peak RSS
    for the parent, even on error."""
    try:
        if role in baselines:
            baselines[role](*args)
        else:
            from hygge.cli import main as hygge_cli  # exactly `hygge ARGS`; exits with its code

            hygge_cli.main(args, prog_name="hygge")
    finally:
        Path(peak_file).write_text(str(peak_rss()))


def _checked(child: Child, what: str) -> Child:
    if child.code != 0:
        raise SystemExit(f"{what} failed with exit {child.code}:\n{child.stderr}{child.stdout}")
    return child


# --- the two contenders -----------------------------------------------------------------


def baseline(source: str, target: str) -> None:
    """The baseline: Polars' streaming engine, end to end, with hygge's default compression."""
    started = time.perf_counter()
    pl.scan_parquet(source).sink_parquet(
        target, compression="zstd", compression_level=HYGGE_ZSTD_LEVEL
    )
    print(json.dumps({"seconds": time.perf_counter() - started}))


def write_project(
    root: Path, source: Path, target: Path, batch_rows: int | None, store: str = ""
) -> Path:
    """A one-entity hygge project moving source to target; JSON strings are valid YAML.
    `store` adds keys to the store (e.g. a codec level, which makes it re-encode)."""
    flow = root / "flows" / "bench"
    flow.mkdir(parents=True)
    (root / "hygge.yml").write_text("name: bench\n", encoding="utf-8")
    lines = [
        f"home: {{type: parquet, path: {json.dumps(str(source))}}}",
        f"store: {{type: parquet, path: {json.dumps(str(target))}{store}}}",
        "run_type: full_drop",
    ]
    if batch_rows:
        lines.append(f"defaults: {{batch_rows: {batch_rows}}}")
    (flow / "flow.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@dataclass(frozen=True)
class Run:
    """One measured move: `seconds` is the move itself, `wall` the whole child process."""

    tool: str
    rows: int
    seconds: float
    wall: float
    peak_rss: int
    output_bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def measure_cp(source: Path, target: Path, rows: int) -> Run:
    """`cp -r` of the source folder: what a move that changes nothing cannot beat. Its RSS
    is not measured (a few MiB)."""
    os.sync()
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    wall = time.perf_counter() - started
    run = Run("cp", rows, wall, wall, 0, take_output(target, rows))
    shutil.rmtree(target)  # `cp -r` into an existing folder would copy into a sub-folder
    return run


def measure_baseline(source: Path, target: Path, rows: int) -> Run:
    child = _checked(run_child("polars", str(source), str(target)), "baseline")
    seconds = json.loads(child.stdout)["seconds"]
    return Run("polars", rows, seconds, child.wall, child.peak_rss, take_output(target, rows))


def measure_hygge(project: Path, target: Path, rows: int, tool: str = "hygge") -> Run:
    child = _checked(run_child("hygge", "go", "--project", str(project), "--json"), "hygge go")
    result = json.loads(child.stdout)
    if result["rows"] != rows:
        raise SystemExit(f"hygge reported {result['rows']:,} rows, expected {rows:,}")
    seconds = result["seconds"]
    return Run(tool, rows, seconds, child.wall, child.peak_rss, take_output(target, rows))


def take_output(target: Path, rows: int) -> int:
    """Check what a run wrote, then delete it so the next run starts alike; return its bytes.

    The output must hold `rows` rows with ids 0..rows-1 (their count and sum), else the
    speed means nothing.
    """
    files = sorted(target.glob("*.parquet")) if target.is_dir() else [target]
    found = pl.scan_parquet(files).select(n=pl.len(), ids=pl.col("id").sum()).collect().row(0)
    if found != (rows, rows * (rows - 1) // 2):
        raise SystemExit(f"{target}: {found[0]:,} rows, expected {rows:,} (or ids differ)")
    size = sum(f.stat().st_size for f in files)
    for file in files:
        file.unlink()
    return size


# --- the benchmark ----------------------------------------------------------------------

TOOLS = ("cp", "polars", "hygge", "hygge-encode")


def bench_size(work: Path, rows: int, args: argparse.Namespace) -> list[Run]:
    """Every contender on the same `rows`-row source, one after the other, `repeat` times:
    `hygge` copies the files (nothing to change), `hygge-encode` re-encodes them (a codec
    level set on the store; the level is the default's, so the files are alike)."""
    here = work / f"rows-{rows}"
    source = here / "source"
    write_source(source, rows, args.source_file_rows)
    level = f", compression_level: {HYGGE_ZSTD_LEVEL}"
    copying = write_project(here / "copying", source, here / "lake", args.batch_rows)
    encoding = write_project(here / "encoding", source, here / "lake2", args.batch_rows, level)
    runs = []
    for _ in range(args.repeat):
        runs.append(measure_cp(source, here / "copy", rows))
        runs.append(measure_baseline(source, here / "baseline.parquet", rows))
        runs.append(measure_hygge(copying, here / "lake", rows))
        runs.append(measure_hygge(encoding, here / "lake2", rows, "hygge-encode"))
    return runs


def median_run(runs: list[Run], tool: str, rows: int) -> Run:
    """The median of the repeats (seconds and wall apart), with the highest peak RSS seen."""
    mine = [r for r in runs if r.tool == tool and r.rows == rows]
    peak = max(r.peak_rss for r in mine)
    seconds = statistics.median(r.seconds for r in mine)
    wall = statistics.median(r.wall for r in mine)
    return Run(tool, rows, seconds, wall, peak, mine[0].output_bytes)


@dataclass(frozen=True)
class Comparison:
    """Every contender at one table size (medians)."""

    rows: int
    tools: dict[str, Run]

    @property
    def ratio(self) -> float:
        """hygge re-encoding over polars in rows/s of the move itself."""
        return self.tools["hygge-encode"].rows_per_second / self.tools["polars"].rows_per_second

    @property
    def wall_ratio(self) -> float:
        """hygge re-encoding over polars in whole-process wall time (lower is better)."""
        return self.tools["hygge-encode"].wall / self.tools["polars"].wall

    @property
    def copy_ratio(self) -> float:
        """hygge copying over `cp` in wall time (lower is better)."""
        return self.tools["hygge"].wall / self.tools["cp"].wall


@dataclass(frozen=True)
class Summary:
    """Every run, and the comparisons the targets are judged on."""

    runs: list[Run]
    comparisons: list[Comparison]
    settings: dict[str, object]

    def _growth(self, tool: str) -> float:
        first, last = self.comparisons[0].tools[tool], self.comparisons[-1].tools[tool]
        return last.peak_rss / first.peak_rss

    @property
    def rss_growth(self) -> float:
        """hygge's (re-encoding) peak RSS at the largest size over that at the smallest."""
        return self._growth("hygge-encode")

    @property
    def baseline_rss_growth(self) -> float:
        """The same for the baseline: how much of hygge's growth is the engine's own."""
        return self._growth("polars")

    @property
    def passed(self) -> bool:
        fast = all(c.ratio >= TARGET_RATIO for c in self.comparisons)
        started = all(c.wall_ratio <= TARGET_WALL_RATIO for c in self.comparisons)
        return fast and started and self.rss_growth <= TARGET_RSS_GROWTH

    def to_json(self) -> dict[str, object]:
        def run(r: Run) -> dict[str, object]:
            return asdict(r) | {"rows_per_second": r.rows_per_second}

        return {
            "sizes": [
                {
                    "rows": c.rows,
                    **{tool: run(r) for tool, r in c.tools.items()},
                    "ratio": c.ratio,
                    "wall_ratio": c.wall_ratio,
                    "copy_ratio": c.copy_ratio,
                }
                for c in self.comparisons
            ],
            "rss_growth": self.rss_growth,
            "baseline_rss_growth": self.baseline_rss_growth,
            "runs": [run(r) for r in self.runs],
            "targets": {
                "ratio": TARGET_RATIO,
                "wall_ratio": TARGET_WALL_RATIO,
                "rss_growth": TARGET_RSS_GROWTH,
            },
            "passed": self.passed,
            "settings": self.settings,
            "versions": {
                "python": sys.version.split()[0],
                "polars": pl.__version__,
                "hygge": metadata.version("hygge"),
            },
        }


def summarise(runs: list[Run], args: argparse.Namespace) -> Summary:
    sizes = sorted(args.rows)
    settings = {
        "source_file_rows": args.source_file_rows,
        "batch_rows": args.batch_rows,
        "repeat": args.repeat,
        "baseline_zstd_level": HYGGE_ZSTD_LEVEL,
    }
    comparisons = [Comparison(n, {t: median_run(runs, t, n) for t in TOOLS}) for n in sizes]
    return Summary(runs, comparisons, settings)


def _mib(size: float) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _row(run: Run, ratio: str = "") -> str:
    return (
        f"{run.rows:>12,}  {run.tool:<12} {run.seconds:>7.2f} {run.wall:>7.2f}"
        f" {run.rows_per_second:>12,.0f} {_mib(run.peak_rss):>10} {_mib(run.output_bytes):>9}"
        f"{ratio}"
    )


def print_summary(summary: Summary) -> None:
    print(
        f"{'rows':>12}  {'tool':<12} {'move s':>7} {'wall s':>7} {'rows/s':>12}"
        f" {'peak RSS':>10} {'output':>9}  wall ratio"
    )
    for c in summary.comparisons:
        print(_row(c.tools["cp"]))
        print(_row(c.tools["polars"]))
        print(_row(c.tools["hygge"], f"  {c.copy_ratio:.2f} x cp"))
        print(_row(c.tools["hygge-encode"], f"  {c.wall_ratio:.2f} x polars"))
    small, large = summary.comparisons[0].rows, summary.comparisons[-1].rows
    ratios = ", ".join(f"{c.ratio:.2f}" for c in summary.comparisons)
    walls = ", ".join(f"{c.wall_ratio:.2f}" for c in summary.comparisons)
    print(f"\ntarget: hygge-encode/polars rows/s >= {TARGET_RATIO}   measured: {ratios}")
    print(f"target: hygge-encode/polars wall <= {TARGET_WALL_RATIO}   measured: {walls}")
    if large > small:
        print(
            f"target: hygge peak RSS at {large:,} rows <= {TARGET_RSS_GROWTH} x at {small:,}"
            f"   measured: {summary.rss_growth:.2f} x (polars: {summary.baseline_rss_growth:.2f} x)"
        )
    print("all targets met" if summary.passed else "TARGETS MISSED")


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def warn_if_busy(seconds: float = 1.0) -> None:
    """Both contenders use every core: other work on the machine turns the ratio into noise."""
    if not Path("/proc/stat").exists():
        return
    idle, total = _cpu_times()
    time.sleep(seconds)
    idle_after, total_after = _cpu_times()
    busy = 1 - (idle_after - idle) / max(total_after - total, 1)
    if busy > 0.2:
        print(f"warning: the CPUs are {busy:.0%} busy before the bench starts", file=sys.stderr)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=lambda text: sorted({int(n) for n in text.replace("_", "").split(",")}),
        default=list(DEFAULT_ROWS),
        help="comma-separated table sizes (default: 1000000,10000000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool per size")
    parser.add_argument("--source-file-rows", type=int, default=1_000_000, help="rows per file")
    parser.add_argument("--batch-rows", type=int, help="hygge batch_rows (default: hygge's)")
    parser.add_argument("--workdir", type=Path, help="where temp data goes (default: system temp)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    parser.add_argument("--no-out", action="store_true", help="write no JSON result file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    if argv[:1] == [CHILD_ROLE]:
        child_main(argv[1], argv[2], list(argv[3:]), {"polars": baseline})
        return 0
    args = parse_args(argv)
    warn_if_busy()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="hygge-bench-", dir=args.workdir) as work:
        for rows in args.rows:
            print(f"moving {rows:,} rows ...", file=sys.stderr, flush=True)
            runs += bench_size(Path(work), rows, args)
    summary = summarise(runs, args)
    print_summary(summary)
    if not args.no_out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"written {args.out}", file=sys.stderr)
    return 1 if args.check and not summary.passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
