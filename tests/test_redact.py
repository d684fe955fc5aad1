"""Secrets never reach output or the journal."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from hygge.redact import (
    MASK,
    RedactingFilter,
    redact,
    redact_argv,
    remember_secret,
    remember_url,
    value_sample,
)
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


def test_remembered_secrets_are_masked_with_the_pieces_a_url_parser_cuts() -> None:
    remember_secret("Wh1te Rabbit@Hole%77")
    said = (
        'unexpected spaces found in "Wh1te Rabbit", could not translate host name'
        ' "Hole%77@db", and Wh1te%20Rabbit%40Hole%2577 encoded, Wh1te Rabbit@Hole%77 whole'
    )
    masked = redact(said)
    for piece in ("Wh1te", "Rabbit", "Hole%77", "Hole%2577"):
        assert piece not in masked, masked
    assert masked.count(MASK) == 4


def test_short_values_mask_nothing() -> None:
    for value in ("", "a", "ab", "x@y"):  # "x@y": its pieces are too short too
        remember_secret(value)
    text = "a table named ab, read by x and y"
    assert redact(text) == text


def test_a_whole_url_is_masked_when_its_shape_hides_the_password() -> None:
    url = "postgresql://app:Zq9 x@Kv/Wm7@db.example:5432/shop"  # a space, '/' and '@' unescaped
    remember_url(url)
    assert "Zq9 x" not in redact(f"cannot connect to {url}")
    assert "Zq9 x" not in redact('unexpected spaces found in "Zq9 x@Kv/Wm7"')
    assert "Kv/Wm7" not in redact('could not translate host name "Kv/Wm7@db.example"')


def test_a_password_given_as_a_query_parameter_is_masked() -> None:
    url = "postgresql://app@db/shop?sslmode=require&password=Qu3ry-Secret"
    assert redact(url) == "postgresql://app@db/shop?sslmode=require&password=***"
    remember_url(url)
    assert redact('FATAL: password "Qu3ry-Secret" refused') == 'FATAL: password "***" refused'


def test_log_lines_pass_through_redact() -> None:
    remember_secret("L0gged-Secret")
    record = logging.LogRecord(
        "hygge", logging.WARNING, "x", 1, "retrying %s", ("L0gged-Secret",), None
    )
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"retrying {MASK}"


def test_secrets_remembered_by_many_threads_are_all_masked() -> None:
    secrets = [f"thread-secret-{i:03d}" for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(remember_secret, secrets))
        masked = list(pool.map(redact, secrets))
    assert masked == [MASK] * len(secrets)


def test_a_value_sample_is_short_and_never_from_a_secret_looking_column() -> None:
    assert value_sample("name", repr("bad\x00")) == "'bad\\x00'"
    long = value_sample("comment", repr("x" * 100))
    assert len(long) == 48 and long.endswith("...")
    for column in ("password", "API_KEY", "refresh_token", "client_secret"):
        assert value_sample(column, "'hunter2'") == "not shown: the column's name looks secret"
