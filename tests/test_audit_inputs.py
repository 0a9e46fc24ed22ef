"""Exports as hospitals produce them (issue 12): delimiters, compression,
encodings, column checks up front, the source never overwritten, carried
Parquet types. Every input file is written by the test itself."""

import csv
import gzip
import io
import json
import os

import pandas as pd
import pytest

from pipeline.audit import AuditOptions, run_audit
from pipeline.errors import InputError, OutputError

HEADER = ["Accession", "Exam Description", "Reason for Exam", "Ordering Dept", "Site"]
ROWS = [
    ["A1", "MRI L-spine w/o", "Fever 38.9, IVDU, low back pain. R/o epidural abscess.", "Médecine", "Montréal"],
    ["A2", "72100", "LBP x 3 days, no red flags \u2013 café worker.", "Urgences", "Québec"],
    ["A3", "MRI C-spine w/o", "Assault, neck pain, midline tenderness C5.", "ED", "-5"],
]
OPTS = dict(text_col="Reason for Exam", order_col="Exam Description", id_col="Accession", quiet=True)


def _write(path, sep=",", encoding="utf-8", compress=False, bom=False):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows([HEADER] + ROWS)   # quotes as Excel does
    data = ("\ufeff" if bom else "") + buf.getvalue()
    raw = data.encode(encoding)
    if compress:
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def _check(out):
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in got] == ["A1", "A2", "A3"]
    assert [r["status"] for r in got] == ["ok", "ok", "ok"]
    assert [r["Site"] for r in got] == ["Montréal", "Québec", "-5"]
    assert got[0]["recommendation"]["category"] == "INFECTION"
    assert got[0]["mismatch"]["types"] == ["INCOMPLETE_COVERAGE", "MISSING_CONTRAST"]
    assert got[2]["ordered"]["modality"] == "MRI"
    return got


@pytest.mark.parametrize("name,kwargs", [
    ("export.csv", {}),
    ("export_bom.csv", {"bom": True}),
    ("export_semicolon.csv", {"sep": ";"}),
    ("export.tsv", {"sep": "\t"}),
    ("export.txt", {"sep": "\t"}),
    ("export.csv.gz", {"compress": True}),
    ("export_pipe.txt", {"sep": "|"}),
])
def test_inputs_delimited_text_in_its_usual_shapes(tmp_path, name, kwargs):
    src = _write(tmp_path / name, **kwargs)
    out = tmp_path / "out.jsonl"
    run_audit(src, out, AuditOptions(**OPTS))
    _check(out)


def test_inputs_cp1252_export_is_refused_with_the_encoding_to_pass_then_read(tmp_path):
    src = _write(tmp_path / "excel.csv", encoding="cp1252")
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError) as exc:
        run_audit(src, out, AuditOptions(**OPTS))
    message = str(exc.value)
    assert "not UTF-8" in message and "--encoding" in message and "1252" in message
    assert "\n" not in message and "Montr" not in message  # one line, no cell content
    assert not out.exists() and not (tmp_path / ".out.jsonl.parts").exists()   # a failed start leaves nothing
    run_audit(src, out, AuditOptions(encoding="cp1252", **OPTS))                # the rerun is not refused
    _check(out)


def test_inputs_wrong_encoding_name_is_one_line(tmp_path):
    src = _write(tmp_path / "x.csv")
    with pytest.raises(InputError, match="unknown encoding"):
        run_audit(src, tmp_path / "o.jsonl", AuditOptions(encoding="klingon", **OPTS))


@pytest.mark.parametrize("option,wrong,suggested", [
    ("text_col", "Reason for exam ", "Reason for Exam"),
    ("order_col", "Exam Descripton", "Exam Description"),
    ("id_col", "Accesion", "Accession"),
])
def test_inputs_every_named_column_must_exist_and_a_failed_start_leaves_nothing(tmp_path, option, wrong, suggested):
    src = _write(tmp_path / "export.csv")
    out = tmp_path / "out.csv"
    opts = dict(OPTS, **{option: wrong})
    with pytest.raises(InputError) as exc:
        run_audit(src, out, AuditOptions(**opts))
    message = str(exc.value)
    assert f"'{wrong}'" in message and f"did you mean '{suggested}'" in message and "Accession" in message
    assert os.listdir(tmp_path) == ["export.csv"]
    run_audit(src, out, AuditOptions(**OPTS))   # corrected: runs without --force or --resume
    assert len(pd.read_csv(out)) == 3


def test_inputs_default_order_and_id_columns_may_be_absent(tmp_path):
    src = tmp_path / "notes.csv"
    src.write_text("text\nLBP x 3 days, no red flags.\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    run_audit(src, out, AuditOptions(quiet=True))
    rec = json.loads(out.read_text())
    assert rec["id"] == 1 and rec["ordered"] is None


def test_inputs_the_source_is_never_overwritten(tmp_path):
    src = _write(tmp_path / "export.jsonl.csv")
    before = src.read_bytes()
    with pytest.raises(OutputError, match="is the input file itself"):
        run_audit(src, src, AuditOptions(force=True, **OPTS))
    link = tmp_path / "link.csv"
    os.symlink(src, link)
    with pytest.raises(OutputError, match="is the input file itself"):
        run_audit(src, link, AuditOptions(force=True, **OPTS))
    assert src.read_bytes() == before


def test_inputs_parquet_carried_columns_keep_their_types(tmp_path):
    df = pd.DataFrame({
        "text": ["Fever 38.9, LBP, r/o discitis.", "LBP x 3 days, no red flags."],
        "ordered": ["MRI L-spine w/o", None],
        "order_date": pd.to_datetime(["2024-03-01 08:30:00", "2024-03-02 17:05:00"]),
        "patient_age": pd.array([58, 44], dtype="int64"),
        "cost": [123.5, 99.0],
        "dept": ["ED", "Spine"],
    })
    src = tmp_path / "in.parquet"
    df.to_parquet(src)
    out = tmp_path / "out.parquet"
    run_audit(src, out, AuditOptions(quiet=True))
    got = pd.read_parquet(out)
    assert str(got["order_date"].dtype).startswith("datetime64")
    assert list(got["order_date"]) == list(df["order_date"])
    assert str(got["patient_age"].dtype) == "int64" and list(got["patient_age"]) == [58, 44]
    assert list(got["cost"]) == [123.5, 99.0] and list(got["dept"]) == ["ED", "Spine"]
    assert list(got["age_years"].isna()) == [True, True]


def test_inputs_unknown_format_names_the_choices(tmp_path):
    p = tmp_path / "export.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"unknown input format.*\.tsv"):
        run_audit(p, tmp_path / "o.csv", AuditOptions(quiet=True))


def test_spine_audit_import_name_is_the_public_api():
    import spine_audit
    from spine_audit import analyze, compare, parse_order, recommend
    assert spine_audit.__version__
    assert parse_order("MRI SI joints")["regions"] == ["LUMBAR"]
    assert recommend({}, None, ["LUMBAR"], 80)["category"] == "FRACTURE_RISK"
    rec = analyze("58M h/o prostate ca, new mid back pain.", ordered="MRI T-spine w/o")
    assert compare(rec["recommendation"], rec["ordered"]) == rec["mismatch"]["types"]
