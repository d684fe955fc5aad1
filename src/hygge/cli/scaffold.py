"""`hygge init`: a project that runs as it is, on sample data, with no server, and beside it
(under examples/, which no run reads) a SQL Server to Fabric flow to fill in."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from hygge.cli.sample import write_sample
from hygge.config.jsonschema import MODELS, ConfigKind, config_schema
from hygge.errors import UsageError

HYGGE_YML = """\
# The project: its name and options shared by every flow.
name: {name}
options:
  concurrency: 4          # entities moved at the same time
  continue_on_error: true # one failed entity does not stop the others
"""

CRM_FLOW = """\
# Customers arrive as CSV exports; they land in the lake as parquet.
home:
  type: csv
  path: data/crm/{{entity}}.csv
store:
  type: parquet
  path: lake/crm
run_type: full_drop
entities: [customers]
"""

SHOP_FLOW = """\
# The shop's tables, already parquet; each entity gets its own folder in the lake.
# An entity with a watermark runs incrementally; one without is copied in full.
home:
  type: parquet
  path: data/shop/{{entity}}
store:
  type: parquet
  path: lake/shop
defaults:
  batch_rows: 50000
"""

PRODUCTS_ENTITY = """\
# data/shop/products is one file; the lake keeps a full copy.
home:
  path: data/shop/products.parquet
"""

ORDERS_ENTITY = """\
# data/shop/orders holds one parquet file per month. Each run appends the rows changed
# since the last one (a lake keeps every version of an order; the warehouse flow upserts
# them on order_id): see `hygge history` and `hygge journal show`.
watermark:
  column: updated_at
batch_rows: 1000
"""

WAREHOUSE_FLOW = """\
# The shop's orders upserted into a DuckDB database: each run merges the orders changed since
# the last one on order_id. Query it with: duckdb warehouse.duckdb "select count(*) from orders"
home:
  type: parquet
  path: data/shop/{{entity}}
store:
  type: duckdb
  path: warehouse.duckdb
  table: "{{entity}}"
run_type: merge
primary_key: [order_id]
watermark:
  column: updated_at
entities: [orders]
"""

FABRIC_FLOW = """\
# SQL Server (or Azure SQL) into Microsoft Fabric by open mirroring: a full copy once, then
# the rows changed since the last run (every hour, say, from cron or a scheduler). Fabric
# merges what lands into a mirrored table per entity, on its primary_key.
#
# To use it:
#   1. Create a mirrored database in Fabric ("Open mirroring") and copy its landing zone URL.
#   2. Add two connections to hygge.yml; secrets come from the environment, never the file:
#        connections:
#          sqlserver:
#            type: mssql
#            host: <server>.database.windows.net   # or an on-premises host (port: 1433)
#            database: <database>
#            authentication: ActiveDirectoryServicePrincipal  # or sql (user, password),
#            tenant_id: <tenant id>                            # ActiveDirectoryDefault,
#            client_id: <client id>                            # ActiveDirectoryManagedIdentity
#            client_secret: ${SQL_CLIENT_SECRET}
#          onelake:
#            type: azure
#            tenant_id: <tenant id>
#            client_id: <client id>
#            client_secret: ${ONELAKE_CLIENT_SECRET}
#   3. Fill in each <...> below, move this folder to flows/sqlserver_to_fabric/, then:
#        hygge debug                              # connections, tables, columns; no rows
#        hygge go --flow sqlserver_to_fabric      # the first run copies each table in full
home:
  type: mssql
  connection: sqlserver
  table: "dbo.{entity}"
store:
  type: open_mirroring
  connection: onelake
  path: "<landing zone URL: abfss://...onelake.dfs.fabric.microsoft.com/.../Files/LandingZone>"
  schema: dbo            # tables land in the mirrored database's dbo schema
run_type: incremental
primary_key: [<key column>]   # per table in entities/<table>.yml when the tables differ
watermark:
  column: <last modified column>   # a datetime or rising number each change updates
entities: [<table>]
"""

# The JSON Schemas `hygge schema --config KIND` prints, written into the project for editors:
# the YAML language server (VS Code's YAML extension, and others) reads a file's first-line
# modeline and completes and checks its keys. Paths are relative to the YAML file.
SCHEMA_FILE = "schemas/{kind}.json"
MODELINE = "# yaml-language-server: $schema={path}\n"

GITIGNORE = """\
.hygge/
lake/
warehouse.duckdb*
"""


@dataclass(frozen=True)
class InitResult:
    root: Path
    created: list[Path]
    kept: list[Path]  # already there (with --force): left untouched


def init_project(target: Path, force: bool = False) -> InitResult:
    """Write a runnable sample project at target. Existing files are never overwritten."""
    target = target.resolve()  # `X/new/..` is X: check the folder that will be written
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder", hint="choose another name")
    if target.exists() and any(target.iterdir()) and not force:
        raise UsageError(
            f"{target} already exists and is not empty",
            hint="choose another name, or pass --force to add only the missing files",
        )
    created: list[Path] = []
    kept: list[Path] = []
    for relative, text in _project_files(target).items():
        path = target / relative
        (created if _write_new(path, text) else kept).append(path)
    data = target / "data"
    if os.path.lexists(data):
        kept.append(data)
    else:
        created += write_sample(data)
    return InitResult(target, created, kept)


def _project_files(target: Path) -> dict[str, str]:
    files = {
        "hygge.yml": _with_schema("project", HYGGE_YML.format(name=_project_name(target)), 0),
        ".gitignore": GITIGNORE,
        "flows/crm/flow.yml": _with_schema("flow", CRM_FLOW.format(), 2),
        "flows/shop/flow.yml": _with_schema("flow", SHOP_FLOW.format(), 2),
        "flows/shop/entities/products.yml": _with_schema("entity", PRODUCTS_ENTITY, 3),
        "flows/shop/entities/orders.yml": _with_schema("entity", ORDERS_ENTITY, 3),
        "examples/sqlserver_to_fabric/flow.yml": _with_schema("flow", FABRIC_FLOW, 2),
    }
    if importlib.util.find_spec("duckdb") is not None:  # the `duckdb` extra is installed
        files["flows/warehouse/flow.yml"] = _with_schema("flow", WAREHOUSE_FLOW.format(), 2)
    for kind in MODELS:
        files[SCHEMA_FILE.format(kind=kind)] = json.dumps(config_schema(kind), indent=2) + "\n"
    return files


def _with_schema(kind: ConfigKind, text: str, depth: int) -> str:
    """text with the modeline pointing an editor at its schema, from `depth` folders down."""
    return MODELINE.format(path=("../" * depth or "./") + SCHEMA_FILE.format(kind=kind)) + text


def _write_new(path: Path, text: str) -> bool:
    """Create path with text; False if anything (a file, a link, even a dangling one) is there.

    The exclusive open decides, not an earlier look, so nothing that appears in between is
    overwritten and no link is written through.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x", encoding="utf-8") as file:
                file.write(text)
        except FileExistsError:
            return False
    except OSError as exc:  # e.g. `flows` is a file, or the folder is not writable
        raise UsageError(
            f"cannot write {path}: {exc.strerror}", hint="choose another folder"
        ) from exc
    return True


def _project_name(target: Path) -> str:
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in target.resolve().name)
    return name or "shop"
