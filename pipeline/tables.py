"""Reading batch inputs in chunks and flattening records for tabular output.

Inputs: CSV, Parquet, JSONL (by extension), read in chunks so memory does not
grow with the number of rows. Outputs are written by ``audit``; this module
holds the flat column layout of FORMATS.md and CSV formula neutralisation.
"""

import json
import os
from dataclasses import dataclass

from .errors import InputError

INPUT_FORMATS = (".csv", ".parquet", ".jsonl")
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


def input_format(path):
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in INPUT_FORMATS:
        raise InputError(f"unknown input format '{ext or path}': use one of {', '.join(INPUT_FORMATS)}")
    return ext


def output_format(path):
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in OUTPUT_FORMATS:
        raise InputError(f"unknown output format '{ext or path}': use one of {', '.join(OUTPUT_FORMATS)}")
    return ext


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


def neutralise(value):
    """Make a CSV cell safe for spreadsheets: no cell starts a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@dataclass
class Columns:
    text: str
    order: str
    id: str


def _check_columns(columns, cols, path):
    if cols.text not in columns:
        shown = ", ".join(map(str, list(columns)[:20])) or "(none)"
        raise InputError(f"{os.path.basename(str(path))} has no text column '{cols.text}'; columns are: {shown}")


def _csv_chunks(path, cols, chunk_size):
    import pandas as pd
    f = open(path, "rb")  # noqa: SIM115 - closed below, tell() drives the progress bar
    try:
        reader = pd.read_csv(f, chunksize=chunk_size, dtype=str, keep_default_na=False, na_values=[],
                             encoding="utf-8", encoding_errors="replace")
        first = True
        for df in reader:
            if first:
                _check_columns(df.columns, cols, path)
                first = False
            yield df, f.tell()
        if first:
            raise InputError(f"{os.path.basename(str(path))} has no rows")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as exc:
        raise InputError(f"{os.path.basename(str(path))} is not readable CSV ({type(exc).__name__})") from None
    finally:
        f.close()


def _parquet_chunks(path, cols, chunk_size):
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{os.path.basename(str(path))} is not readable Parquet ({type(exc).__name__})") from None
    _check_columns(pf.schema_arrow.names, cols, path)
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
                _check_columns(obj.keys(), cols, path)
                checked = True
            rows.append(obj)
            if len(rows) >= chunk_size:
                yield pd.DataFrame(rows), f.tell()
                rows = []
        if rows:
            yield pd.DataFrame(rows), f.tell()
        elif not checked:
            raise InputError(f"{os.path.basename(str(path))} has no rows")


def iter_chunks(path, cols, chunk_size):
    """Yield ``(DataFrame, progress)`` chunks; progress is bytes (CSV, JSONL) or rows (Parquet)."""
    if not os.path.exists(path):
        raise InputError(f"input file not found: {path}")
    fmt = input_format(path)
    if fmt == ".csv":
        return _csv_chunks(path, cols, chunk_size)
    if fmt == ".parquet":
        return _parquet_chunks(path, cols, chunk_size)
    return _jsonl_chunks(path, cols, chunk_size)


def progress_total(path):
    """Denominator of the progress figures: bytes, or rows for Parquet."""
    if input_format(path) == ".parquet":
        import pyarrow.parquet as pq
        return pq.ParquetFile(path).metadata.num_rows
    return os.path.getsize(path)
