"""Polish: destination names, hash ids and load columns, applied on the way to the store."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, date, datetime

import duckdb
import polars as pl
import pytest
import xxhash

from hygge.config.models import HashAlgorithm, Polish
from hygge.errors import ConfigError
from hygge.polish import Polisher, hash_id, normalised
from tests.conftest import read_lake

STARTED = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "snake", "camel", "pascal"),
    [
        ("OrderID", "order_id", "orderId", "OrderId"),
        ("customerName", "customer_name", "customerName", "CustomerName"),
        ("Order Date", "order_date", "orderDate", "OrderDate"),
        ("HTTPServer", "http_server", "httpServer", "HttpServer"),
        ("address1", "address1", "address1", "Address1"),
        ("line2Total", "line2_total", "line2Total", "Line2Total"),
        ("ÄrgerNäme", "ärger_näme", "ärgerNäme", "ÄrgerNäme"),
        ("already_snake", "already_snake", "alreadySnake", "AlreadySnake"),
    ],
)
def test_case_rules_split_names_into_words(name: str, snake: str, camel: str, pascal: str) -> None:
    assert normalised(name, Polish(case="snake")) == snake
    assert normalised(name, Polish(case="camel")) == camel
    assert normalised(name, Polish(case="pascal")) == pascal


def test_spaces_specials_and_length_follow_their_switches() -> None:
    assert normalised("total  €(net)", Polish()) == "total  €(net)"
    assert normalised("total  €(net)", Polish(remove_spaces=True)) == "total_€(net)"
    assert normalised("total  €(net)", Polish(remove_special=True)) == "total  net"
    both = Polish(remove_spaces=True, remove_special=True, max_length=7, case="upper")
    assert normalised("total  €(net)", both) == "TOTAL_N"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def xxh64(text: str) -> int:
    """XXH64 (seed 0) by the xxhash package, read as a signed 64-bit integer."""
    value = xxhash.xxh64_intdigest(text.encode())
    return value - 2**64 if value >= 2**63 else value


def hashes(frame: pl.DataFrame, *columns: str, algorithm: HashAlgorithm = "sha256") -> list:
    return frame.select(hash_id(columns, frame, algorithm)).to_series().to_list()


def test_a_hash_id_is_sha256_of_a_documented_canonical_text() -> None:
    frame = pl.DataFrame(
        {"id": [7, None, 7], "name": ["ab", "ab", ""], "ok": [True, False, None]},
        schema={"id": pl.Int32, "name": pl.String, "ok": pl.Boolean},
    )
    assert hashes(frame, "id", "name", "ok") == [
        sha("1:7,2:ab,4:true"),
        sha("~,2:ab,5:false"),
        sha("1:7,0:,~"),  # '' and NULL hash differently
    ]


def test_a_hash_id_is_the_same_for_one_value_in_any_width_or_unit() -> None:
    instant = datetime(2026, 1, 2, 3, 4, 5, 123456)
    narrow = pl.DataFrame(
        {"n": [5], "at": [instant], "d": [date(2026, 1, 2)]},
        schema={"n": pl.Int16, "at": pl.Datetime("us"), "d": pl.Date},
    )
    wide = narrow.cast({"n": pl.Int64, "at": pl.Datetime("ns")})
    zoned = pl.DataFrame(
        {"n": [5], "at": [instant.replace(tzinfo=UTC)], "d": [date(2026, 1, 2)]},
        schema={"n": pl.UInt64, "at": pl.Datetime("ms", "UTC"), "d": pl.Date},
    )
    expected = [sha("1:5,29:2026-01-02T03:04:05.123456000,10:2026-01-02")]
    assert hashes(narrow, "n", "at", "d") == expected
    assert hashes(wide, "n", "at", "d") == expected
    truncated = [sha("1:5,29:2026-01-02T03:04:05.123000000,10:2026-01-02")]
    assert hashes(zoned, "n", "at", "d") == truncated  # ms keeps three digits


def test_an_xxh64_hash_id_is_xxh64_of_the_same_canonical_text_as_a_signed_integer() -> None:
    frame = pl.DataFrame(
        {"id": [7, None, 7], "name": ["ab", "ab", ""], "ok": [True, False, None]},
        schema={"id": pl.Int32, "name": pl.String, "ok": pl.Boolean},
    )
    expected = [xxh64("1:7,2:ab,4:true"), xxh64("~,2:ab,5:false"), xxh64("1:7,0:,~")]
    assert expected == [-3327956945555676953, 3243583762296513769, -411846785387971397]
    assert hashes(frame, "id", "name", "ok", algorithm="xxh64") == expected  # '' != NULL
    hashed = frame.select(hash_id(["id"], frame, "xxh64"))
    assert hashed.dtypes == [pl.Int64]


def test_an_xxh64_hash_id_is_the_same_for_one_value_in_any_width_or_unit() -> None:
    instant = datetime(2026, 1, 2, 3, 4, 5, 123456)
    narrow = pl.DataFrame(
        {"n": [5], "at": [instant], "d": [date(2026, 1, 2)]},
        schema={"n": pl.Int32, "at": pl.Datetime("us"), "d": pl.Date},
    )
    wide = narrow.cast({"n": pl.Int64, "at": pl.Datetime("ns")})
    expected = [xxh64("1:5,29:2026-01-02T03:04:05.123456000,10:2026-01-02")]
    assert expected == [7937493605170129770]
    assert hashes(narrow, "n", "at", "d", algorithm="xxh64") == expected
    assert hashes(wide, "n", "at", "d", algorithm="xxh64") == expected
    zoned = narrow.cast({"at": pl.Datetime("ms")}).with_columns(
        pl.col("at").dt.replace_time_zone("UTC")
    )
    truncated = [xxh64("1:5,29:2026-01-02T03:04:05.123000000,10:2026-01-02")]
    assert hashes(zoned, "n", "at", "d", algorithm="xxh64") == truncated


def test_two_columns_polished_into_one_name_are_refused_naming_both() -> None:
    polisher = Polisher(Polish(case="snake"), "r1", STARTED)
    with pytest.raises(ConfigError, match="'Order Date' and 'order_date' would both be named"):
        polisher.apply(pl.DataFrame({"Order Date": [1], "order_date": [2]}))
    added = Polisher(Polish(constants={"id": 1}), "r1", STARTED)
    with pytest.raises(ConfigError, match="added column 'id' has the name of source column"):
        added.apply(pl.DataFrame({"id": [1]}))


FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: parquet, path: lake}
defaults:
  polish:
    case: snake
    remove_spaces: true
    hash_ids: {order_key: [OrderID, Region]}
    constants: {source_system: erp}
    timestamps: {loaded_at: run_start}
    run_id: hygge_run
entities:
  - name: orders
    primary_key: [OrderID]
    watermark: {column: UpdatedAt}
    polish: {rename: {Region: sales_region}}
"""


def orders(ids: range, at: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "OrderID": list(ids),
            "Region": ["north" if i % 2 else "south" for i in ids],
            "Order Total": [float(i) for i in ids],
            "UpdatedAt": [at] * len(ids),
        }
    )


def test_a_flow_writes_polished_names_and_columns_and_reads_on_by_source_names(
    make_project, hygge_cli
) -> None:
    root = make_project({"flows/shop/flow.yml": FLOW})
    (root / "data/orders").mkdir(parents=True)
    orders(range(5), STARTED).write_parquet(root / "data/orders/a.parquet")
    first = hygge_cli("go", "--json", cwd=root)
    assert first.exit_code == 0, first.output
    orders(range(5, 8), datetime(2026, 12, 4, tzinfo=UTC)).write_parquet(
        root / "data/orders/b.parquet"
    )
    second = hygge_cli("go", "--json", cwd=root)
    assert second.exit_code == 0, second.output

    lake = read_lake(root / "lake/orders").sort("order_id")
    assert lake.columns == [
        "order_id", "sales_region", "order_total", "updated_at",
        "order_key", "source_system", "loaded_at", "hygge_run",
    ]  # fmt: skip
    assert lake["order_id"].to_list() == list(range(8))  # the watermark read on: no row twice
    assert lake["order_key"][0] == sha("1:0,5:south")
    assert set(lake["source_system"]) == {"erp"}
    runs = [json.loads(r.stdout)["run_id"] for r in (first, second)]
    assert set(lake["hygge_run"]) == set(runs)
    assert lake.schema["loaded_at"] == pl.Datetime("us", "UTC")


XXH64_FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: sqlite, path: shop.db, table: "{entity}"}
polish:
  hash_ids:
    order_key: {columns: [OrderID, Region], algorithm: xxh64}
    order_sha: [OrderID, Region]
entities: [orders]
"""


def test_an_xxh64_hash_id_lands_as_a_bigint_in_a_database_store(make_project, hygge_cli) -> None:
    root = make_project({"flows/shop/flow.yml": XXH64_FLOW})
    (root / "data/orders").mkdir(parents=True)
    orders(range(3), STARTED).write_parquet(root / "data/orders/a.parquet")
    shown = hygge_cli("go", "--dry-run", "-v", cwd=root)
    assert "order_key int64  (added)" in shown.stdout, shown.output
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(root / "shop.db") as con:
        rows = con.execute("SELECT order_key, order_sha FROM orders ORDER BY OrderID").fetchall()
    regions = ["south", "north", "south"]
    assert rows == [(xxh64(f"1:{i},5:{r}"), sha(f"1:{i},5:{r}")) for i, r in enumerate(regions)]


@pytest.mark.parametrize(
    ("hashed", "message"),
    [
        (
            "{columns: [OrderID], algorithm: md5}",
            "hash_ids.k.algorithm': Input should be 'sha256' or 'xxh64'",
        ),
        ("{columns: [], algorithm: xxh64}", "hash id 'k' lists no columns to hash"),
    ],
)
def test_a_bad_hash_id_is_refused_before_anything_runs(
    make_project, hygge_cli, hashed: str, message: str
) -> None:
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    flow += f"polish: {{hash_ids: {{k: {hashed}}}}}\n"
    root = make_project({"flows/shop/flow.yml": flow})
    (root / "data").mkdir()
    orders(range(2), STARTED).write_parquet(root / "data/a.parquet")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2
    assert message in result.output and "flow.yml" in result.output
    assert not (root / "lake").exists()


MERGE_FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: duckdb, path: shop.duckdb, table: "{entity}"}
defaults:
  polish: {case: snake}
entities:
  - name: orders
    run_type: merge
    primary_key: [OrderID]
    watermark: {column: UpdatedAt}
"""


def test_merge_keys_on_the_destination_names_of_the_source_key(make_project, hygge_cli) -> None:
    root = make_project({"flows/shop/flow.yml": MERGE_FLOW})
    (root / "data/orders").mkdir(parents=True)
    orders(range(4), STARTED).write_parquet(root / "data/orders/a.parquet")
    assert hygge_cli("go", cwd=root).exit_code == 0
    changed = orders(range(2, 6), datetime(2026, 12, 4, tzinfo=UTC))
    changed.with_columns(pl.lit("west").alias("Region")).write_parquet(
        root / "data/orders/b.parquet"
    )
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(root / "shop.duckdb"), read_only=True) as con:
        rows = con.sql("SELECT order_id, region FROM orders ORDER BY order_id").fetchall()
    assert rows == [(0, "south"), (1, "north"), (2, "west"), (3, "west"), (4, "west"), (5, "west")]


def test_a_collision_fails_the_entity_and_publishes_nothing(make_project, hygge_cli) -> None:
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    flow += "polish: {case: lower}\n"
    root = make_project({"flows/shop/flow.yml": flow})
    (root / "data").mkdir()
    pl.DataFrame({"Id": [1], "ID": [2]}).write_parquet(root / "data/a.parquet")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 1
    assert "'Id' and 'ID' would both be named 'id'" in result.output
    assert not (root / "lake").exists() or not list((root / "lake").rglob("*.parquet"))


def test_an_unknown_polish_key_is_refused_where_it_is_written(make_project, hygge_cli) -> None:
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    flow += "polish: {case: snake, snake_case: true}\n"
    root = make_project({"flows/shop/flow.yml": flow})
    (root / "data").mkdir()
    pl.DataFrame({"Id": [1]}).write_parquet(root / "data/a.parquet")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2
    assert "snake_case" in result.output and "flow.yml" in result.output


def test_dry_run_verbose_shows_the_destination_columns_after_polish(
    make_project, hygge_cli
) -> None:
    root = make_project({"flows/shop/flow.yml": FLOW})
    (root / "data/orders").mkdir(parents=True)
    orders(range(2), STARTED).write_parquet(root / "data/orders/a.parquet")
    shown = hygge_cli("go", "--dry-run", "-v", cwd=root)
    assert shown.exit_code == 0, shown.output
    assert "order_id int64  (OrderID)" in shown.stdout
    assert "order_key string  (added)" in shown.stdout
    as_json = hygge_cli("go", "--dry-run", "-v", "--json", cwd=root)
    columns = json.loads(as_json.stdout)["entities"][0]["columns"]
    assert [c["destination"] for c in columns] == [
        "order_id", "sales_region", "order_total", "updated_at",
        "order_key", "source_system", "loaded_at", "hygge_run",
    ]  # fmt: skip
    assert (
        not (root / "lake").exists()
        and "destination columns" not in hygge_cli("go", "--dry-run", cwd=root).stdout
    )
