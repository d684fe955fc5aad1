"""Secrets never reach output or the journal."""

from __future__ import annotations

import json

from hygge.redact import redact, redact_argv
from tests.proc import history, run


def test_url_passwords_and_secret_vars_are_masked() -> None:
    assert redact("postgresql://app:s3cr@t!@db:5432/x and more") == (
        "postgresql://app:***@db:5432/x and more"
    )
    assert redact_argv(
        ["hygge", "--var", "flow.f.home.password=hunter2", "--var", "flow.f.batch_rows=5"]
    ) == ["hygge", "--var", "flow.f.home.password=***", "--var", "flow.f.batch_rows=5"]


def test_a_canary_password_stays_out_of_output_and_journal(make_project) -> None:
    flow = 'home: {type: csv, path: "data.csv"}\nstore: {type: parquet, path: lake}\n'
    root = make_project({"flows/f/flow.yml": flow})
    (root / "data.csv").write_text("id\n1\n")
    canary = "canary-7f3a9"
    result = run(root, "go", "--var", f"flow.f.home.path=file://u:{canary}@x/data.csv", "--json")
    assert result.returncode == 2  # the path does not exist, and the message says so...
    assert "u:***@x" in result.stderr and canary not in result.stdout + result.stderr
    ok = run(root, "go", "--var", f"flow.f.home.password={canary}", "--var", "flow.f.retries=0")
    assert ok.returncode == 2 and canary not in ok.stdout + ok.stderr  # ...and so on
    # A run that succeeds with the canary on its command line, which the journal records.
    marker = f"flow.f.home.null_values=postgresql://u:{canary}@db/x"
    assert run(root, "go", "--json", "--var", marker).returncode == 0
    assert canary not in json.dumps(history(root))
    assert canary.encode() not in (root / ".hygge/journal.db").read_bytes()
