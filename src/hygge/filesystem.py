"""One filesystem interface for file homes and stores: a local disk or object storage.

Built on fsspec; a cloud's filesystem and credentials come from its module in
`hygge.clouds`. Paths go in and come out as written, with their scheme (`s3://bucket/key`),
so Polars can read what a listing found. Object storage has no folders: making one is a
no-op there, and a folder exists while an object lies under its prefix. The one operation
fsspec lacks is a swap of two folders, which a local full_drop uses (`hygge.folder_swap`).
"""

from __future__ import annotations

import os
import posixpath
import stat
import uuid
from pathlib import PurePosixPath
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from hygge.clouds import cloud_of
from hygge.clouds.identity import object_identity
from hygge.config.connection_models import CloudConnection
from hygge.errors import SourceError, StoreError
from hygge.folder_swap import restore, swap

GLOB_CHARS = "*?["


def is_hidden(name: str) -> bool:
    """Hidden and private entries (staging, _SUCCESS, .crc) are never data."""
    return name.startswith((".", "_"))


class FileSystem:
    """A path's filesystem, with the handful of operations hygge needs."""

    def __init__(self, path: str, credentials: CloudConnection | None = None) -> None:
        cloud = cloud_of(path)
        if cloud is None:
            self.fs, _ = fsspec.core.url_to_fs(path)
            self.scan_options: dict[str, str] | None = None
        else:
            self.fs = cloud.filesystem(credentials, path)
            self.scan_options = cloud.polars_options(credentials, path)  # Polars' readers
        self.is_local = isinstance(self.fs, LocalFileSystem)
        # A listing names `bucket/key`; a URL as written may say more about the bucket
        # (`abfss://container@account.dfs.core.windows.net/key`): listed paths get it back.
        scheme, _, rest = path.partition("://") if not self.is_local else ("", "", "")
        self.authority = f"{scheme}://{rest.partition('/')[0]}" if scheme else ""
        self.bucket = str(self.fs._strip_protocol(self.authority)) if scheme else ""

    def retried_requests(self) -> int:
        """How many requests the cloud answered with throttling or a server error and
        were retried, so far (0 on a local disk)."""
        return int(getattr(self.fs, "retried", 0))

    def url(self, path: str) -> str:
        """A listed path as Polars and messages want it: written as the store's or home's
        own URL is (scheme, and the bucket as it was named)."""
        if not self.authority or "://" in path:
            return path
        bucket, slash, key = path.partition("/")
        if bucket == self.bucket:
            return f"{self.authority}{slash}{key}"
        return f"{self.authority.partition('://')[0]}://{path}"

    def bare(self, path: str) -> str:
        """path without its scheme, as fsspec's listings name it."""
        return str(self.fs._strip_protocol(path)) if self.authority else path

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def is_file(self, path: str) -> bool:
        return bool(self.fs.isfile(path))

    def data_files(self, pattern: str, suffixes: tuple[str, ...]) -> list[str]:
        """The data files a path names: one file, a folder (recursively) or a glob; sorted.

        Hidden or `_`-prefixed files and folders are skipped at any depth below the base. A
        named pipe, socket or device among them is an error naming it: read, it would block
        or never end; skipped, a source would silently read as empty.
        """
        return list(self.data_file_infos(pattern, suffixes))

    def data_file_infos(self, pattern: str, suffixes: tuple[str, ...]) -> dict[str, Any]:
        """data_files with what one listing tells of each (size, modification time): one
        recursive listing, not a request per file, which counts on object storage."""
        bare = self.bare(pattern)
        if any(c in pattern for c in GLOB_CHARS):
            found = self.fs.glob(pattern, detail=True)
            files = sorted(p for p in found if not _hidden_below(p, glob_base(bare)))
        elif not self.is_local:  # one listing of the prefix, which names an object itself too
            found = self.fs.find(pattern, detail=True)
            if list(found) != [bare]:
                found = {p: info for p, info in found.items() if p.endswith(suffixes)}
            files = sorted(p for p in found if p == bare or not _hidden_below(p, bare))
        elif self.fs.isdir(pattern):
            found = self.fs.find(pattern, detail=True)
            found = {p: info for p, info in found.items() if p.endswith(suffixes)}
            files = sorted(p for p in found if not _hidden_below(p, bare))
        elif self.fs.exists(pattern):
            found, files = {bare: self.fs.info(pattern)}, [bare]
        else:
            return {}
        for path in files:
            if found[path]["type"] not in ("file", "directory"):
                raise SourceError(
                    f"home path {self.url(path)} is {_kind(found[path])}, not a regular file",
                    hint="point the home at regular files, or move it out of the folder",
                )
        return {self.url(p): found[p] for p in files if found[p]["type"] == "file"}

    def listing(self, pattern: str, suffixes: tuple[str, ...]) -> list[tuple[str, int, int]]:
        """(path, size, modification time in ns) of each data file, from one listing (a
        local file's times from a stat, which has nanoseconds)."""
        found = self.data_file_infos(pattern, suffixes)
        if self.is_local:
            return [(path, *self.size_and_mtime(path)) for path in found]
        return [(path, *size_and_mtime(info)) for path, info in found.items()]

    def size_and_mtime(self, path: str) -> tuple[int, int]:
        """A file's size and modification time (nanoseconds since the epoch)."""
        if self.is_local:
            stat = os.stat(path)
            return stat.st_size, stat.st_mtime_ns
        return size_and_mtime(self.fs.info(path))

    def makedirs(self, path: str) -> None:
        if self.is_local:  # object storage has no folders (and s3fs would create a bucket)
            self.fs.makedirs(path, exist_ok=True)

    def open_write(self, path: str) -> IO[bytes]:
        return self.fs.open(path, "wb")  # type: ignore[no-any-return]

    def move(self, source: str, target: str) -> None:
        self.fs.mv(source, target)

    def move_folder(self, source: str, target: str, deleted_first: str = "") -> None:
        """Rename a folder. Object storage has no folders: there its objects are all copied,
        then deleted, those under `deleted_first` (a folder inside it) before the others. So
        a crash while copying leaves the source whole, and one while deleting a whole target
        and a source without its `deleted_first` (a commit record, which marks a source
        still to be moved)."""
        if self.is_local:
            self.fs.mv(source, target)
            return
        bare = self.bare(source).rstrip("/")
        relative = sorted(str(path)[len(bare) + 1 :] for path in self.fs.find(source))
        for name in relative:
            self.fs.copy(f"{bare}/{name}", f"{target}/{name}")
        first = [n for n in relative if deleted_first and n.startswith(f"{deleted_first}/")]
        for name in first + [n for n in relative if n not in first]:
            self.fs.rm_file(f"{bare}/{name}")

    def remove_tree(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def remove_leftover(self, path: str) -> None:
        """Remove a folder hygge left behind, making its folders writable first where they are
        not (a destination made read-only ends up beside it once a full_drop swapped it out)."""
        try:
            self.remove_tree(path)
        except PermissionError:
            if not self.is_local:
                raise
            _let_owner_change(path)
            for top, names, _ in os.walk(path):  # top-down: a folder opens before it is entered
                for name in names:
                    _let_owner_change(os.path.join(top, name))
            self.remove_tree(path)

    def some_files(self, path: str, limit: int, skip: str) -> list[str]:
        """Up to limit files under path (relative, sorted by folder), not looking into `skip`;
        a walk that stops early, as path may be large."""
        found: list[str] = []
        if not self.is_local:
            base = self.bare(path)
            found = [PurePosixPath(p).relative_to(base).as_posix() for p in self.fs.find(path)]
            return [name for name in found if name.split("/")[0] != skip][:limit]
        for top, folders, files in os.walk(path):
            folders[:] = sorted(f for f in folders if not (top == path and f == skip))
            found += [os.path.relpath(os.path.join(top, f), path) for f in sorted(files)]
            if len(found) >= limit:
                break
        return found[:limit]

    def folders_below(self, path: str) -> list[str]:
        """Every folder inside path, at any depth, parents first (local; elsewhere none)."""
        if not self.is_local:
            return []
        return [os.path.join(top, name) for top, names, _ in os.walk(path) for name in names]

    def unchangeable(self, folders: list[str]) -> str | None:
        """The first existing folder of folders whose entries this process cannot add or
        remove (local; elsewhere the write itself reports it)."""
        if not self.is_local:
            return None
        for folder in folders:
            if os.path.isdir(folder) and not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
                return folder
        return None

    def list_names(self, folder: str) -> list[str]:
        if not self.fs.isdir(folder):
            return []
        return sorted(PurePosixPath(p).name for p in self.fs.ls(folder, detail=False))

    def exchange(self, staged: str, target: str) -> None:
        """Make `staged` the content of `target`; the old content ends at `staged`.

        A reader of target sees the old folder or the new one, never a mix (see
        `hygge.folder_swap` for where a reader may find no folder for an instant).
        """
        if not self.is_local:
            raise StoreError(f"atomic replace is not supported on {self.fs.protocol} yet")
        if not os.path.exists(target):
            os.rename(staged, target)
            os.makedirs(staged)  # keep the contract: the old (empty) content ends at staged
            return
        swap(staged, target)

    def restore_swapped(self, target: str) -> bool:
        """Put back a destination a crash left aside in the middle of a two-step swap."""
        return self.is_local and restore(target)

    def nearest_existing(self, path: str) -> str:
        """path itself or its closest ancestor that exists."""
        existing = path
        while not self.fs.exists(existing):
            parent = str(PurePosixPath(existing).parent)
            if parent == existing:
                break
            existing = parent
        return existing

    def folder_problem(self, path: str) -> str | None:
        """Why path can't be (or become) a folder: it, or an ancestor, is a file (local; on
        object storage a prefix can always take objects, and this is asked before any
        connection is opened)."""
        if not self.is_local:
            return None
        existing = self.nearest_existing(path)
        if self.fs.isfile(existing):
            return f"{existing} is a file, not a folder"
        return None

    def probe_writable(self, path: str) -> str | None:
        """Why path can't take new files (None when it can). Tries a real write, then cleans up."""
        if not self.is_local:
            return self._probe_objects(path)
        problem = self.folder_problem(path)
        if problem:
            return problem
        existing = self.nearest_existing(path)
        probe = f"{existing}/.hygge-probe-{uuid.uuid4().hex}"
        try:
            with self.fs.open(probe, "wb") as handle:
                handle.write(b"")
            self.fs.rm(probe)
        except OSError as exc:
            return f"cannot write in {existing}: {exc.strerror or exc}"
        return None

    def _probe_objects(self, path: str) -> str | None:
        """Write, list, read and remove a hidden probe object under path; a refused
        credential or a missing bucket is named."""
        probe = f"{path}/.hygge-probe-{uuid.uuid4().hex}"
        try:
            with self.fs.open(probe, "wb") as handle:
                handle.write(b"hygge")
            self.fs.ls(path, detail=False)
            with self.fs.open(probe, "rb") as handle:
                handle.read()
            self.fs.rm(probe)
        except OSError as exc:
            return f"cannot write in {path}: {exc.strerror or exc}"
        return None


def size_and_mtime(info: dict[str, Any]) -> tuple[int, int]:
    """A listed file's size and modification time (nanoseconds since the epoch)."""
    modified: Any = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    if hasattr(modified, "timestamp"):
        modified = modified.timestamp()
    return int(info.get("size") or 0), int(float(modified or 0) * 1_000_000_000)


def real_path(path: str) -> str:
    """What a local path really is: absolute, with `..` and symlinks resolved (so aliases of
    one folder or file compare equal); a URL keeps its scheme and has `.` and `..` folded.
    Separators are `/` everywhere (Windows takes them too), as fsspec and the stores write."""
    scheme, sep, rest = path.partition("://")
    if not sep:
        return os.path.realpath(path).replace(os.sep, "/")
    if scheme == "file":
        return os.path.realpath(rest).replace(os.sep, "/")
    bucket, _, key = posixpath.normpath(rest).partition("/")
    return f"{scheme.lower()}://{bucket.lower()}/{key}".rstrip("/")


def location_identity(path: str, credentials: CloudConnection | None = None) -> str:
    """Where a path really is, as an identity (`Store.target`, `Home.origin`): a local path's
    `real_path`, a cloud URL's normalised location (`hygge.clouds.identity`), so every
    spelling of one folder compares equal."""
    return object_identity(path, credentials) if cloud_of(path) else real_path(path)


def glob_base(pattern: str) -> str:
    """The fixed folder a glob starts from ('data/*/x.csv' -> 'data'; a URL keeps its scheme)."""
    scheme, sep, rest = pattern.rpartition("://")
    fixed: list[str] = []
    for part in PurePosixPath(rest).parts:
        if any(c in part for c in GLOB_CHARS):
            break
        fixed.append(part)
    return f"{scheme}{sep}{PurePosixPath(*fixed)}" if fixed else "."


def _kind(info: dict[str, Any]) -> str:
    """What a path that is neither file nor folder is, for messages."""
    mode = info.get("mode")
    if isinstance(mode, int):
        for test, kind in (
            (stat.S_ISFIFO, "a named pipe"),
            (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a device"),
            (stat.S_ISBLK, "a device"),
            (stat.S_ISLNK, "a broken link"),
        ):
            if test(mode):
                return kind
    return "not a file"


def _hidden_below(path: str, base: str) -> bool:
    relative = PurePosixPath(path).relative_to(PurePosixPath(base.rstrip("/") or "/"))
    return any(is_hidden(part) for part in relative.parts)


def _let_owner_change(folder: str) -> None:
    """Give the folder's owner read, write and search on it (links are left alone)."""
    if not os.path.islink(folder):
        os.chmod(folder, os.stat(folder).st_mode | stat.S_IRWXU)
