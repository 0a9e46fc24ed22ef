"""Result records (FORMATS.md) and bad input handling."""

import json
import subprocess
import sys

import pytest

from pipeline import analyze, analyze_many

RECORD_KEYS = {"id", "status", "error", "concepts", "evidence", "duration_weeks", "regions", "age_years",
               "recommendation", "ordered", "mismatch"}
REC_KEYS = {"category", "scenarios", "modality", "contrast", "regions", "urgency", "flags",
            "alternatives", "rule_ids", "citations"}
SECRET = "Zebulon Quackenbush"  # a "patient name" that must never leak into errors


def test_record_shape_with_order():
    rec = analyze("58M h/o prostate ca, new mid back pain x 2 wks, denies fever.", ordered="MRI T-spine w/o",
                  id="r17")
    assert set(rec) == RECORD_KEYS
    assert rec["id"] == "r17" and rec["status"] == "ok" and rec["error"] is None
    assert set(rec["recommendation"]) == REC_KEYS
    assert rec["ordered"] == {"raw": "MRI T-spine w/o", "parsed": True, "modality": "MRI",
                              "contrast": "WITHOUT", "regions": ["THORACIC"]}
    assert rec["mismatch"] == {"is_mismatch": True, "types": ["INCOMPLETE_COVERAGE", "MISSING_CONTRAST"],
                               "score": None}
    json.dumps(rec)  # serialisable


def test_record_without_order_has_null_mismatch():
    rec = analyze("Low back pain x 3 days, no fever.")
    assert rec["ordered"] is None and rec["mismatch"] is None
    assert rec["recommendation"]["category"] == "UNCOMPLICATED"


def test_record_unparsed_order_is_counted_not_compared():
    rec = analyze("Fever and back pain.", ordered="please image asap")
    assert rec["ordered"]["parsed"] is False
    assert rec["mismatch"] == {"is_mismatch": None, "types": None, "score": None}


@pytest.mark.parametrize("text,code", [
    ("", "E101"), ("   \n ", "E101"), (None, "E101"), (float("nan"), "E101"),
    (12345, "E102"), (b"\xff\xfe" + SECRET.encode(), "E104"),
    (SECRET + " \ufffd back pain", "E104"),
])
def test_record_bad_rows_become_error_records(text, code):
    rec = analyze(text, id=7)
    assert rec["status"] == "error" and rec["id"] == 7
    assert rec["error"].startswith(code)
    assert SECRET not in rec["error"]
    assert rec["concepts"] is None and rec["recommendation"] is None


def test_record_size_limit():
    rec = analyze(SECRET + " back pain " * 50, max_chars=100)
    assert rec["status"] == "error" and "100" in rec["error"] and SECRET not in rec["error"]


def test_record_batch_keeps_every_row_in_order():
    rows = [("a", "Fever and LBP.", None), ("b", "", None), ("c", b"\xff", "MRI L-spine"),
            ("d", "Neck pain x 2 wks.", "72141"), ("e", "x" * 10, None)]
    recs = list(analyze_many(rows, batch_size=2))
    assert [r["id"] for r in recs] == ["a", "b", "c", "d", "e"]
    assert [r["status"] for r in recs] == ["ok", "error", "error", "ok", "ok"]


def test_record_pipeline_exception_marks_only_that_row():
    from pipeline.extract import get_extractor, get_nlp

    class Exploding:
        """A pipeline whose extractor fails on one note (with note text in the message)."""
        def __init__(self, nlp):
            real = get_extractor(nlp)

            def extract(text):
                if "explode" in text:
                    raise RuntimeError("boom " + SECRET)
                return real(text)
            self._spine_extractor = extract

    recs = list(analyze_many([(1, "LBP x 2 days", None), (2, "explode " + SECRET, None), (3, "Neck pain", None)],
                             nlp=Exploding(get_nlp())))
    assert [r["status"] for r in recs] == ["ok", "error", "ok"]
    assert recs[1]["error"].startswith("E105") and SECRET not in recs[1]["error"]


def test_cli_extract_prints_record():
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract", "Fever 38.9, LBP. R/o epidural abscess.",
                          "--ordered", "MRI L-spine w/o"], capture_output=True, text=True, check=True)
    rec = json.loads(out.stdout)
    assert rec["recommendation"]["category"] == "INFECTION"
    assert rec["mismatch"]["types"] == ["MISSING_CONTRAST"]


def test_cli_usage_error_is_one_line():
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "audit", "/no/such/file.csv", "--out", "x.csv"],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_spacy_import_is_lazy_for_the_rules_layer():
    code = "import sys; from pipeline import recommend, parse_order, compare; " \
           "recommend({'FEVER': 'present'}, 1, ['LUMBAR']); print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_unexpected_error_withholds_details(tmp_path, monkeypatch):
    """A third-party exception message may quote a cell: the CLI must not print it."""
    from pipeline import cli

    def boom(args):
        raise RuntimeError("could not convert '" + SECRET + " fell off a ladder'")

    parser = cli.build_parser()
    args = parser.parse_args(["extract", "x"])
    monkeypatch.setattr(cli, "_cmd_extract", boom)
    import io
    import contextlib
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["extract", "x"])
    assert code == 3 and SECRET not in err.getvalue() and "withheld" in err.getvalue()
    assert args.text == "x"
