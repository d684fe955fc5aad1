"""Files a load takes as they are (`Load.refuse_whole`, `Load.copy_in`): when a home's files
need no change to join a file store's folder, their bytes are copied, not re-encoded."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

import polars as pl

from hygge.filesystem import FileSystem
from hygge.plugin import WholeFile
from hygge.stores._file_schema import FolderSchema

COPY_CHUNK = 8 * 2**20  # bytes per read when a whole file is copied across filesystems


def refusal(
    files: Sequence[WholeFile], codecs: frozenset[str], file_rows: int, columns: FolderSchema
) -> str | None:
    """Why the files cannot be taken as they are (None: they can; the folder's columns are
    then theirs): a codec the store does not write, more rows than one of its files holds,
    or columns that differ between them or from the folder's."""
    for file in files:
        if not file.codecs <= codecs:
            return f"{file.path} is {_names(file.codecs)}, not {_names(codecs)}"
        if file.rows > file_rows:
            return f"{file.path} holds {file.rows} rows, more than file_rows ({file_rows})"
    schemas = {tuple(file.schema.items()) for file in files if file.rows}
    if len(schemas) > 1:
        return "the files' columns differ"
    if schemas and not columns.adopts(pl.Schema(schemas.pop())):
        return f"the files' columns differ from those of {columns.where}"
    return None


def copy(file: WholeFile, fs: FileSystem, target: str) -> None:
    """file's bytes into target (OSError as it comes): a local copy the kernel makes, else
    streamed in chunks between the two filesystems."""
    if file.local and fs.is_local:
        shutil.copyfile(file.path, target)
        return
    with file.open() as source, fs.open_write(target) as sink:
        shutil.copyfileobj(source, sink, COPY_CHUNK)


def _names(codecs: frozenset[str]) -> str:
    return "/".join(sorted(codecs))
