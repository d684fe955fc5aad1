"""What a run tells while it goes: progress events for the library, plain progress lines
when the output is not a terminal, the decisions -v shows, and the JSON log file."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

import pytest

import hygge
from hygge.cli.scaffold import init_project
from hygge.locks import Holder, entity_lock
from hygge.plan import PlannedEntity
from hygge.results import EntityResult
from tests import proc


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return init_project(tmp_path / "demo").root


class Recorder(hygge.Reporter):
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.sizes: list[int] = []

    def run_started(self, run_id: str, entities: tuple[PlannedEntity, ...]) -> None:
        self.events.append(("queued", *(e.address for e in entities)))

    def entity_phase(self, entity: PlannedEntity, phase: str) -> None:
        self.events.append(("phase", entity.address, phase))

    def entity_total(self, entity: PlannedEntity, rows: int) -> None:
        self.events.append(("total", entity.address, str(rows)))

    def entity_rows(self, entity: PlannedEntity, rows: int, size: int = 0) -> None:
        self.sizes.append(size)

    def entity_finished(self, result: EntityResult) -> None:
        self.events.append(("finished", result.address, result.status))


def test_a_library_reporter_hears_queue_phases_total_rows_and_result(demo: Path) -> None:
    recorder = Recorder()
    hygge.run(demo, entities="shop.orders", reporter=recorder)
    assert recorder.events[0] == ("queued", "shop.orders")
    phases = [e[2] for e in recorder.events if e[0] == "phase"]
    assert phases == ["planning", "bounds query", "reading", "writing", "publishing"]
    assert ("total", "shop.orders", "4000") in recorder.events  # from the parquet footers
    assert recorder.events[-1] == ("finished", "shop.orders", "success")
    assert recorder.sizes[-1] > 0 and recorder.sizes == sorted(recorder.sizes)


def test_a_csv_home_expects_its_rows_from_the_file_size(demo: Path) -> None:
    recorder = Recorder()
    hygge.run(demo, entities="crm.customers", reporter=recorder)
    assert ("total", "crm.customers", "500") in recorder.events  # header left out


def test_a_reporter_of_an_older_hygge_with_one_method_still_hears_results(demo: Path) -> None:
    class OnlyResults:
        def __init__(self) -> None:
            self.results: list[str] = []

        def entity_finished(self, result: EntityResult) -> None:
            self.results.append(result.address)

    old = OnlyResults()
    result = hygge.run(demo, flows="shop", reporter=old)  # type: ignore[arg-type]
    assert result.exit_code == 0
    assert sorted(old.results) == ["shop.orders", "shop.products"]


def test_an_entity_waiting_for_a_lock_says_who_holds_it(demo: Path) -> None:
    other = entity_lock(demo, "shop.orders")
    assert other.try_acquire(Holder.me("someone-else", "hygge go (another one)"))

    class FreeOnWait(Recorder):
        def entity_phase(self, entity: PlannedEntity, phase: str) -> None:
            super().entity_phase(entity, phase)
            if phase.startswith("waiting for the lock"):
                other.release()

    recorder = FreeOnWait()
    assert hygge.run(demo, entities="shop.orders", wait=60, reporter=recorder).exit_code == 0
    phases = [e[2] for e in recorder.events if e[0] == "phase"]
    assert phases[0].startswith("waiting for the lock held by pid"), phases
    assert "run someone-else" in phases[0]
    assert phases[1:3] == ["planning", "bounds query"]


def _progress_line(process: subprocess.Popen, marker: Path, address: str) -> str:
    """Read stderr until a progress line of address writing shows (the run is held after
    its first batch), then let the run go on."""
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith(f"progress {address}: writing"):
            proc.wait_for(marker, process)
            marker.unlink()
            return line.strip()
    pytest.fail("the run ended without a progress line")


@pytest.mark.parametrize("where", ["environment", "hygge.yml"])
def test_off_a_terminal_a_running_entity_prints_a_progress_line_every_interval(
    demo: Path, tmp_path: Path, where: str
) -> None:
    env = {"HYGGE_PROGRESS_INTERVAL": "0.05"}
    if where == "hygge.yml":
        env = {}
        config = demo / "hygge.yml"
        config.write_text(config.read_text() + "\n  progress_interval: 0.05\n")
        assert "options:" in config.read_text()
    marker = tmp_path / "paused"
    process = proc.start(
        demo,
        "go",
        "--entity",
        "shop.orders",
        env={
            **env,
            "HYGGE_FAILPOINT": "after_batch:pause",
            "HYGGE_FAILPOINT_FILE": str(marker),
        },
    )
    line = _progress_line(process, marker, "shop.orders")
    code, _, err = proc.finish(process)
    assert code == 0, err
    assert re.match(
        r"progress shop\.orders: writing, [\d,]+ rows, [\d.]+ MB, [\d,]+ rows/s, [\d.]+ MB/s,"
        r" [\d.]+s, \d+% of ~4,000",
        line,
    ), line


def test_a_progress_interval_that_is_no_number_is_a_usage_error(
    demo: Path, hygge_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYGGE_PROGRESS_INTERVAL", "ten")
    result = hygge_cli("go", cwd=demo)
    assert result.exit_code == 2
    assert "HYGGE_PROGRESS_INTERVAL='ten' is not a number of seconds" in result.stderr
    assert not (demo / "lake").exists()


def test_verbose_shows_hyggess_decisions_and_vv_the_libraries_too(demo: Path) -> None:
    once = proc.run(demo, "go", "-v", "--entity", "shop.orders")
    assert once.returncode == 0, once.stderr
    for decision in (
        "plan: shop.orders incremental",
        "shop.orders: window on updated_at from the start to 2026-04-03",
        "data/shop/orders: 4 files to read",
        "shop.orders: bounds query took",
        "shop.orders: publishing took",
    ):
        assert decision in once.stderr
    assert "open file:" not in once.stderr
    twice = proc.run(demo, "go", "-vv", "--entity", "shop.orders:d")
    assert twice.returncode == 0, twice.stderr
    assert "open file:" in twice.stderr


def test_verbose_shows_the_sql_sent_with_its_parameters(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "p"
    (root / "flows" / "db").mkdir(parents=True)
    (root / "hygge.yml").write_text("name: p\n")
    with sqlite3.connect(root / "src.db") as con:
        con.execute("CREATE TABLE t (id INTEGER, at INTEGER)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(10)])
    (root / "flows" / "db" / "flow.yml").write_text(
        "home: {type: sqlite, path: src.db, table: t}\n"
        "store: {type: parquet, path: lake}\n"
        "entities:\n  - name: t\n    run_type: incremental\n    watermark: {column: at}\n"
    )
    assert proc.run(root, "go").returncode == 0
    again = proc.run(root, "go", "-v")
    assert again.returncode == 0, again.stderr
    assert re.search(r"db.t: window on at from 9 to 9", again.stderr), again.stderr
    assert re.search(r"SQL SELECT \* FROM .*t.* WHERE .*; parameters \[9, 9\]", again.stderr)


def test_the_log_file_has_json_lines_with_the_run_id_on_each(demo: Path) -> None:
    config = demo / "hygge.yml"
    config.write_text(config.read_text() + "log_file: logs/hygge.jsonl\n")
    result = proc.run(demo, "go", "--json")
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    lines = [json.loads(line) for line in (demo / "logs/hygge.jsonl").read_text().splitlines()]
    assert {line["run_id"] for line in lines} == {run_id}
    messages = [line["message"] for line in lines]
    assert any(m.startswith("shop.orders: success, 4,000 rows") for m in messages), messages
    assert not any("took" in m for m in messages)  # debug records only with -v
    verbose = proc.run(demo, "go", "-v", "--log-file", "other.jsonl")
    assert verbose.returncode == 0, verbose.stderr
    assert "took" in (demo / "other.jsonl").read_text()


def test_the_log_file_is_rotated(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hygge.logfile.MAX_BYTES", 600)
    for _ in range(3):
        assert hygge.run(demo, log_file="run.jsonl").exit_code == 0
    assert (demo / "run.jsonl.1").exists()
    assert (demo / "run.jsonl").stat().st_size <= 1200


def test_no_secret_reaches_the_log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failed connection's messages, and a record quoting the URL with its password
    (as a driver's debug log might), are written masked."""
    canary = "canary-pw-7f3a9"
    root = tmp_path / "p"
    (root / "flows" / "pg").mkdir(parents=True)
    (root / "hygge.yml").write_text("name: p\nlog_file: hygge.jsonl\n")
    (root / "flows" / "pg" / "flow.yml").write_text(
        "home: {type: postgres, url: 'postgresql://u:${PG_PASSWORD}@127.0.0.1:1/db', table: t}\n"
        "store: {type: parquet, path: lake}\n"
        "entities:\n  - name: t\n    retries: 0\n"
    )
    monkeypatch.setenv("PG_PASSWORD", canary)

    class Chatty(hygge.Reporter):
        def entity_started(self, entity: PlannedEntity) -> None:
            url = f"postgresql://u:{canary}@127.0.0.1:1/db"
            logging.getLogger("hygge.driver").warning("connecting to %s", url)

    assert hygge.run(root, reporter=Chatty()).exit_code == 1
    logged = (root / "hygge.jsonl").read_text()
    assert "pg.t: failed" in logged and "connecting to postgresql://u:" in logged
    assert canary not in logged
    result = proc.run(root, "go", "-vv", env={"PG_PASSWORD": canary})
    assert result.returncode == 1, result.stderr
    assert canary not in (root / "hygge.jsonl").read_text()
    assert canary not in result.stderr + result.stdout


def test_the_summary_stays_readable_at_80_columns(demo: Path) -> None:
    """A table that would not fit gives way to lines that keep every name whole."""
    long_name = "orders_with_a_rather_long_name_for_a_narrow_terminal"
    entities = demo / "flows" / "shop" / "entities"
    (entities / "orders.yml").rename(entities / f"{long_name}.yml")
    (demo / "data/shop/orders").rename(demo / f"data/shop/{long_name}")
    result = proc.run(demo, "go", "--flow", "shop", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert any(line.endswith(f"shop.{long_name}") for line in lines), result.stdout
    assert "4,000 rows in" in result.stdout
    wide = proc.run(demo, "go", "--flow", "shop", env={"COLUMNS": "200"})
    assert f"│ shop.{long_name} │" in wide.stdout  # a table when it fits


def test_on_a_terminal_each_entity_has_a_line_with_its_phase_amounts_share_and_eta(
    demo: Path,
) -> None:
    """What Rich's Progress draws, at 80 columns: queued entities, and for a running one its
    phase, rows and megabytes, rates, and % with ETA once the total is known."""
    import io

    from rich.console import Console

    from hygge.cli.live import TerminalProgress

    plan = hygge.run(demo, flows="shop", dry_run=True)
    orders, _ = plan.entities
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    progress = TerminalProgress(console, quiet=False)
    progress.run_started("r1", plan.entities)
    progress.entity_started(orders)
    progress.entity_phase(orders, "writing")
    progress.entity_total(orders, 1_000_000)
    progress.entity_rows(orders, 25_000, 3_500_000)
    drawn = Console(file=io.StringIO(), width=80, record=True)
    drawn.print(progress.progress.get_renderable())
    lines = drawn.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "shop.orders" in text and "shop.products" in text
    assert re.search(r"writing .*ETA \d:\d\d:\d\d", text), text
    assert re.search(r"  2%\s+25\.0k rows\s+3\.5 MB", text), text
    assert re.search(r"[\d.,]+[kMG]? rows/s\s+[\d.,]+ MB/s", text), text
    assert "queued" in text
