"""Polish: each batch shaped on its way to the store, as Polars expressions in one select.

Names first. An explicit `rename` is taken as written; every other column is normalised in
this order: spaces to `_` (`remove_spaces`), characters other than letters, digits, `_` and
spaces dropped (`remove_special`; letters of any script stay), the `case` (snake, camel and
pascal split a name into its words: runs of letters and digits, a capital starting a new
word), then cut to `max_length`.
Two source columns that end as one name stop the entity naming both, before a row is written.

Then the columns polish adds, after the source's: `hash_ids` (a stable key from source
columns), `constants`, `timestamps` (the run's start, or the time each batch was written) and
`run_id`. Settings keep naming source columns (`primary_key`, `watermark`); the store is told
their destination names.

A hash id hashes a canonical text of the listed values, so it is the same on every machine
and Polars version and whatever integer width or time unit a value arrived in: each value
becomes `<byte length>:<text>` and a NULL `~` (so NULL and '' differ), joined by `,`. The
text: integers and decimals in decimal digits, floats as Polars writes them, booleans
`true`/`false`, dates `YYYY-MM-DD`, datetimes in UTC `YYYY-MM-DDTHH:MM:SS.fffffffff` (nine
digits whatever the unit), times `HH:MM:SS.fffffffff`, binary as lower-case hex, text as is.
Its hash, UTF-8 encoded: SHA-256 in hex (the default), or XXH64 with seed 0 read as a signed
64-bit integer (`xxh64`: a bigint in every store, where an unsigned one is not).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

from hygge.config.models import HashAlgorithm, Polish
from hygge.errors import ConfigError

_PARTS = re.compile(r"[^\W_]+")  # runs of letters and digits, any script
_SPECIAL = re.compile(r"[^\w ]")
_SPACES = re.compile(r" +")


class Polisher:
    """One entity run's polish: its names for a batch's columns, and the batch polished."""

    def __init__(self, polish: Polish, run_id: str, started: datetime) -> None:
        self.polish = polish
        self.run_id = run_id
        self.started = started
        self._names: dict[tuple[str, ...], dict[str, str]] = {}

    def names(self, columns: Sequence[str]) -> dict[str, str]:
        """Source column -> destination column, for every source column."""
        key = tuple(columns)
        if key not in self._names:
            self._names[key] = self._decide(columns)
        return self._names[key]

    def destination_key(self, columns: Sequence[str]) -> tuple[str, ...]:
        """Source columns (a primary key, a version) under their destination names; the
        names no batch has yet are polished as a column of that name would be."""
        return tuple(self.polish.rename.get(c) or normalised(c, self.polish) for c in columns)

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The batch with its columns renamed and polish's columns added after them."""
        named = [pl.col(s).alias(d) for s, d in self.names(frame.columns).items()]
        # lazy, so a hash id's canonical text is computed once for its length and its bytes
        return frame.lazy().select(named + self._added(frame)).collect()

    def _added(self, frame: pl.DataFrame) -> list[pl.Expr]:
        polish = self.polish
        exprs = [
            hash_id(hashed.columns, frame, hashed.algorithm).alias(name)
            for name, hashed in polish.hashes().items()
        ]
        exprs += [pl.lit(value).alias(name) for name, value in polish.constants.items()]
        for name, when in polish.timestamps.items():
            moment = self.started if when == "run_start" else datetime.now(UTC)
            exprs.append(pl.lit(moment, pl.Datetime("us", "UTC")).alias(name))
        if polish.run_id:
            exprs.append(pl.lit(self.run_id, pl.String).alias(polish.run_id))
        return exprs

    def _decide(self, columns: Sequence[str]) -> dict[str, str]:
        polish = self.polish
        hashed = [c for hash_id in polish.hashes().values() for c in hash_id.columns]
        missing = [c for c in hashed if c not in columns]
        if missing:
            raise ConfigError(
                f"polish: hash_ids hashes column {missing[0]!r}, which the source does not have",
                hint=f"the source's columns: {', '.join(columns)}",
            )
        names = {c: polish.rename.get(c) or normalised(c, polish) for c in columns}
        _refuse_collisions(names, polish.added())
        return names


def normalised(name: str, polish: Polish) -> str:
    """A column name after the name rules of polish (not `rename`)."""
    if polish.remove_spaces:
        name = _SPACES.sub("_", name.strip())
    if polish.remove_special:
        name = _SPECIAL.sub("", name)
    name = _cased(name, polish.case)
    return name[: polish.max_length] if polish.max_length else name


def _cased(name: str, case: str) -> str:
    if case == "keep":
        return name
    if case in ("lower", "upper"):
        return name.lower() if case == "lower" else name.upper()
    words = [word for part in _PARTS.findall(name) for word in _words(part)]
    if not words:
        return name
    if case == "snake":
        return "_".join(word.lower() for word in words)
    capitalised = [word[:1].upper() + word[1:].lower() for word in words]
    if case == "camel":
        return words[0].lower() + "".join(capitalised[1:])
    return "".join(capitalised)


def _words(part: str) -> list[str]:
    """A run of letters and digits split into words: before a capital that follows a small
    letter or digit (`orderId`, `line2Total`), and before the last capital of a run followed
    by a small letter (`HTTPServer`). Digits stay with the word before them (`address1`)."""
    words, start = [], 0
    for i in range(1, len(part)):
        before, here, after = part[i - 1], part[i], part[i + 1 : i + 2]
        camel = here.isupper() and (before.islower() or before.isdigit())
        acronym = here.isupper() and before.isupper() and after.islower()
        if camel or acronym:
            words.append(part[start:i])
            start = i
    return [*words, part[start:]]


def _refuse_collisions(names: dict[str, str], added: list[str]) -> None:
    seen: dict[str, str] = {}
    for source, destination in names.items():
        if destination in seen:
            raise ConfigError(
                f"polish: columns {seen[destination]!r} and {source!r} would both be named"
                f" {destination!r}",
                hint="rename one of them (polish.rename), or change the name rules",
            )
        seen[destination] = source
    for name in added:
        if name in seen:
            raise ConfigError(
                f"polish: the added column {name!r} has the name of source column {seen[name]!r}",
                hint="give the added column another name",
            )


def hash_id(columns: Sequence[str], frame: pl.DataFrame, algorithm: HashAlgorithm) -> pl.Expr:
    """The hash of the canonical text of columns' values in frame (see the module docstring)."""
    import polars_hash  # noqa: F401  (registers the `chash` and `nchash` namespaces)

    text = canonical_row(columns, frame)
    if algorithm == "xxh64":
        return text.nchash.xxhash64().reinterpret(signed=True)  # type: ignore[attr-defined, no-any-return]
    return text.chash.sha2_256()  # type: ignore[attr-defined, no-any-return]


def canonical_row(columns: Sequence[str], frame: pl.DataFrame) -> pl.Expr:
    """The text a hash id hashes: each value as `<byte length>:<text>` or `~`, joined by `,`.
    A column without NULLs in this batch joins the row's text directly (one copy, not two)."""
    pieces: list[pl.Expr] = []
    for name in columns:
        text = canonical_text(pl.col(name), frame.schema[name], name)  # NULL for a NULL
        field = [text.str.len_bytes().cast(pl.String), pl.lit(":"), text]
        if frame[name].null_count():
            field = [pl.concat_str(field).fill_null(pl.lit("~"))]
        pieces += [*field, pl.lit(",")]
    return pl.concat_str(pieces[:-1])


def canonical_text(column: pl.Expr, dtype: pl.DataType, name: str) -> pl.Expr:
    """A value's canonical text for hashing, the same for one logical value in any width."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            column = column.dt.convert_time_zone("UTC")
        return column.dt.cast_time_unit("ns").dt.strftime("%Y-%m-%dT%H:%M:%S%.9f")
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if dtype == pl.Time:
        return column.dt.strftime("%H:%M:%S%.9f")
    if dtype == pl.Boolean:
        return pl.when(column).then(pl.lit("true")).when(column.not_()).then(pl.lit("false"))
    if dtype == pl.Binary:
        return column.bin.encode("hex")
    if dtype.is_numeric() or isinstance(dtype, pl.String | pl.Categorical | pl.Enum | pl.Null):
        return column.cast(pl.String)
    raise ConfigError(
        f"polish: hash_ids cannot hash column {name!r} of type {dtype}",
        hint="hash columns of plain types (numbers, text, dates, times, booleans, binary)",
    )
