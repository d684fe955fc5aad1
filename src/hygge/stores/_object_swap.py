"""full_drop on object storage, where no folder can be swapped in one step.

The load's files wait under the hidden staging prefix. Publishing then goes:

1. the commit record, flagged `replacing` and naming the new files, is written into the
   destination: from here on the replacement is rolled forward, never back;
2. the new files are moved in (a server-side copy each, then the staged object deleted);
3. every other object of the destination (the old set), `_hygge/` aside, is deleted in
   bulk requests;
4. the record is written again without the flag.

A crash before 1 leaves the old set and a staging prefix that `recover()` deletes; a crash
after it leaves a flagged record, and the next run's `recover()` does 2 to 4 again (each
step finds what is already done). So after recovery the destination holds the old set or
the new one. A reader listing the folder between the first copy of 2 and the end of 3 sees
files of both sets: the window the README names.
"""

from __future__ import annotations

from hygge.failpoints import failpoint
from hygge.filesystem import FileSystem
from hygge.stores._commits import RECORDS_FOLDER, Record, write_record


def replace(fs: FileSystem, folder: str, staging: str, record: Record) -> None:
    """Publish a full_drop's staged files as the folder's only data (steps 1 to 4)."""
    c = record
    write_record(fs, folder, c.commit, list(c.files), c.schema, replacing=True)
    failpoint("before_swap")
    finish(fs, folder, staging, record)


def finish(fs: FileSystem, folder: str, staging: str, record: Record) -> None:
    """Steps 2 to 4, from wherever a crash left them."""
    for name in record.files:
        if fs.exists(f"{staging}/{name}"):
            fs.move(f"{staging}/{name}", f"{folder}/{name}")
            failpoint("mid_publish")
    new = set(record.files)
    base = fs.bare(folder)
    old = [
        path
        for path in fs.fs.find(folder)
        if (relative := path[len(base) + 1 :]) not in new
        and relative.split("/")[0] != RECORDS_FOLDER
    ]
    if old:
        fs.fs.rm(old)
    failpoint("after_swap")
    c = record
    write_record(fs, folder, c.commit, list(c.files), c.schema)
