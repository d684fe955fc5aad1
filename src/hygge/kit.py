"""The plugin kit: every base a home or store of another package builds on, in one place.

A plugin imports from here (and its tests from `hygge.testing`), never from hygge's private
modules, so those can change without breaking it; `tests/test_kit.py` pins these names. The
smallest home is a `Home` with a config and `batches()`; a file format is a `FileHome` with
`scan()` or a `FileStore` with a `FileWriter`; a database is an engine (a `Driver` and a
`Dialect`) under a `ServerHome` and a `SqlStore` with its `SqlLoad`, whose SQL runs on the
driver's cursor as a `Cursor`. See the README, Plugins.
"""

from __future__ import annotations

from hygge.connections import DatabaseConfig
from hygge.engines.cursor import Cursor
from hygge.engines.dialect import SLOT, Dialect
from hygge.engines.driver import Driver, Verdict
from hygge.errors import ConfigError, EntityError, RetryableError, SourceError, StoreError
from hygge.homes._files import FileHome, FileHomeConfig
from hygge.homes._sql import (
    FileDatabaseConfig,
    FileDatabaseHome,
    PartitionedHomeConfig,
    ServerHome,
    ServerHomeConfig,
    SqlHome,
    SqlHomeConfig,
)
from hygge.plugin import Commit, Context, Home, Load, LoadRun, PluginConfig, Store, Window
from hygge.stores._files import FileStore, FileStoreConfig, FileWriter
from hygge.stores._sql import FileDatabaseStore, FileDatabaseStoreConfig, SqlStore, SqlStoreConfig
from hygge.stores._sql_load import FileDatabaseLoad, SqlLoad, StagedLoad
from hygge.watermark import Mark

__all__ = [
    "SLOT",
    "Commit",
    "ConfigError",
    "Context",
    "Cursor",
    "DatabaseConfig",
    "Dialect",
    "Driver",
    "EntityError",
    "FileDatabaseConfig",
    "FileDatabaseHome",
    "FileDatabaseLoad",
    "FileDatabaseStore",
    "FileDatabaseStoreConfig",
    "FileHome",
    "FileHomeConfig",
    "FileStore",
    "FileStoreConfig",
    "FileWriter",
    "Home",
    "Load",
    "LoadRun",
    "Mark",
    "PartitionedHomeConfig",
    "PluginConfig",
    "RetryableError",
    "ServerHome",
    "ServerHomeConfig",
    "SourceError",
    "SqlHome",
    "SqlHomeConfig",
    "SqlLoad",
    "SqlStore",
    "SqlStoreConfig",
    "StagedLoad",
    "Store",
    "StoreError",
    "Verdict",
    "Window",
]
