"""Command line: ``spine-audit extract | explain | audit | evaluate | benchmark | review | train``.

Thin wrappers in the style of spaCy's ``*_cli`` functions: parse arguments,
call a pure function, print. User errors end in one line on stderr and a
non-zero exit status, never a traceback, and never contain note text.
"""

import argparse
import json
import os
import sys

from . import __version__
from .errors import SpineAuditError


def _emit(obj, as_json, render):
    """Print ``obj`` as JSON, or as ``render(obj)`` for people."""
    if as_json:
        json.dump(obj, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(obj) + "\n")


def _cmd_extract(args):
    from .record import analyze
    rec = analyze(args.text, ordered=args.ordered, id=args.id)
    json.dump(rec, sys.stdout, indent=2 if args.pretty else None)
    sys.stdout.write("\n")
    return 0


def _cmd_explain(args):
    from .explain import explain, format_explanation
    _emit(explain(args.text), args.json, format_explanation)
    return 0


def _cmd_audit(args):
    import signal
    from .audit import AuditOptions, run_audit

    def on_term(signum, frame):  # a scheduler's SIGTERM ends the run like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    opts = AuditOptions(
        text_col=args.text_col, order_col=args.order_col, id_col=args.id_col,
        sep=args.sep, encoding=args.encoding, sheet=args.sheet,
        group_by=tuple(c.strip() for g in (args.group_by or []) for c in g.split(",") if c.strip()),
        by_month=args.by_month,
        workers=args.workers, engine=args.engine, scheduler=args.scheduler,
        model=args.model, chunk_size=args.chunk_size, max_chars=args.max_chars,
        force=args.force, resume=args.resume, quiet=args.quiet, keep_text=args.keep_text,
    )
    try:
        summary = run_audit(args.input, args.out, opts)
    except KeyboardInterrupt:
        parts = os.path.join(os.path.dirname(os.path.abspath(args.out)), f".{os.path.basename(args.out)}.parts")
        if os.path.isdir(parts):
            sys.stderr.write(f"spine-audit: interrupted; finished chunks are kept in {parts}: run the same command "
                             "with --resume to continue\n")
        else:
            sys.stderr.write("spine-audit: interrupted before any chunk was finished; nothing was written\n")
        return 130
    if not args.quiet:
        from .audit import format_summary
        sys.stderr.write(format_summary(summary) + "\n")
    return 0


def _cmd_evaluate(args):
    from .evaluate import disagreements, evaluate_file
    from .evaluate_report import format_text, write_report
    metrics, rows, records = evaluate_file(args.gold, bootstrap=args.bootstrap)
    if args.out:
        write_report(metrics, args.out, source=args.gold)
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            for item in disagreements(rows, records):
                f.write(json.dumps(item) + "\n")
    _emit(metrics, args.json, format_text)
    return 0


def _cmd_benchmark(args):
    from .benchmark import format_benchmark, run_benchmark
    result = run_benchmark(args.corpus, split=args.split, limit=args.limit)
    _emit(result, args.json, format_benchmark)
    return 0


def _cmd_train(args):
    from .model import train
    card = train(args.labelled, args.out, folds=args.cv, force=args.force, text_col=args.text_col,
                 order_col=args.order_col, label_col=args.label_col, features=args.features, C=args.C,
                 description=args.description)
    cv = card["cross_validation"]
    m, r = cv["model"], cv["rules_only"]
    sys.stdout.write(
        f"trained on {cv['n']} labelled referrals ({cv['positives']} true mismatches), {cv['folds']}-fold CV:\n"
        f"  {'':<12}{'ROC AUC':>9}{'avg prec':>10}{'Brier':>8}\n"
        f"  {'model':<12}{m['roc_auc']:>9.3f}{m['average_precision']:>10.3f}{m['brier']:>8.3f}\n"
        f"  {'rules only':<12}{r['roc_auc']:>9.3f}{r['average_precision']:>10.3f}{r['brier']:>8.3f}\n"
        f"saved {args.out} and {args.out}.card.json (a model file is code: share it only from a trusted source)\n")
    return 0


def _cmd_review_serve(args):
    from .review.app import check_bind, serve, token_from_env
    from .review.db import ReviewDB
    token = token_from_env(args.token)
    check_bind(args.host, token)
    db = ReviewDB(args.db)
    if args.audit:
        c = db.load_audit(args.audit)
        if c["already_loaded"]:
            sys.stderr.write(f"{os.path.basename(args.audit)} was loaded before: nothing added\n")
        else:
            sys.stderr.write(f"loaded {os.path.basename(args.audit)}: {c['rows']:,} rows, {c['added']:,} flagged "
                             f"referrals added, {c['updated']:,} updated, {c['unchanged']:,} already there\n")
    h = db.health()

    def ready(server):
        host = f"[{args.host}]" if ":" in args.host else args.host
        port = server.effective_port
        hint = "?token=..." if token else ""
        sys.stderr.write(f"review app: http://{host}:{port}/{hint} ({h['referrals']:,} referrals, "
                         f"{h['decided']:,} decided; Ctrl-C stops)\n")
        sys.stderr.flush()

    serve(db, host=args.host, port=args.port, token=token, on_ready=ready)
    return 0


def _cmd_review_export(args):
    from .review.app import export_csv
    from .review.db import ReviewDB
    if os.path.exists(args.out) and not args.force:
        from .errors import OutputError
        raise OutputError(f"{args.out} exists; use --force to overwrite")
    db = ReviewDB(args.db)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        n = export_csv(db, f)
    os.replace(tmp, args.out)
    sys.stderr.write(f"wrote {n:,} decided referrals to {args.out} (spine-audit train {args.out} --out MODEL)\n")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="spine-audit",
        description="Check spine imaging orders against guideline recommendations from the referral text.")
    parser.add_argument("--version", action="version", version=f"spine-audit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("extract", help="analyse one referral and print its result record as JSON")
    p.add_argument("text", help="the referral text")
    p.add_argument("--ordered", "-o", default=None, help="the ordered study (free text or CPT code)")
    p.add_argument("--id", default=None, help="an id to put in the record")
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser("explain", help="show why one referral was read as it was: matches, patterns, cues, "
                                       "scopes and statuses (for lexicon editing)")
    p.add_argument("text", help="the referral text")
    p.add_argument("--json", action="store_true", help="print the explanation as JSON (for tools)")
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser("audit", help="analyse a batch (CSV, Parquet, JSONL) into CSV, Parquet, JSONL or HTML")
    p.add_argument("input", help="input file: .csv, .tsv, .txt (also .gz, .bz2, .xz, .zst), .xlsx, .parquet or .jsonl")
    p.add_argument("--out", required=True, help="output file: .csv, .parquet, .jsonl or .html")
    p.add_argument("--text-col", default="text", help="column with the referral text (default: text)")
    p.add_argument("--order-col", default=None,
                   help="column with the ordered study (default: ordered, which may be absent; a name you give must exist)")
    p.add_argument("--id-col", default=None,
                   help="column with the row id (default: id, row number when absent; a name you give must exist)")
    p.add_argument("--group-by", action="append", default=None, metavar="COL[,COL...]",
                   help="break mismatch rates down by these carried columns (site, department, provider); "
                        "repeatable")
    p.add_argument("--by-month", default=None, metavar="DATECOL",
                   help="break mismatch rates down by the calendar month of this date column")
    p.add_argument("--sheet", default=None, help="sheet of an .xlsx input (default: the first)")
    p.add_argument("--sep", default=None, help="delimiter of a text input (default: sniffed among , ; tab |; 'tab' for tab)")
    p.add_argument("--encoding", default=None,
                   help="encoding of a text input (default: UTF-8, with or without BOM; e.g. cp1252 for Excel on Windows)")
    p.add_argument("--workers", "-w", type=int, default=1, help="processes on this machine (default: 1)")
    p.add_argument("--engine", choices=("local", "dask"), default="local", help="local processes or a Dask cluster")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://HOST:PORT)")
    p.add_argument("--model", default=None, help="mismatch model file (trusted source only)")
    p.add_argument("--chunk-size", type=int, default=None, help="rows per chunk (default: 5000)")
    p.add_argument("--max-chars", type=int, default=100_000, help="longest note analysed (default: 100000)")
    p.add_argument("--keep-text", action=argparse.BooleanOptionalAction, default=None,
                   help="carry the note text (and, in CSV/Parquet, the evidence as JSON) into the output, so the "
                        "review app needs no second file (default: on for .jsonl, off for .csv/.parquet)")
    p.add_argument("--force", "-f", action="store_true", help="overwrite an existing output file")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last complete chunk")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser("evaluate", help="score the pipeline against gold annotations")
    p.add_argument("gold", help="gold JSONL (FORMATS.md)")
    p.add_argument("--out", default=None, help="report file: .json, .md or .html")
    p.add_argument("--errors", default=None, help="write every disagreement to this JSONL file")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for 95%% CIs (0 = none)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("benchmark", help="assertion detection alone on a public corpus (NegEx, ConText, BioScope)")
    p.add_argument("corpus", help="corpus JSONL: text, start, end and a label per line")
    p.add_argument("--split", choices=("dev", "test", "all"), default="test", help="which part (default: test)")
    p.add_argument("--limit", type=int, default=None, help="first N lines only")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=_cmd_benchmark)

    p = sub.add_parser("review", help="QA review of flagged referrals: a local web app and its database")
    rsub = p.add_subparsers(dest="review_command", required=True)
    r = rsub.add_parser("serve", help="load an audit output (optional) and serve the review app")
    r.add_argument("audit", nargs="?", default=None,
                   help="audit output (.jsonl or .parquet, from audit --keep-text); loading it again adds nothing")
    r.add_argument("--db", required=True, help="review database: a SQLite file, or a SQLAlchemy URL "
                                               "(postgresql+psycopg://user@host/db)")
    r.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    r.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    r.add_argument("--token", default=None, help="required on every request (default: $SPINE_AUDIT_REVIEW_TOKEN); "
                                                "needed to bind beyond 127.0.0.1")
    r.set_defaults(func=_cmd_review_serve)
    r = rsub.add_parser("export", help="write the decisions as a labelled CSV for spine-audit train")
    r.add_argument("--db", required=True, help="review database (file or SQLAlchemy URL)")
    r.add_argument("--out", required=True, help="CSV file to write")
    r.add_argument("--force", "-f", action="store_true", help="overwrite an existing file")
    r.set_defaults(func=_cmd_review_export)

    p = sub.add_parser("train", help="fit the optional mismatch model from reviewed referrals")
    p.add_argument("labelled", nargs="+", help="gold JSONL and/or CSV/Parquet with text, ordered and label columns")
    p.add_argument("--out", required=True, help="model file to write (a .card.json is written beside it)")
    p.add_argument("--text-col", default="text", help="column with the referral text (default: text)")
    p.add_argument("--order-col", default="ordered", help="column with the ordered study (default: ordered)")
    p.add_argument("--label-col", default="label",
                   help="column with the label (default: label): mismatch/ok, 1/0, true/false, yes/no, "
                        "confirmed/dismissed; other values are unreviewed rows and are skipped")
    from .model import DEFAULT_FEATURES, FEATURE_SETS  # no heavy import at the top of model.py
    p.add_argument("--features", choices=list(FEATURE_SETS), default=DEFAULT_FEATURES,
                   help=f"feature set (default: {DEFAULT_FEATURES}, chosen by cross-validation; "
                        "scripts/model_selection.py compares them)")
    p.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength (default: 1.0)")
    p.add_argument("--description", default=None, help="a line for the model card (what the labels are)")
    p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default: 5)")
    p.add_argument("--force", "-f", action="store_true", help="overwrite an existing model")
    p.set_defaults(func=_cmd_train)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SpineAuditError as exc:
        sys.stderr.write(f"spine-audit: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("spine-audit: interrupted\n")
        return 130
    except OSError as exc:
        # file-system problems name the path, never note text
        sys.stderr.write(f"spine-audit: error: {exc.strerror or type(exc).__name__}: {exc.filename or ''}\n")
        return 2
    except Exception as exc:  # noqa: BLE001 - a last resort that must not leak note text
        if os.environ.get("SPINE_AUDIT_DEBUG"):
            raise
        sys.stderr.write(f"spine-audit: error: unexpected {type(exc).__name__} (details withheld because they "
                         "may quote note text; set SPINE_AUDIT_DEBUG=1 to see them)\n")
        return 3


if __name__ == "__main__":
    sys.exit(main())
