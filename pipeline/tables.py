"""Reading batch inputs in chunks and flattening records for tabular output.

Inputs: delimited text (``.csv``, ``.tsv``, ``.txt``; the delimiter sniffed
or given with ``--sep``), each also gzip / bz2 / xz / zstd compressed
(``.csv.gz`` ...), ``.xlsx``, Parquet and JSONL (by extension), read in chunks so memory does not
grow with the number of rows. Delimited text is UTF-8 (with or without a
byte-order mark) unless ``--encoding`` says otherwise; a file that is not
valid UTF-8 is refused before any work, naming the encoding it most likely
has (charset-normalizer). Outputs are written by ``audit``; this module
holds the flat column layout of FORMATS.md and CSV formula neutralisation.
"""

import json
import os
import re
from dataclasses import dataclass

from .errors import InputError

DELIMITED = (".csv", ".tsv", ".txt")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
INPUT_FORMATS = DELIMITED + (".parquet", ".jsonl", ".xlsx")
OUTPUT_FORMATS = (".csv", ".parquet", ".jsonl", ".html")

# Flat layout (FORMATS.md), then extensions, then the carried input columns.
FLAT_COLUMNS = (
    "id", "status", "error",
    "rec_category", "rec_modality", "rec_contrast", "rec_regions", "rec_urgency", "rec_flags",
    "ordered_modality", "ordered_contrast", "ordered_regions",
    "mismatch", "mismatch_types", "mismatch_score",
    "concepts_present", "concepts_negated",
    # extensions (optional fields; FORMATS.md allows adding, not changing)
    "concepts_family", "concepts_hypothetical", "duration_weeks", "regions",
    "ordered_parsed", "rec_scenarios", "rec_rule_ids",
    "age_years",  # FORMATS.md revision 2
)
FLOAT_COLUMNS = ("mismatch_score", "duration_weeks")
INT_COLUMNS = ("age_years",)
BOOL_COLUMNS = ("mismatch", "ordered_parsed")

ROW_BAD_JSON = "E106 input line is not a JSON object"


def split_compression(path):
    """(extension without the compression suffix, compression or None)."""
    stem, ext = os.path.splitext(str(path))
    ext = ext.lower()
    if ext in COMPRESSIONS:
        return os.path.splitext(stem)[1].lower(), COMPRESSIONS[ext]
    return ext, None


def input_format(path):
    """The input's format: ".csv", ".tsv", ".txt", ".parquet" or ".jsonl"
    (a delimited file may be gzip, bz2 or xz compressed)."""
    ext, compression = split_compression(path)
    if ext not in INPUT_FORMATS or (compression and ext not in DELIMITED):
        shown = ", ".join(INPUT_FORMATS) + " (delimited text also .gz, .bz2, .xz, .zst)"
        raise InputError(f"unknown input format '{os.path.basename(str(path))}': use one of {shown}")
    return ext


def output_format(path):
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in OUTPUT_FORMATS:
        raise InputError(f"unknown output format '{ext or path}': use one of {', '.join(OUTPUT_FORMATS)}")
    return ext


def extra_columns(column_lists, known=()):
    """The column names of ``column_lists`` (iterables of names) that are not
    in ``known``, in order of first appearance, once each: the carried
    columns after a fixed set."""
    known, seen = set(known), {}
    for cols in column_lists:
        for c in cols:
            if c not in known:
                seen.setdefault(c, None)
    return list(seen)


def _join(values):
    return "|".join(values) if values else ""


def flatten(record):
    """One result record -> one flat row (lists joined with '|')."""
    rec = record.get("recommendation") or {}
    ordered = record.get("ordered") or {}
    mm = record.get("mismatch") or {}
    concepts = record.get("concepts") or {}

    def with_status(s):
        return _join([c for c, v in concepts.items() if v == s])

    return {
        "id": None if record.get("id") is None else str(record["id"]),
        "status": record.get("status"),
        "error": record.get("error"),
        "rec_category": rec.get("category"),
        "rec_modality": rec.get("modality"),
        "rec_contrast": rec.get("contrast"),
        "rec_regions": _join(rec.get("regions")) if rec else None,
        "rec_urgency": rec.get("urgency"),
        "rec_flags": _join(rec.get("flags")) if rec else None,
        "ordered_modality": ordered.get("modality"),
        "ordered_contrast": ordered.get("contrast"),
        "ordered_regions": _join(ordered.get("regions")) if ordered else None,
        "mismatch": mm.get("is_mismatch"),
        "mismatch_types": _join(mm.get("types")) if mm.get("types") is not None else None,
        "mismatch_score": mm.get("score"),
        "concepts_present": with_status("present") if record.get("concepts") is not None else None,
        "concepts_negated": with_status("negated") if record.get("concepts") is not None else None,
        "concepts_family": with_status("family") if record.get("concepts") is not None else None,
        "concepts_hypothetical": with_status("hypothetical") if record.get("concepts") is not None else None,
        "duration_weeks": record.get("duration_weeks"),
        "regions": _join(record.get("regions")) if record.get("regions") is not None else None,
        "ordered_parsed": ordered.get("parsed") if ordered else None,
        "rec_scenarios": _join(rec.get("scenarios")) if rec else None,
        "rec_rule_ids": _join(rec.get("rule_ids")) if rec else None,
        "age_years": record.get("age_years"),
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def neutralise(value):
    """Make a CSV cell safe for spreadsheets: no text cell starts a formula
    (OWASP CSV injection: a leading =, +, -, @, tab or carriage return gets a
    leading apostrophe). A number ("-5", "+3.2") is data, not a formula, and
    is left as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


@dataclass
class Columns:
    """Column names. ``order`` and ``id`` given as None mean the defaults
    ("ordered", "id"), which may be absent; a name the user gave must exist."""
    text: str
    order: str = None
    id: str = None
    sep: str = None          # delimiter of delimited text (None: sniffed)
    encoding: str = None     # of delimited text (None: UTF-8, checked)
    sheet: str = None        # of a workbook (None: the first sheet)

    @property
    def order_name(self):
        return self.order if self.order is not None else "ordered"

    @property
    def id_name(self):
        return self.id if self.id is not None else "id"


# A file without a header row makes its first row the "column names": a long
# one is then note text and must not reach an error message.
_LONGEST_SHOWN_NAME = 40


def _shown_name(name, k):
    return name if len(name) <= _LONGEST_SHOWN_NAME else f"<column {k + 1}: {len(name)} characters, not shown>"


def check_columns(columns, cols, path, extra=()):
    """Every column named by an option exists; the error lists the columns
    that do and suggests the closest one. ``extra``: more (option, name)."""
    import difflib
    columns = [str(c) for c in columns]
    needed = [("text", cols.text)] + [(what, name) for what, name in (("order", cols.order), ("id", cols.id))
                                      if name is not None] + list(extra)
    for what, name in needed:
        if name in columns:
            continue
        shown = ", ".join(_shown_name(c, k) for k, c in enumerate(columns[:30])) or "(none)"
        lowered = {c.lower(): c for c in columns if len(c) <= _LONGEST_SHOWN_NAME}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
        option = f"--{what}-col" if what in ("text", "order", "id") else f"--{what}"
        hint = f"; did you mean '{lowered[close[0]]}' ({option})?" if close else ""
        raise InputError(f"{os.path.basename(str(path))} has no {what} column '{name}'; columns are: {shown}{hint}")



def _open_raw(path):
    """(raw file, text-decodable binary stream): the raw file's tell() drives
    the progress bar, the stream decompresses when the name says so."""
    raw = open(path, "rb")  # noqa: SIM115 - the caller closes it
    compression = split_compression(path)[1]
    if compression == "gzip":
        import gzip
        return raw, gzip.GzipFile(fileobj=raw)
    if compression == "bz2":
        import bz2
        return raw, bz2.BZ2File(raw)
    if compression == "xz":
        import lzma
        return raw, lzma.LZMAFile(raw)
    if compression == "zstd":
        import io

        import zstandard
        return raw, io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True))
    return raw, raw


def check_encoding(path, encoding=None, sample_bytes=1 << 20):
    """Refuse, before any work, a delimited file that does not decode.

    With no ``encoding`` the file must be UTF-8 (a byte-order mark is
    allowed); otherwise the error names the encoding charset-normalizer
    finds most likely and the option to pass. The whole file is read once,
    in blocks (a bad byte can sit anywhere).
    """
    import codecs
    name = os.path.basename(str(path))
    enc = encoding or "utf-8"
    try:
        decoder = codecs.getincrementaldecoder(enc)()
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}' (use a Python codec name such as cp1252 or latin-1)") from None
    raw, stream = _open_raw(path)
    head = b""
    offset = 0
    try:
        while True:
            block = stream.read(1 << 20)
            if len(head) < sample_bytes:
                head += block[:sample_bytes - len(head)]
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                if encoding:
                    raise InputError(f"{name} does not decode as {encoding} (byte {offset + exc.start:,}); "
                                     "check --encoding") from None
                # the first MB, and the block with the bad byte when it lies further on
                guess = _guess_encoding(head if offset == 0 else head + block[:sample_bytes])
                hint = f"it looks like {guess}: rerun with --encoding {guess}" if guess else \
                    "pass its encoding with --encoding (for example cp1252 for a CSV saved by Excel on Windows)"
                raise InputError(f"{name} is not UTF-8 (byte {offset + exc.start:,}); {hint}") from None
            if not block:
                return
            offset += len(block)
    except OSError as exc:
        raise InputError(f"{name} cannot be read ({type(exc).__name__})") from None
    finally:
        raw.close()


# Encodings hospital exports come in, most common first: when the detector
# finds one of them among the equally plausible decodings, it is the one named.
_COMMON_EXPORT_ENCODINGS = ("cp1252", "utf_16", "iso8859_15", "latin_1", "cp1250", "mac_roman")


def _guess_encoding(sample):
    """The most likely encoding of a byte sample (charset-normalizer), or None.

    Short samples decode cleanly in many single-byte code pages; among the
    least chaotic decodings, a common export encoding is preferred."""
    from charset_normalizer import from_bytes
    matches = list(from_bytes(sample))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    plausible = [m for m in matches if m.chaos <= least + 0.01]
    for enc in _COMMON_EXPORT_ENCODINGS:
        if any(enc in m.could_be_from_charset for m in plausible):
            return {"latin_1": "latin-1"}.get(enc, enc)
    return plausible[0].encoding


def sniff_delimiter(path, cols):
    """The delimiter: --sep if given, a tab for .tsv, else sniffed among
    , ; tab | from the first lines (comma when unsure)."""
    import csv
    if cols.sep:
        return "\t" if cols.sep in ("\\t", "tab", "TAB") else cols.sep
    if input_format(path) == ".tsv":
        return "\t"
    raw, stream = _open_raw(path)
    try:
        sample = stream.read(64 * 1024).decode(cols.encoding or "utf-8-sig", errors="replace")
    finally:
        raw.close()
    lines = sample.splitlines()
    sample = "\n".join(lines[:50] if len(lines) > 1 else lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_chunks(path, cols, chunk_size):
    import pandas as pd
    name = os.path.basename(str(path))
    sep = sniff_delimiter(path, cols)
    raw, stream = _open_raw(path)
    try:
        reader = pd.read_csv(stream, chunksize=chunk_size, dtype=str, keep_default_na=False, na_values=[],
                             sep=sep, encoding=cols.encoding or "utf-8-sig", encoding_errors="strict")
        first = True
        for df in reader:
            if first:
                check_columns(df.columns, cols, path)
                first = False
            yield df, raw.tell()
        if first:
            raise InputError(f"{name} has no rows")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{name} is not readable delimited text ({type(exc).__name__})") from None
    except UnicodeError:
        raise InputError(f"{name} does not decode as {cols.encoding or 'UTF-8'}; check --encoding") from None
    except (OSError, EOFError, ValueError) as exc:  # a damaged or truncated compressed file
        raise InputError(f"{name} cannot be read ({type(exc).__name__})") from None
    finally:
        raw.close()


def input_columns(path, cols):
    """The input's column names, read without reading the rows (for the
    checks before a run starts)."""
    fmt = input_format(path)
    name = os.path.basename(str(path))
    if fmt in DELIMITED:
        import pandas as pd
        sep = sniff_delimiter(path, cols)
        raw, stream = _open_raw(path)
        try:
            return list(pd.read_csv(stream, nrows=0, sep=sep, encoding=cols.encoding or "utf-8-sig").columns)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as exc:
            raise InputError(f"{name} is not readable delimited text ({type(exc).__name__})") from None
        finally:
            raw.close()
    if fmt == ".xlsx":
        wb, ws = _open_sheet(path, cols)
        try:
            first = next(ws.iter_rows(values_only=True, max_row=1), None)
            return None if first is None else _header(first)
        finally:
            wb.close()
    if fmt == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{name} is not readable Parquet ({type(exc).__name__})") from None
    with open(path, "rb") as f:
        for raw_line in f:
            if raw_line.strip():
                try:
                    obj = json.loads(raw_line)
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(obj, dict):
                    return list(obj)
    return None  # no readable line: the run reports it


def _parquet_chunks(path, cols, chunk_size):
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{os.path.basename(str(path))} is not readable Parquet ({type(exc).__name__})") from None
    check_columns(pf.schema_arrow.names, cols, path)
    done = 0
    for batch in pf.iter_batches(batch_size=chunk_size):
        df = batch.to_pandas(types_mapper=None)
        done += len(df)
        yield df, done


def _jsonl_chunks(path, cols, chunk_size):
    import pandas as pd
    rows, checked = [], False
    with open(path, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict):
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
                obj = {"__row_error__": ROW_BAD_JSON}
            if not checked and "__row_error__" not in obj:
                check_columns(obj.keys(), cols, path)
                checked = True
            rows.append(obj)
            if len(rows) >= chunk_size:
                yield pd.DataFrame(rows), f.tell()
                rows = []
        if rows:
            yield pd.DataFrame(rows), f.tell()
        elif not checked:
            raise InputError(f"{os.path.basename(str(path))} has no rows")


def _open_sheet(path, cols):
    """(workbook, worksheet) of an .xlsx in openpyxl's read-only (streaming) mode."""
    import zipfile
    from openpyxl import load_workbook
    name = os.path.basename(str(path))
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputError(f"{name} is not a readable .xlsx workbook ({type(exc).__name__})") from None
    if cols.sheet is None:
        return wb, wb.worksheets[0]
    if cols.sheet not in wb.sheetnames:
        wb.close()
        raise InputError(f"{name} has no sheet '{cols.sheet}'; sheets are: {', '.join(wb.sheetnames)}")
    return wb, wb[cols.sheet]


def _header(row):
    return [f"column {k + 1}" if v is None else str(v) for k, v in enumerate(row)]


def _xlsx_chunks(path, cols, chunk_size):
    """Rows of the first sheet (or --sheet), streamed: the first row is the header."""
    import pandas as pd
    wb, ws = _open_sheet(path, cols)
    try:
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError(f"{os.path.basename(str(path))} has no rows")
        header = _header(header)
        check_columns(header, cols, path)
        batch, done = [], 0
        for row in rows:
            if row is None or all(v is None for v in row):
                continue  # openpyxl reports formatted but empty rows
            batch.append(list(row[:len(header)]) + [None] * (len(header) - len(row)))
            if len(batch) >= chunk_size:
                done += len(batch)
                yield pd.DataFrame(batch, columns=header, dtype=object), done
                batch = []
        if batch:
            done += len(batch)
            yield pd.DataFrame(batch, columns=header, dtype=object), done
    finally:
        wb.close()


def iter_chunks(path, cols, chunk_size):
    """Yield ``(DataFrame, progress)`` chunks; progress is bytes (text) or rows (Parquet, xlsx)."""
    if not os.path.exists(path):
        raise InputError(f"input file not found: {path}")
    fmt = input_format(path)
    if fmt in DELIMITED:
        return _csv_chunks(path, cols, chunk_size)
    if fmt == ".parquet":
        return _parquet_chunks(path, cols, chunk_size)
    if fmt == ".xlsx":
        return _xlsx_chunks(path, cols, chunk_size)
    return _jsonl_chunks(path, cols, chunk_size)


def progress_total(path, cols=None):
    """Denominator of the progress figures: bytes, or rows for Parquet and xlsx."""
    fmt = input_format(path)
    if fmt == ".parquet":
        import pyarrow.parquet as pq
        return pq.ParquetFile(path).metadata.num_rows
    if fmt == ".xlsx":
        wb, ws = _open_sheet(path, cols or Columns("text"))
        try:
            return max((ws.max_row or 1) - 1, 1)
        finally:
            wb.close()
    return os.path.getsize(path)
