"""Benchmark: what polish and checks cost a parquet -> parquet move, in the same run.

Two hygge projects move the same source (`file_to_file.py`'s table) to parquet: **plain**,
and **shaped** with polish (snake_case names, an xxh64 hash id of two columns, a load
timestamp) and three checks (not_null, range, accepted_values). Each move is a fresh child
process, timed whole (interpreter start included) with its peak RSS; the overhead is shaped's
wall time over plain's, less one. Two more projects tell what the hash costs from what the
rest does: **sha256**, shaped with a SHA-256 hash id (the default), and **nohash**, shaped
without a hash id.

    python bench/polish_checks.py                    # 1M and 10M rows
    python bench/polish_checks.py --rows 1000000 --repeat 3 --check
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from file_to_file import (
    CHILD_ROLE,
    COUNTRIES,
    DEFAULT_ROWS,
    Run,
    _checked,
    _mib,
    child_main,
    run_child,
    take_output,
    warn_if_busy,
    write_source,
)

TARGET_OVERHEAD = 0.25  # shaped wall time at most this share above plain's
HASH = "  hash_ids: {order_key: {columns: [id, country], algorithm: xxh64}}\n"
SHA256 = "  hash_ids: {order_key: [id, country]}\n"
SHAPED = f"""\
polish:
  case: snake
  timestamps: {{loaded_at: run_start}}
{HASH}checks:
  not_null: [id]
  range: {{amount: {{min: 0}}}}
  accepted_values: {{country: [{", ".join(json.dumps(c) for c in COUNTRIES)}]}}
"""


def write_project(root: Path, source: Path, target: Path, shape: str) -> Path:
    flow = root / "flows" / "bench"
    flow.mkdir(parents=True)
    (root / "hygge.yml").write_text("name: bench\n", encoding="utf-8")
    (flow / "flow.yml").write_text(
        f"home: {{type: parquet, path: {json.dumps(str(source))}}}\n"
        # file_rows below the source's: plain re-encodes its rows as the others do, instead
        # of copying the source files whole (which it does when nothing is to change)
        f"store: {{type: parquet, path: {json.dumps(str(target))}, file_rows: 500000}}\n"
        "run_type: full_drop\n" + shape,
        encoding="utf-8",
    )
    return root


def measure(tool: str, project: Path, target: Path, rows: int) -> Run:
    command = ("go", "--project", str(project), "--json")
    child = _checked(run_child("hygge", *command, script=__file__), f"hygge go ({tool})")
    result = json.loads(child.stdout)
    if result["rows"] != rows:
        raise SystemExit(f"{tool}: hygge reported {result['rows']:,} rows, expected {rows:,}")
    return Run(tool, rows, result["seconds"], child.wall, child.peak_rss, take_output(target, rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--source-file-rows", type=int, default=1_000_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    warn_if_busy()
    results: list[list[Run]] = []
    with tempfile.TemporaryDirectory(prefix="hygge-bench-") as work:
        for rows in sorted(args.rows):
            here = Path(work) / f"rows-{rows}"
            write_source(here / "source", rows, args.source_file_rows)
            shapes = {
                "plain": "",
                "shaped": SHAPED,
                "sha256": SHAPED.replace(HASH, SHA256),
                "nohash": SHAPED.replace(HASH, ""),
            }
            projects = {
                tool: write_project(here / tool, here / "source", here / "lake", shape)
                for tool, shape in shapes.items()
            }
            runs = [
                measure(tool, project, here / "lake", rows)
                for _ in range(args.repeat)
                for tool, project in projects.items()
            ]
            best = {
                tool: min((r for r in runs if r.tool == tool), key=lambda r: r.wall)
                for tool in shapes
            }
            results.append(list(best.values()))
    print(f"{'rows':>12} {'tool':>7} {'wall s':>7} {'move s':>7} {'peak RSS':>10}  overhead")
    for plain_run, *others in results:
        for run in (plain_run, *others):
            extra = f"  {run.wall / plain_run.wall - 1:+.0%}" if run is not plain_run else ""
            print(
                f"{run.rows:>12,} {run.tool:>7} {run.wall:>7.2f} {run.seconds:>7.2f}"
                f" {_mib(run.peak_rss):>10}{extra}"
            )
    worst = max(shaped.wall / plain.wall - 1 for plain, shaped, *_ in results)
    print(f"\ntarget: overhead <= {TARGET_OVERHEAD:.0%}, measured at most {worst:+.0%}")
    return 1 if args.check and worst > TARGET_OVERHEAD else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_ROLE:
        child_main(sys.argv[2], sys.argv[3], sys.argv[4:], {})
    else:
        sys.exit(main())
