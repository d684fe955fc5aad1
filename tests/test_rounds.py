"""`hygge go --round ID`: workers on several "machines" (copies of the project folder, one
PostgreSQL journal) share a round: every entity is loaded once, by one of them."""

from __future__ import annotations

import json
import secrets
import shutil
from collections import Counter
from pathlib import Path

import polars as pl

from tests.conftest import read_lake
from tests.proc import finish, run, start, start_paused

ENTITIES = 40
WORKERS = 4


def machine(folder: Path, url: str, schema: str, lake: Path) -> Path:
    names = ", ".join(f"e{n:02d}" for n in range(ENTITIES))
    (folder / "flows" / "f").mkdir(parents=True)
    (folder / "hygge.yml").write_text(
        "name: shop\noptions: {concurrency: 2}\n"
        "connections:\n  jdb: {type: postgres, url: '${JOURNAL_URL}'}\n"
        f"journal: {{type: postgres, connection: jdb, schema: {schema}}}\n"
    )
    (folder / ".env").write_text(f"JOURNAL_URL={url}\n")
    (folder / "flows" / "f" / "flow.yml").write_text(
        'home: {type: parquet, path: "data/{entity}"}\n'
        f"store: {{type: parquet, path: '{lake}'}}\nbatch_rows: 10\n"
        "primary_key: [id]\nwatermark: {column: id}\n"
        f"entities: [{names}]\n"
    )
    for n in range(ENTITIES):
        data = folder / "data" / f"e{n:02d}"
        data.mkdir(parents=True)
        pl.DataFrame({"id": range(n + 20)}).write_parquet(data / "0.parquet")
    return folder


def machines(tmp_path: Path, url: str, count: int) -> tuple[list[Path], Path]:
    lake, schema = tmp_path / "lake", f"r_{secrets.token_hex(5)}"
    first = machine(tmp_path / "m0", url, schema, lake)
    others = [tmp_path / f"m{n}" for n in range(1, count)]
    for folder in others:
        shutil.copytree(first, folder)
    return [first, *others], lake


def round_history(root: Path, round_id: str) -> list[dict]:
    done = run(root, "history", "--round", round_id, "--json", "--limit", "1000")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_four_workers_load_every_entity_of_a_round_once(tmp_path: Path, postgres_url: str) -> None:
    roots, lake = machines(tmp_path, postgres_url, WORKERS)
    workers = [start(root, "go", "--round", "2026-12-03", "--json") for root in roots]
    outcomes = [finish(worker) for worker in workers]

    assert {code for code, _, _ in outcomes} <= {0, 75}, [err for _, _, err in outcomes]
    ran = Counter()
    for _, out, _ in outcomes:
        for entity in json.loads(out)["entities"]:
            assert entity["status"] in ("success", "skipped"), entity
            if entity["status"] == "success":
                ran[entity["entity"]] += 1
    assert ran == Counter({f"f.e{n:02d}": 1 for n in range(ENTITIES)})
    for n in range(ENTITIES):
        assert sorted(read_lake(lake / f"e{n:02d}")["id"]) == list(range(n + 20))
    history = round_history(roots[0], "2026-12-03")
    assert Counter(h["entity"] for h in history if h["status"] == "success") == ran
    assert round_history(roots[0], "another day") == []

    again = run(roots[1], "go", "--round", "2026-12-03")
    assert again.returncode == 75, again.stdout + again.stderr  # nothing left to do
    assert len(round_history(roots[0], "2026-12-03")) == len(history)


def test_a_worker_killed_mid_round_leaves_its_entity_to_another(
    tmp_path: Path, postgres_url: str
) -> None:
    (killed_root, other), lake = machines(tmp_path, postgres_url, 2)
    killed = start_paused(killed_root, tmp_path / "paused", "go", "--round", "r1")

    killed.kill()
    killed.wait()
    survivor = run(other, "go", "--round", "r1", "--json")

    assert survivor.returncode == 0, survivor.stdout + survivor.stderr
    for n in range(ENTITIES):
        assert sorted(read_lake(lake / f"e{n:02d}")["id"]) == list(range(n + 20))
    history = round_history(other, "r1")
    done = Counter(h["entity"] for h in history if h["status"] == "success")
    assert done == Counter({f"f.e{n:02d}": 1 for n in range(ENTITIES)})
