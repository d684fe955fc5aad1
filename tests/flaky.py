"""A test-only home that fails transiently a set number of times, then reads a parquet file."""

from __future__ import annotations

from collections.abc import Generator
from typing import Literal

import polars as pl

from hygge.errors import RetryableError
from hygge.plugin import Home, PluginConfig, Window

ATTEMPTS: dict[str, int] = {}


class FlakyHomeConfig(PluginConfig):
    type: Literal["flaky"] = "flaky"
    path: str
    failures: int = 1


class FlakyHome(Home[FlakyHomeConfig]):
    """Yields one batch, then fails `failures` times before succeeding."""

    Config = FlakyHomeConfig

    def describe(self) -> str:
        return self.config.path

    def check(self) -> list[str]:
        return []

    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        frame = pl.read_parquet(self.context.resolve(self.config.path))
        yield frame.head(1)
        ATTEMPTS[self.config.path] = ATTEMPTS.get(self.config.path, 0) + 1
        if ATTEMPTS[self.config.path] <= self.config.failures:
            raise RetryableError("the network hiccupped")
        yield frame.slice(1)
