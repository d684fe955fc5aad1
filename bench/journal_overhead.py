"""Benchmark: what an entity run costs in the PostgreSQL journal, against the SQLite one.

Two measurements, each on both journals, the best of `--repeat`:

- **journal**: the journal work of one entity run alone, as the coordinator and flow do it:
  take the entity's claim (file locks, or advisory locks in the claim's session), read the
  watermark, start the entity run, finish it with a watermark commit, release the claim;
  `--entities` times, in one process. Per entity: the mean.
- **run**: `hygge.run` of projects of tiny entities (parquet -> parquet, full_drop, 10 rows
  each, concurrency 1), in process, of `--entities` and of a fifth as many: the difference
  of their times over the difference of their sizes is the cost of one more entity, planning
  and the run's fixed costs (connecting the journal's sessions) left out; those are reported
  apart, per run.

The PostgreSQL server is a throwaway one started as `tests/pg.py` starts the test server
(loopback), or `--url`. Target: the PostgreSQL journal costs < 20 ms more per entity.

    python bench/journal_overhead.py [--entities 50] [--repeat 3] [--url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.pg

import hygge
from hygge.config.project import load_project
from hygge.journal import WatermarkCommit, open_project_journal
from hygge.locks import Holder

TARGET_MS = 20.0


def project(root: Path, entities: int, schema: str | None) -> Path:
    """A project of `entities` one-file entities; its journal PostgreSQL when schema is given."""
    journal = (
        "connections:\n  jdb: {type: postgres, url: '${BENCH_PG_URL}'}\n"
        f"journal: {{type: postgres, connection: jdb, schema: {schema}}}\n"
        if schema
        else ""
    )
    (root / "flows" / "f").mkdir(parents=True)
    (root / "hygge.yml").write_text(f"name: bench\noptions: {{concurrency: 1}}\n{journal}")
    names = [f"e{n:03d}" for n in range(entities)]
    (root / "flows" / "f" / "flow.yml").write_text(
        'home: {type: parquet, path: "data/{entity}.parquet"}\n'
        "store: {type: parquet, path: lake}\nrun_type: full_drop\n"
        f"entities: [{', '.join(names)}]\n"
    )
    (root / "data").mkdir()
    for name in names:
        pl.DataFrame({"id": range(10)}).write_parquet(root / "data" / f"{name}.parquet")
    return root


def journal_ms(root: Path, entities: int) -> float:
    """Mean milliseconds of the journal work of one entity run."""
    loaded = load_project(root)
    with open_project_journal(loaded) as journal:
        locks = journal.locks(root)
        run_id = f"bench-{secrets.token_hex(4)}"
        journal.start_run(run_id, "bench")
        holder = Holder.me(run_id, "bench")
        started = time.perf_counter()
        for number in range(entities):
            name = f"j{number:03d}"  # not an entity of the project: run_ms runs those
            claim = locks.claim(f"bench.{name}", f"bench target {number}")
            assert claim.try_take(holder) is None
            fenced = claim.fence(journal)
            fenced.watermark("bench", name)
            record = fenced.start_entity(run_id, "bench", name, "incremental", None)
            fenced.finish_entity(
                record, status="success", attempts=1, rows_read=10, rows_written=10,
                bytes_written=0, seconds=0.01, commit=WatermarkCommit("id", "9", None),
            )  # fmt: skip
            claim.release()
        seconds = time.perf_counter() - started
        journal.finish_run(run_id, "success")
        locks.close()
    return 1000 * seconds / entities


def run_ms(root: Path) -> float:
    """Milliseconds of one in-process run of the project."""
    started = time.perf_counter()
    result = hygge.run(root)
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, [(e.address, e.error) for e in result.entities]
    return 1000 * seconds


@contextlib.contextmanager
def server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.pg import running_server

    with running_server() as started:
        yield started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a PostgreSQL server to use (default: start one)")
    args = parser.parse_args()
    with server(args.url) as url, tempfile.TemporaryDirectory() as folder:
        os.environ["BENCH_PG_URL"] = url
        best: dict[tuple[str, str], float] = {}
        sizes = {"small": max(1, args.entities // 5), "large": args.entities}
        for attempt in range(args.repeat):
            for backend in ("sqlite", "postgres"):
                for size, entities in sizes.items():
                    schema = f"bench_{secrets.token_hex(4)}" if backend == "postgres" else None
                    root = project(Path(folder) / f"{backend}-{size}-{attempt}", entities, schema)
                    measured = {"run " + size: run_ms(root)}
                    if size == "large":
                        measured["journal"] = journal_ms(root, entities)
                    for what, ms in measured.items():
                        best[(what, backend)] = min(best.get((what, backend), ms), ms)
    print(f"best of {args.repeat}, machine shared: the figures are noisy")
    print(f"{'ms':26} {'sqlite':>8} {'postgres':>9} {'overhead':>9}")
    spread = sizes["large"] - sizes["small"]
    rows = {
        "journal work, per entity": {b: best[("journal", b)] for b in ("sqlite", "postgres")},
        "run, per added entity": {
            b: (best[("run large", b)] - best[("run small", b)]) / spread
            for b in ("sqlite", "postgres")
        },
    }
    rows["run, fixed per run"] = {
        b: best[("run small", b)] - sizes["small"] * rows["run, per added entity"][b]
        for b in ("sqlite", "postgres")
    }
    for what, per in rows.items():
        sqlite, postgres = per["sqlite"], per["postgres"]
        print(f"{what:26} {sqlite:8.2f} {postgres:9.2f} {postgres - sqlite:+9.2f}")
    worst = max(rows[w]["postgres"] - rows[w]["sqlite"] for w in list(rows)[:2])
    verdict = "met" if worst < TARGET_MS else "MISSED"
    print(f"target: < {TARGET_MS:.0f} ms more per entity: {verdict}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
