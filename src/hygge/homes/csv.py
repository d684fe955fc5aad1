"""CSV files as a home; parsing options are validated here and handed to Polars."""

from __future__ import annotations

import csv
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import Field, field_validator

from hygge.errors import SourceError
from hygge.homes._files import FileHome, FileHomeConfig
from hygge.plugin import Context

_SAMPLE_BYTES = 32 * 1024


class CsvHomeConfig(FileHomeConfig):
    type: Literal["csv"] = "csv"
    delimiter: str = ","
    """The character between fields."""
    header: bool = True
    """The first row names the columns."""
    quote_char: str | None = '"'
    """The character quoting fields; none: no quoting."""
    encoding: Literal["utf8", "utf8-lossy"] = "utf8"
    """utf8, or utf8-lossy to replace bytes that are no UTF-8."""
    null_values: list[str] = []
    """Texts read as null."""
    skip_rows: Annotated[int, Field(ge=0)] = 0
    """Lines skipped before the header."""
    infer_schema_rows: Annotated[int, Field(gt=0)] = 10_000
    """Rows read to guess the column types."""
    try_parse_dates: bool = True
    """Read texts that look like dates and times as such."""

    @field_validator("delimiter", "quote_char")
    @classmethod
    def _one_byte(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) != 1:
            raise ValueError("must be exactly one single-byte character")
        return value

    @field_validator("null_values", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class CsvHome(FileHome[CsvHomeConfig]):
    Config = CsvHomeConfig
    suffixes = (".csv", ".tsv", ".txt")

    def __init__(self, config: CsvHomeConfig, context: Context) -> None:
        super().__init__(config, context)
        self.headers_read: set[str] = set()  # files whose header has no name twice

    def scan(self, files: list[str]) -> pl.LazyFrame:
        if self.config.header:
            for file in [file for file in files if file not in self.headers_read]:
                self._refuse_repeated_names(file)
                self.headers_read.add(file)
        if len(files) == 1:
            frame = pl.scan_csv(files, **self._options(), **self._paths())
            return self._unquote_names(frame, files)
        # Files of a folder may differ in columns (the source gained or lost one): each is
        # read by name into the columns of them all, a column a file lacks as nulls.
        schema = self._schema(files)
        frame = pl.scan_csv(
            files, schema=schema, missing_columns="insert", **self._options(), **self._paths()
        )
        return self._unquote_names(frame, files)

    def count_rows(self, files: list[str]) -> int | None:
        """The files' sizes over the length of a line, measured in 32 KiB at the start and
        in the middle of the first file (rows tend to grow along a file): an estimate."""
        if not files:
            return 0
        size = self.fs.size_and_mtime(files[0])[0]
        with self.fs.fs.open(files[0], "rb") as handle:
            sample: bytes = handle.read(_SAMPLE_BYTES)
            if size > 2 * _SAMPLE_BYTES:
                handle.seek(size // 2)
                sample += handle.read(_SAMPLE_BYTES)
        lines = sample.count(b"\n")
        if not lines:
            return None
        total = size + sum(self.fs.size_and_mtime(file)[0] for file in files[1:])
        headers = len(files) if self.config.header else 0
        return max(0, round(total * lines / len(sample)) - headers)

    def culprit(self, files: list[str], error: BaseException) -> str | None:
        """The first row with more fields than the header (Polars names no file or line)."""
        if "more fields" not in str(error):
            return None
        for file in files:
            found = self._long_row(file)
            if found is not None:
                line, fields, width = found
                return f"{file} line {line} ({fields} fields where the header has {width})"
        return None

    def _refuse_repeated_names(self, file: str) -> None:
        """A name used twice in a header: Polars would rename the second to `x_duplicated_0`,
        which no reader of the destination expects."""
        options = self._options() | {"has_header": False, "infer_schema": False, "n_rows": 1}
        del options["infer_schema_length"], options["null_values"], options["try_parse_dates"]
        try:
            header = pl.read_csv(file, **options)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SourceError(self._read_failure(exc, [file])) from exc
        names = [name for name in (header.row(0) if header.height else ()) if name is not None]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise SourceError(
                f"cannot read {file}: column {repeated[0]!r} appears more than once in its header",
                hint="give every column of the file a name of its own",
            )

    def _long_row(self, file: str) -> tuple[int, int, int] | None:
        """(line, fields, header fields) of the first row longer than the header, if any."""
        c = self.config
        errors = "replace" if c.encoding == "utf8-lossy" else "strict"
        quoting = {"quotechar": c.quote_char} if c.quote_char else {"quoting": csv.QUOTE_NONE}
        try:
            with self.fs.fs.open(file, "rt", encoding="utf-8-sig", errors=errors, newline="") as f:
                for _ in range(c.skip_rows):
                    f.readline()
                rows = csv.reader(f, delimiter=c.delimiter, **quoting)
                width, start = None, c.skip_rows + 1
                for row in rows:
                    if width is None:
                        width = len(row)
                    elif len(row) > width:
                        return start, len(row), width
                    start = c.skip_rows + rows.line_num + 1
        except (OSError, UnicodeDecodeError, csv.Error):
            return None
        return None

    def _unquote_names(self, frame: pl.LazyFrame, files: list[str]) -> pl.LazyFrame:
        """Polars keeps a quoted header's doubled quotes: `"a""b"` must name column `a"b`."""
        quote = self.config.quote_char
        if not (self.config.header and quote):
            return frame
        try:
            names = frame.collect_schema().names()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SourceError(self._read_failure(exc, files)) from exc
        doubled = {name: name.replace(quote * 2, quote) for name in names if quote * 2 in name}
        return frame.rename(doubled) if doubled else frame

    def _options(self) -> dict[str, Any]:
        c = self.config
        return {
            "separator": c.delimiter,
            "has_header": c.header,
            "quote_char": c.quote_char,
            "encoding": c.encoding,
            "null_values": c.null_values or None,
            "skip_rows": c.skip_rows,
            "infer_schema_length": c.infer_schema_rows,
            "try_parse_dates": c.try_parse_dates,
            "raise_if_empty": False,
            "storage_options": self.fs.scan_options,
        }

    def _schema(self, files: list[str]) -> pl.Schema:
        """The types of several files, each inferred from the values the file has.

        Left to itself, Polars types a column that is empty in one file (all nulls, or a
        header only) as String, and then as String in every file: numbers became text.
        """
        schemas: list[dict[str, pl.DataType | None]] = []
        for file in files:
            try:
                head = pl.read_csv(file, n_rows=self.config.infer_schema_rows, **self._options())
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise SourceError(self._read_failure(exc, [file])) from exc
            schemas.append(
                {c.name: c.dtype if c.null_count() < head.height else None for c in head}
            )
        return merge_schemas(schemas, untyped=pl.String())


def merge_schemas(schemas: list[dict[str, pl.DataType | None]], untyped: pl.DataType) -> pl.Schema:
    """One schema for several files of text: each column gets the type all its files agree on.

    None (or Null) means a file gave the column no type; a column no file typed gets
    `untyped`. Integers and floats widen to the wider number, lists and structs to their
    common shape; any other disagreement gives String, which keeps every value as written.
    (Polars' own supertypes are too lax for text: a date and an integer make an integer.)
    """
    names = dict.fromkeys(name for schema in schemas for name in schema)
    merged: dict[str, pl.DataType] = {}
    for name in names:
        types = [t for s in schemas if (t := s.get(name)) is not None and t != pl.Null]
        merged[name] = _common_type(name, types) if types else untyped
    return pl.Schema(merged)


def _common_type(name: str, types: list[pl.DataType]) -> pl.DataType:
    families = {"number" if t.is_numeric() else type(t).__name__ for t in types}
    if len(families) != 1:
        return pl.String()
    frames = [pl.DataFrame(schema={name: t}) for t in types]
    try:
        return pl.concat(frames, how="vertical_relaxed").dtypes[0]
    except pl.exceptions.PolarsError:
        return pl.String()
