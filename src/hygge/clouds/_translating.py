"""An fsspec filesystem whose cloud library's own errors arrive as OSErrors.

hygge's file plugins catch OSError wherever a filesystem can fail. A cloud library that
raises its own exception types (adlfs passes azure-core's through) is wrapped here, its
filesystem and the files it opens, so that every error reaches them translated by the cloud
module's `translate` (None: not the library's, raised as it is).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

Translate = Callable[[BaseException], OSError | None]


def _guarded(method: Callable[..., Any], translate: Translate) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from exc

    return call


class TranslatingFile:
    """A file of the wrapped filesystem: its reads, writes and close translated."""

    def __init__(self, handle: Any, translate: Translate) -> None:
        self._handle = handle
        self._translate = translate

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._handle, name)
        return _guarded(found, self._translate) if callable(found) else found

    def __enter__(self) -> TranslatingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Any:
        return iter(self._handle)


class TranslatingFileSystem:
    """The wrapped filesystem: every method translated, `open` giving TranslatingFiles."""

    def __init__(self, fs: Any, translate: Translate) -> None:
        self._fs = fs
        self._translate = translate

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._fs, name)
        if not callable(found):
            return found
        guarded = _guarded(found, self._translate)
        if name != "open":
            return guarded
        return lambda *args, **kwargs: TranslatingFile(guarded(*args, **kwargs), self._translate)
