"""Batch audit: streaming, parallel (processes or Dask), resumable, nothing lost.

How a run works:

1. the input is read in chunks (``tables.iter_chunks``); every chunk becomes a
   plain payload of ``(id, text, ordered)`` rows plus the carried columns;
2. ``process_chunk`` (the same function on every engine) analyses a payload
   and returns the chunk's output rows and counts;
3. each finished chunk is written as a part file in ``.<out>.parts/`` (atomic
   rename), so an interrupted run can ``--resume`` from its last complete
   chunk;
4. at the end the parts are concatenated in order into a temporary file that
   is renamed onto the output: a truncated output never looks finished.

Memory is bounded by the chunk size times the chunks in flight, whatever the
input size.
"""

import io
import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass

from .errors import InputError, OutputError
from .record import DEFAULT_MAX_CHARS, _empty_record, analyze_many
from .resources import sha256_file
from .vocab import is_missing
from .tables import (
    BOOL_COLUMNS, DELIMITED, FLAT_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, Columns, check_columns,
    check_encoding, extra_columns, flatten, input_columns, input_format, iter_chunks, neutralise, output_format,
    progress_total, sniff_delimiter,
)

DEFAULT_CHUNK = 5000
MANIFEST_VERSION = 2  # 2: CSV parts hold the finished CSV rows


@dataclass
class AuditOptions:
    """``order_col`` / ``id_col`` None: the default names ("ordered", "id"),
    which may be absent; a name given here must exist in the input."""
    text_col: str = "text"
    order_col: str = None
    id_col: str = None
    sep: str = None
    encoding: str = None
    sheet: str = None
    workers: int = 1
    engine: str = "local"
    scheduler: object = None
    model: object = None
    chunk_size: object = None
    max_chars: int = DEFAULT_MAX_CHARS
    force: bool = False
    resume: bool = False
    quiet: bool = False
    group_by: tuple = ()      # carried columns to break mismatch rates down by (site, department ...)
    by_month: str = None      # a date column: mismatch rates per calendar month
    keep_text: bool = None    # carry the note text (and the evidence, in CSV/Parquet) into the output, so a
                              # review needs no second file; None: on for JSONL, off for CSV and Parquet


def keeps_text(opts, fmt):
    """Whether the output carries the note text (``--keep-text``)."""
    if fmt == ".html":
        return False  # the report shows flagged notes anyway
    return (fmt == ".jsonl") if opts.keep_text is None else bool(opts.keep_text)


# --------------------------------------------------------------------------- #
# The unit of work (runs in a worker process or on a Dask worker)
# --------------------------------------------------------------------------- #

def _model_for(path):
    if not path:
        return None
    from .model import load_model_cached
    return load_model_cached(path)


def process_chunk(payload):
    """Analyse one chunk. ``payload`` and the result are plain, picklable data."""
    index, rows, carried, settings = payload["index"], payload["rows"], payload["carried"], payload["settings"]
    bad_rows = payload.get("bad_rows", {})
    analysed = analyze_many((r for k, r in enumerate(rows) if k not in bad_rows), max_chars=settings["max_chars"])
    records = [_empty_record(row[0], "error", bad_rows[k]) if k in bad_rows else next(analysed)
               for k, row in enumerate(rows)]
    model = _model_for(settings.get("model"))
    if model is not None:
        model.score_records(records, [r[1] for r in rows], [r[2] for r in rows])
    stats = chunk_stats(records, _group_keys(carried, len(rows), settings))
    fmt = settings["format"]
    keep = settings.get("keep_text")
    columns = None  # the flat formats' columns of this chunk
    if fmt == ".jsonl":
        out = []
        for k, rec in enumerate(records):
            rec = dict(rec)
            if keep:
                rec["text"] = rows[k][1] if isinstance(rows[k][1], str) else None
            rec.update({c: v[k] for c, v in carried.items() if c not in rec})
            out.append(json.dumps(rec, ensure_ascii=False, default=str))
    elif fmt == ".html":
        from .report import compact_record
        shown = [c for c in list(settings.get("group_by") or ()) + [settings.get("by_month")] if c and c in carried]
        out = [compact_record(rec, rows[k][1], rows[k][2], {c: carried[c][k] for c in shown})
               for k, rec in enumerate(records)]
    else:
        out = []
        for k, rec in enumerate(records):
            flat = flatten(rec)
            if keep:
                flat["text"] = rows[k][1] if isinstance(rows[k][1], str) else None
                flat["evidence"] = None if rec.get("evidence") is None else json.dumps(rec["evidence"])
            for c, v in carried.items():
                if c not in flat:
                    flat[c] = v[k]
            out.append(flat)
        # the chunk's columns (every row of a chunk has the same keys); the
        # output's header is their union over the chunks
        columns = list(FLAT_COLUMNS) + extra_columns([out[0].keys()], FLAT_COLUMNS) if out else []
    # Encoded here, on the worker: the main process then only writes a string
    # (cheaper to send back than thousands of dicts, and it keeps the main
    # process, which shares the cores with the workers, light). CSV rows are
    # written here too, so that assembling the output is a concatenation.
    if fmt == ".csv":
        import csv
        body = io.StringIO()
        w = csv.writer(body)
        for row in out:
            w.writerow([_csv_cell(row.get(c)) for c in columns])
        part = json.dumps({"n": len(rows), "csv": body.getvalue()}, ensure_ascii=False)
    else:
        part = json.dumps({"n": len(rows), "rows": out}, ensure_ascii=False, default=str)
    result = {"index": index, "n": len(rows), "part": part, "stats": stats}
    if columns is not None:
        result["columns"] = columns
    return result


def _month(value):
    """"YYYY-MM" of a date value (a Timestamp, a date, or text pandas can read), or None."""
    if value is None:
        return None
    import pandas as pd
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(ts) else f"{ts.year:04d}-{ts.month:02d}"


def _group_keys(carried, n, settings):
    """Per row, the JSON key of its group (None when no breakdown was asked)."""
    cols = list(settings.get("group_by") or ())
    month_col = settings.get("by_month")
    if not cols and not month_col:
        return None
    values = {c: carried.get(c) or [None] * n for c in cols}
    months = [_month(v) for v in carried.get(month_col) or [None] * n] if month_col else None
    keys = []
    for k in range(n):
        key = {c: (None if vals[k] is None else str(vals[k])) for c, vals in values.items()}
        if months is not None:
            key["month"] = months[k]
        keys.append(json.dumps(key, sort_keys=True))
    return keys


def chunk_stats(records, group_keys=None):
    c = Counter()
    for k, rec in enumerate(records):
        group = None if group_keys is None else group_keys[k]
        c["rows"] += 1
        if rec["status"] != "ok":
            c["errors"] += 1
            c[f"error_code:{(rec.get('error') or 'E000').split()[0]}"] += 1
            continue
        rec_ = rec["recommendation"]
        c[f"category:{rec_['category']}"] += 1
        if rec["ordered"] is None:
            c["no_order"] += 1
            continue
        if not rec["ordered"]["parsed"]:
            c["unparsed_orders"] += 1
            continue
        c["compared"] += 1
        types = rec["mismatch"]["types"]
        if group is not None:
            c[f"group_compared:{group}"] += 1
            if types:
                c[f"group_mismatches:{group}"] += 1
                for t in types:
                    c[f"group_type:{t}:{group}"] += 1
        if types:
            c["mismatches"] += 1
            c[f"urgency_mismatch:{rec_['urgency']}"] += 1
            c[f"category_mismatch:{rec_['category']}"] += 1
            for t in types:
                c[f"type:{t}"] += 1
    return dict(c)


# --------------------------------------------------------------------------- #
# Chunk payloads from input frames
# --------------------------------------------------------------------------- #

def _payloads(path, cols, fmt, chunk_size):
    row_number = 0
    for index, (df, progress) in enumerate(iter_chunks(path, cols, chunk_size)):
        n = len(df)
        columns = list(df.columns)
        texts = df[cols.text].tolist() if cols.text in columns else [None] * n
        orders = df[cols.order_name].tolist() if cols.order_name in columns else [None] * n
        if cols.id_name in columns:
            ids = [None if is_missing(v) else (v.item() if hasattr(v, "item") else v)
                   for v in df[cols.id_name].tolist()]
        else:
            ids = list(range(row_number + 1, row_number + n + 1))
        bad = {}
        if "__row_error__" in columns:
            for k, v in enumerate(df["__row_error__"].tolist()):
                if isinstance(v, str):
                    bad[k] = v
                    if ids[k] is None:
                        ids[k] = row_number + k + 1
        skip = {cols.text, "__row_error__"}
        carried = {c: [None if is_missing(v) else v for v in df[c].tolist()] for c in columns if c not in skip}
        if fmt not in (".jsonl",):
            carried = {c: [None if v is None else (v if isinstance(v, (str, int, float, bool)) else str(v))
                           for v in vals] for c, vals in carried.items()}
        rows = [(ids[k], None if is_missing(texts[k]) else texts[k], None if is_missing(orders[k]) else orders[k])
                for k in range(n)]
        row_number += n
        yield {"index": index, "rows": rows, "carried": carried, "bad_rows": bad,
               "settings": None, "progress": progress}


# --------------------------------------------------------------------------- #
# Parts, manifest, assembly
# --------------------------------------------------------------------------- #

class PartStore:
    """``.<name>.parts/`` beside the output: one file per finished chunk."""

    def __init__(self, out_path, fmt):
        self.out = os.path.abspath(out_path)
        folder, name = os.path.split(self.out)
        self.dir = os.path.join(folder, f".{name}.parts")
        self.manifest = os.path.join(self.dir, "manifest.json")
        self.fmt = fmt
        self.fresh = False

    def exists(self):
        return os.path.isdir(self.dir)

    def part_path(self, index):
        return os.path.join(self.dir, f"part-{index:06d}.json")

    def stats_path(self, index):
        return os.path.join(self.dir, f"stats-{index:06d}.json")

    def done(self):
        if not self.exists():
            return set()
        return {int(n[5:11]) for n in os.listdir(self.dir) if n.startswith("part-") and n.endswith(".json")}

    def start(self, signature, resume):
        if self.exists():
            if resume:
                try:
                    with open(self.manifest, encoding="utf-8") as f:
                        old = json.load(f)
                except (OSError, ValueError):
                    raise OutputError("cannot resume: the manifest of the interrupted run is missing or damaged; "
                                      "rerun with --force to start over") from None
                if old != signature:
                    raise OutputError("cannot resume: the input file or the options changed since the "
                                      "interrupted run; rerun with --force to start over")
                return self.done()
            shutil.rmtree(self.dir)
        self.fresh = True  # (with --resume: nothing to resume, so a fresh run; the summary says so)
        os.makedirs(self.dir)
        with open(self.manifest, "w", encoding="utf-8") as f:
            json.dump(signature, f, indent=1)
        return set()

    def write(self, result):
        """Write the chunk's counts, then its rows; the rows' rename marks the chunk done."""
        index = result["index"]
        with open(self.stats_path(index), "w", encoding="utf-8") as f:
            json.dump(result["stats"], f)
        if "columns" in result:
            with open(self.columns_path(index), "w", encoding="utf-8") as f:
                json.dump(result["columns"], f)
        tmp = self.part_path(index) + ".tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(result["part"])  # JSON made by process_chunk
            os.replace(tmp, self.part_path(index))
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)  # a full disk must not stay full of a half-written part
            raise

    def columns_path(self, index):
        return os.path.join(self.dir, f"columns-{index:06d}.json")

    def read_columns(self, index):
        """The output columns of a CSV or Parquet chunk (written by ``write``)."""
        with open(self.columns_path(index), encoding="utf-8") as f:
            return json.load(f)

    def read_stats(self, index):
        with open(self.stats_path(index), encoding="utf-8") as f:
            return json.load(f)

    def read(self, index):
        with open(self.part_path(index), encoding="utf-8") as f:
            return json.load(f)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _signature(path, opts, chunk_size, fmt):
    st = os.stat(path)
    return {
        "version": MANIFEST_VERSION,
        "input": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
        "format": fmt, "chunk_size": chunk_size,
        "text_col": opts.text_col, "order_col": opts.order_col, "id_col": opts.id_col,
        "sep": opts.sep, "encoding": opts.encoding, "sheet": opts.sheet,
        "group_by": list(opts.group_by or ()), "by_month": opts.by_month,
        "max_chars": opts.max_chars, "model": sha256_file(opts.model) if opts.model else None,
        "keep_text": keeps_text(opts, fmt),
    }


def _assemble(store, n_chunks, out_path, fmt, summary, carried_types=None):
    tmp = os.path.join(os.path.dirname(os.path.abspath(out_path)), f".{os.path.basename(out_path)}.tmp")
    try:
        if fmt == ".jsonl":
            with open(tmp, "w", encoding="utf-8") as f:
                for i in range(n_chunks):
                    for line in store.read(i)["rows"]:
                        f.write(line + "\n")
        elif fmt == ".csv":
            _assemble_csv(store, n_chunks, tmp)
        elif fmt == ".parquet":
            _assemble_parquet(store, n_chunks, tmp, carried_types or {})
        else:
            from .report import write_report
            write_report((row for i in range(n_chunks) for row in store.read(i)["rows"]), summary, tmp)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _columns_of(parts_columns):
    """The output's columns: the fixed ones, then every carried column of
    every chunk (``parts_columns``, from ``PartStore.read_columns``) in order
    of first appearance (a JSONL input's chunks can bring different keys)."""
    return list(FLAT_COLUMNS) + extra_columns(parts_columns, FLAT_COLUMNS)


def _assemble_csv(store, n_chunks, tmp):
    """The header, then each part's CSV rows as the worker wrote them. The
    header has every carried column of every chunk (a JSONL input's chunks
    can differ); a part with other columns is rewritten to the header's."""
    import csv
    parts_columns = [store.read_columns(i) for i in range(n_chunks)]
    columns = _columns_of(parts_columns)
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for i, part_columns in enumerate(parts_columns):
            part = store.read(i)
            if part_columns == columns or not part_columns:
                f.write(part["csv"])
                continue
            at = {c: k for k, c in enumerate(part_columns)}
            for cells in csv.reader(io.StringIO(part["csv"], newline="")):
                w.writerow([cells[at[c]] if c in at else "" for c in columns])


def _csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return neutralise(v) if isinstance(v, str) else v


def _assemble_parquet(store, n_chunks, tmp, carried_types):
    """Parquet output; carried columns of a Parquet input keep their types
    (``carried_types``: name -> Arrow type), the others are text."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    columns = _columns_of(store.read_columns(i) for i in range(n_chunks))
    fields = []
    for c in columns:
        if c in carried_types and c not in FLAT_COLUMNS:
            fields.append(pa.field(c, carried_types[c]))
        elif c in FLOAT_COLUMNS:
            fields.append(pa.field(c, pa.float64()))
        elif c in BOOL_COLUMNS:
            fields.append(pa.field(c, pa.bool_()))
        elif c in INT_COLUMNS:
            fields.append(pa.field(c, pa.int64()))
        else:
            fields.append(pa.field(c, pa.string()))
    schema = pa.schema(fields)
    with pq.ParquetWriter(tmp, schema) as writer:
        for i in range(n_chunks):
            rows = store.read(i)["rows"]
            data = {}
            for f_ in fields:
                vals = [r.get(f_.name) for r in rows]
                if f_.type == pa.string():
                    vals = [None if v is None else str(v) for v in vals]
                    data[f_.name] = pa.array(vals, type=f_.type)
                elif f_.name in carried_types:
                    data[f_.name] = _typed_array(vals, f_.type)
                else:
                    data[f_.name] = pa.array(vals, type=f_.type)
            writer.write_table(pa.table(data, schema=schema))


def _keeps_type(arrow_type):
    """Carried Parquet types written back as they were (others as text)."""
    import pyarrow as pa
    t = pa.types
    return (t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_boolean(arrow_type)
            or t.is_timestamp(arrow_type) or t.is_date(arrow_type))


def _typed_array(vals, arrow_type):
    """An Arrow array of a carried column's own type; timestamps and dates
    travel through the part files as text and are parsed back."""
    import pyarrow as pa
    try:
        return pa.array(vals, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in vals], type=pa.string()).cast(arrow_type)


# --------------------------------------------------------------------------- #
# Engines
# --------------------------------------------------------------------------- #

def _run_serial(payloads):
    for p in payloads:
        yield process_chunk(p)


def _run_pool(payloads, workers):
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_warm_worker) as pool:
        yield from _bounded(payloads, pool.submit, workers, wait, FIRST_COMPLETED)


def _warm_worker():
    from .extract import get_nlp
    get_nlp()


def _bounded(payloads, submit, workers, wait, first_completed):
    """Keep at most 2 x workers chunks in flight (bounded memory)."""
    in_flight = set()
    for p in payloads:
        in_flight.add(submit(process_chunk, p))
        if len(in_flight) >= 2 * workers:
            done, in_flight = wait(in_flight, return_when=first_completed)
            for fut in done:
                yield fut.result()
    while in_flight:
        done, in_flight = wait(in_flight, return_when=first_completed)
        for fut in done:
            yield fut.result()


def _run_dask(payloads, scheduler, workers):
    try:
        from distributed import Client, LocalCluster, wait
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("--engine dask needs the 'distributed' package") from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot reach the Dask scheduler {scheduler}: {type(exc).__name__}") from None
    try:
        n = max(1, len(client.scheduler_info().get("workers", {})) or workers)

        def submit(fn, p):
            return client.submit(fn, p, pure=False, key=f"spine-audit-chunk-{p['index']}-{time.time_ns()}")

        yield from _bounded(payloads, submit, n, wait, "FIRST_COMPLETED")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- #
# Progress
# --------------------------------------------------------------------------- #

class Progress:
    def __init__(self, total, enabled):
        self.total = total
        self.enabled = enabled
        self.start = time.monotonic()
        self.rows = 0

    def update(self, rows, position):
        self.rows += rows
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.rows / elapsed
        frac = min(position / self.total, 1.0) if self.total else 0.0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        bar = "#" * int(frac * 30)
        eta_txt = f"{eta:5.0f}s left" if eta == eta else "   ?s left"
        sys.stderr.write(f"\r[{bar:<30}] {self.rows:>9,} rows  {rate:8.0f} rows/s  {eta_txt}")
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")


# --------------------------------------------------------------------------- #
# The run
# --------------------------------------------------------------------------- #

def run_audit(input_path, out_path, opts=None):
    """Audit ``input_path`` into ``out_path``. Returns the run summary (a dict)."""
    opts = opts or AuditOptions()
    input_path, out_path = str(input_path), str(out_path)
    input_format(input_path)
    fmt = output_format(out_path)
    if not os.path.exists(input_path):
        raise InputError(f"input file not found: {input_path}")
    out_dir = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(out_dir):
        raise OutputError(f"output folder does not exist: {out_dir}")
    if os.path.exists(out_path) and os.path.samefile(input_path, out_path):
        # the source is never overwritten, whatever --force says (also through links)
        raise OutputError(f"the output {out_path} is the input file itself; choose another output path")
    if os.path.exists(out_path) and not opts.force:
        raise OutputError(f"{out_path} exists; use --force to overwrite")
    if opts.workers < 1:
        raise InputError("--workers must be at least 1")
    if opts.model:
        _model_for(opts.model)  # refuse an untrusted or mismatched model before any work
    chunk_size = opts.chunk_size or DEFAULT_CHUNK
    if chunk_size < 1:
        raise InputError("--chunk-size must be at least 1")

    cols = Columns(opts.text_col, opts.order_col, opts.id_col, sep=opts.sep, encoding=opts.encoding,
                   sheet=opts.sheet)
    # Everything that can be checked before the run starts is checked here,
    # so that a failed start leaves nothing behind (a corrected rerun is then
    # not refused for leftovers).
    if input_format(input_path) in DELIMITED:
        check_encoding(input_path, opts.encoding)
        cols.sep = sniff_delimiter(input_path, cols)  # once: the readers below use it
    columns = input_columns(input_path, cols)
    if columns is not None:
        check_columns(columns, cols, input_path, extra=[("group-by", c) for c in (opts.group_by or ())]
                      + ([("by-month", opts.by_month)] if opts.by_month else []))

    store = PartStore(out_path, fmt)
    if store.exists() and not (opts.resume or opts.force):
        raise OutputError(f"an interrupted run left partial results for {os.path.basename(out_path)}; "
                          "use --resume to continue it or --force to start over")
    carried_types = {}
    if input_format(input_path) == ".parquet" and fmt == ".parquet":
        import pyarrow.parquet as pq
        carried_types = {f.name: f.type for f in pq.ParquetFile(input_path).schema_arrow if _keeps_type(f.type)}
    signature = _signature(input_path, opts, chunk_size, fmt)
    done = store.start(signature, opts.resume)
    try:
        return _run(input_path, out_path, opts, fmt, chunk_size, cols, store, done, carried_types)
    except (InputError, OutputError):
        if not done and not store.done():
            store.cleanup()  # nothing finished: leave no manifest that would refuse the rerun
        raise
    except OSError as exc:
        # disk full, permission denied...: name the output, never a cell
        raise OutputError(f"cannot write {out_path} or its partial results beside it: "
                          f"{exc.strerror or type(exc).__name__}; finished chunks are kept, "
                          "rerun with --resume once the problem is fixed") from None


def _run(input_path, out_path, opts, fmt, chunk_size, cols, store, done, carried_types):
    settings = {"format": fmt, "max_chars": opts.max_chars,
                "model": os.path.abspath(opts.model) if opts.model else None,
                "group_by": list(opts.group_by or ()), "by_month": opts.by_month,
                "keep_text": keeps_text(opts, fmt)}
    started = time.monotonic()
    progress = Progress(progress_total(input_path, cols), enabled=not opts.quiet and sys.stderr.isatty())
    positions = {}
    n_chunks = 0

    def todo():
        nonlocal n_chunks
        for p in _payloads(input_path, cols, fmt, chunk_size):
            n_chunks = p["index"] + 1
            positions[p["index"]] = p.pop("progress")
            if p["index"] in done:
                progress.update(len(p["rows"]), positions[p["index"]])
                continue
            p["settings"] = settings
            yield p

    if opts.engine == "dask":
        results = _run_dask(todo(), opts.scheduler, opts.workers)
    elif opts.workers > 1:
        results = _run_pool(todo(), opts.workers)
    else:
        results = _run_serial(todo())
    resumed_chunks = len(done)
    rows_this_run = 0
    for result in results:
        store.write(result)
        rows_this_run += result["n"]
        progress.update(result["n"], positions.get(result["index"], 0))
    progress.close()

    totals = Counter()
    for i in range(n_chunks):
        totals.update(store.read_stats(i))
    summary = _summary(totals, time.monotonic() - started, input_path, out_path, resumed_chunks, n_chunks,
                       opts, rows_this_run)
    summary["fresh_start"] = bool(opts.resume and store.fresh)
    if summary.get("breakdown") is not None and fmt != ".html":
        summary["summary_file"] = os.path.basename(write_summary_json(summary, out_path))
    _assemble(store, n_chunks, out_path, fmt, summary, carried_types)
    store.cleanup()
    return summary


def _summary(totals, elapsed, input_path, out_path, resumed, n_chunks, opts, rows_this_run=None):
    def pick(prefix):
        return {k[len(prefix):]: v for k, v in sorted(totals.items()) if k.startswith(prefix)}
    rows = totals.get("rows", 0)
    rows_this_run = rows if rows_this_run is None else rows_this_run
    return {
        "input": os.path.basename(input_path), "output": os.path.basename(out_path),
        "rows": rows, "errors": totals.get("errors", 0),
        "orders_compared": totals.get("compared", 0), "orders_unparsed": totals.get("unparsed_orders", 0),
        "no_order": totals.get("no_order", 0), "mismatches": totals.get("mismatches", 0),
        "mismatch_types": pick("type:"), "categories": pick("category:"),
        "mismatch_by_category": pick("category_mismatch:"), "mismatch_by_urgency": pick("urgency_mismatch:"),
        "errors_by_code": pick("error_code:"),
        "breakdown": _breakdown(totals, opts),
        # the speed of this run: rows of chunks finished by an earlier, interrupted run do not count
        "elapsed_s": round(elapsed, 2), "rows_this_run": rows_this_run,
        "rows_per_s": round(rows_this_run / elapsed, 1) if elapsed > 0 else None,
        "chunks": n_chunks, "chunks_resumed": resumed, "engine": opts.engine,
        "workers": opts.workers, "model": bool(opts.model),
    }


def _wilson(k, n, z=1.96):
    """95% Wilson score interval of a proportion k/n."""
    if not n:
        return [0.0, 0.0]
    import math
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def _breakdown(totals, opts):
    """Mismatch rate per group (the --group-by columns and the month of
    --by-month) with counts, a 95% Wilson interval and counts per type."""
    if not opts.group_by and not opts.by_month:
        return None
    compared_by, types_by = {}, {}
    for key, n in totals.items():  # one pass over the counters, however many groups
        if key.startswith("group_compared:"):
            compared_by[key[len("group_compared:"):]] = n
        elif key.startswith("group_type:"):
            _, t, g = key.split(":", 2)
            types_by.setdefault(g, {})[t] = n
    out = []
    for g, compared in compared_by.items():
        mism = totals.get(f"group_mismatches:{g}", 0)
        types = types_by.get(g, {})
        out.append({"group": json.loads(g), "orders_compared": compared, "mismatches": mism,
                    "mismatch_rate": round(mism / compared, 4) if compared else None,
                    "ci95": _wilson(mism, compared), "mismatch_types": dict(sorted(types.items()))})
    out.sort(key=lambda r: [("" if v is None else v) for _, v in sorted(r["group"].items())])
    return out


def write_summary_json(summary, out_path):
    """``<out>.summary.json`` beside a table output (the run summary, with
    the breakdowns): written atomically, like the output."""
    path = f"{out_path}.summary.json"
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, default=str)
    os.replace(tmp, path)
    return path


def format_summary(s):
    lines = [
        f"spine-audit: {s['rows']:,} rows from {s['input']} -> {s['output']} in {s['elapsed_s']}s "
        f"({s['rows_per_s'] or 0:,.0f} rows/s, {s['engine']}, {s['workers']} worker(s))",
        f"  errors: {s['errors']:,}   orders compared: {s['orders_compared']:,}   unparsed orders: "
        f"{s['orders_unparsed']:,}   no order: {s['no_order']:,}",
        f"  mismatches: {s['mismatches']:,}"
        + (f" ({100 * s['mismatches'] / s['orders_compared']:.1f}% of compared orders)" if s["orders_compared"] else ""),
    ]
    for t, n in sorted(s["mismatch_types"].items(), key=lambda kv: -kv[1]):
        lines.append(f"    {t:<28}{n:>8,}")
    if s.get("errors_by_code"):
        lines.append("  errors by code: " + ", ".join(f"{c} {n:,}" for c, n in s["errors_by_code"].items()))
    if s.get("chunks_resumed"):
        lines.append(f"  resumed: {s['chunks_resumed']} of {s['chunks']} chunks were already done "
                     f"({s.get('rows_this_run', 0):,} rows processed in this run)")
    if s.get("fresh_start"):
        lines.append("  --resume: there was nothing to resume, so this was a fresh run")
    if s.get("breakdown"):
        lines.append("  mismatch rate by group (95% interval):")
        for r in s["breakdown"][:40]:
            label = ", ".join(f"{k}={v if v is not None else '(blank)'}" for k, v in sorted(r["group"].items()))
            rate = r["mismatch_rate"]
            lines.append(f"    {label:<40.40} {r['mismatches']:>6,}/{r['orders_compared']:<6,} "
                         + (f"{100 * rate:5.1f}% [{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}]"
                            if rate is not None else ""))
        if len(s["breakdown"]) > 40:
            lines.append(f"    ... {len(s['breakdown']) - 40} more groups in the summary file")
    return "\n".join(lines)


__all__ = ["AuditOptions", "run_audit", "process_chunk", "format_summary"]
