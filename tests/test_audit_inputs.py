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


def _write(path, sep=",", encoding="utf-8", compress=False, bom=False, zstd=False):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows([HEADER] + ROWS)   # quotes as Excel does
    data = ("\ufeff" if bom else "") + buf.getvalue()
    raw = data.encode(encoding)
    if compress:
        raw = gzip.compress(raw)
    if zstd:
        import zstandard
        raw = zstandard.ZstdCompressor().compress(raw)
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
    ("export.tsv.zst", {"sep": "\t", "zstd": True}),
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


def test_inputs_headerless_file_does_not_leak_its_first_note_into_the_error(tmp_path):
    src = tmp_path / "noheader.csv"
    note = "Zebulon Quackenbush 58M with new mid back pain after a fall, h/o prostate ca"
    src.write_text(f'A1,"{note}",MRI T-spine w/o\nA2,LBP x 3 days,72100\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        run_audit(src, tmp_path / "o.csv", AuditOptions(quiet=True))
    message = str(exc.value)
    assert "Zebulon" not in message and "prostate" not in message
    assert "no text column 'text'" in message and "characters, not shown" in message and "A1" in message


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


# --- run control (issue 12): summary, resume, signals, full disks ---------------------------------

def _many(path, n):
    rows = [{"id": f"r{i}", "text": ["LBP x 3 days, no red flags.", "", "Fever 38.9, r/o discitis."][i % 3],
             "ordered": "MRI L-spine w/o"} for i in range(n)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_summary_breaks_errors_down_by_code(tmp_path):
    src = _many(tmp_path / "in.csv", 9)
    summary = run_audit(src, tmp_path / "o.csv", AuditOptions(quiet=True))
    assert summary["errors"] == 3 and summary["errors_by_code"] == {"E101": 3}
    from pipeline.audit import format_summary
    assert "errors by code: E101 3" in format_summary(summary)


def test_resume_with_nothing_to_resume_is_a_fresh_run(tmp_path):
    src = _many(tmp_path / "in.csv", 6)
    summary = run_audit(src, tmp_path / "o.csv", AuditOptions(quiet=True, resume=True))
    assert summary["rows"] == 6 and summary["fresh_start"] is True and summary["chunks_resumed"] == 0


def test_resumed_run_counts_only_its_own_rows(tmp_path, interrupt_audit):
    arm, disarm = interrupt_audit
    src = _many(tmp_path / "in.csv", 40)
    arm(5)
    with pytest.raises(KeyboardInterrupt):
        run_audit(src, tmp_path / "o.csv", AuditOptions(quiet=True, chunk_size=5))
    disarm()
    summary = run_audit(src, tmp_path / "o.csv", AuditOptions(quiet=True, chunk_size=5, resume=True))
    assert summary["rows"] == 40 and summary["chunks_resumed"] == 5 and summary["rows_this_run"] == 15


def test_full_disk_names_the_output_and_leaves_no_temporary_part(tmp_path, monkeypatch):
    import errno
    import pipeline.audit as audit
    src = _many(tmp_path / "in.csv", 12)
    real_replace = os.replace
    calls = {"n": 0}

    def full(a, b):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(a, b)

    monkeypatch.setattr(audit.os, "replace", full)
    out = tmp_path / "o.csv"
    with pytest.raises(OutputError, match=r"cannot write .*o\.csv.*No space left on device.*--resume"):
        run_audit(src, out, AuditOptions(quiet=True, chunk_size=5))
    parts = tmp_path / ".o.csv.parts"
    assert not any(n.endswith(".tmp") for n in os.listdir(parts))
    monkeypatch.setattr(audit.os, "replace", real_replace)
    summary = run_audit(src, out, AuditOptions(quiet=True, chunk_size=5, resume=True))
    assert summary["rows"] == 12 and summary["chunks_resumed"] == 1


@pytest.mark.slow
def test_sigterm_leaves_a_resumable_run_and_says_how_to_resume(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    src = _many(tmp_path / "in.csv", 3000)
    out = tmp_path / "o.csv"
    cmd = [sys.executable, "-m", "pipeline.cli", "audit", str(src), "--out", str(out), "--chunk-size", "100"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = tmp_path / ".o.csv.parts"
    deadline = time.time() + 60
    while time.time() < deadline and not (parts.exists() and any(n.startswith("part-") for n in os.listdir(parts))):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    done = subprocess.run(cmd + ["--resume", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(out)) == 3000


def test_breakdowns_by_site_department_and_month(tmp_path):
    rows = []
    for i in range(12):
        rows.append({"Accession": f"A{i}", "Reason for Exam": "LBP x 3 days, no red flags." if i % 2 else
                     "Fever 38.9, r/o discitis.", "Exam Description": "MRI L-spine w/o",
                     "Site": "North" if i < 6 else "South", "Dept": "ED" if i % 3 else "Spine",
                     "Order Date": f"2024-0{1 + i % 2}-15"})
    src = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    out = tmp_path / "audit.csv"
    opts = dict(OPTS, group_by=("Site",), by_month="Order Date")
    summary = run_audit(src, out, AuditOptions(**opts))
    groups = {(r["group"]["Site"], r["group"]["month"]): r for r in summary["breakdown"]}
    assert set(groups) == {("North", "2024-01"), ("North", "2024-02"), ("South", "2024-01"), ("South", "2024-02")}
    # even rows (month 01) are suspected infection with MRI without contrast: MISSING_CONTRAST;
    # odd rows (month 02) are uncomplicated: NOT_INDICATED
    north_jan = groups[("North", "2024-01")]
    assert north_jan["orders_compared"] == 3 and north_jan["mismatches"] == 3
    assert north_jan["mismatch_types"] == {"MISSING_CONTRAST": 3}
    assert north_jan["ci95"][0] < 1.0 <= north_jan["ci95"][1] + 1e-9
    side = json.loads((tmp_path / "audit.csv.summary.json").read_text())
    assert side["breakdown"] == summary["breakdown"]
    html = tmp_path / "audit.html"
    run_audit(src, html, AuditOptions(**opts))
    page = html.read_text()
    assert "Mismatch rate by group" in page and "South" in page and "2024-02" in page
    assert "Site: North" in page and "Order Date: 2024-01-15" in page   # beside each flagged referral
    with pytest.raises(InputError, match=r"no group-by column 'Sitee'.*did you mean 'Site' \(--group-by\)"):
        run_audit(src, tmp_path / "x.csv", AuditOptions(**dict(OPTS, group_by=("Sitee",))))


def test_wilson_interval_matches_the_textbook_values():
    from pipeline.audit import _wilson
    assert _wilson(0, 0) == [0.0, 0.0]
    lo, hi = _wilson(5, 10)          # 0.5 +- : (0.2366, 0.7634)
    assert abs(lo - 0.2366) < 1e-3 and abs(hi - 0.7634) < 1e-3
    lo, hi = _wilson(0, 20)          # (0, 0.1611)
    assert lo == 0.0 and abs(hi - 0.1611) < 1e-3


def test_inputs_xlsx_first_sheet_or_named_sheet(tmp_path):
    import datetime
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "Cover"
    ws.append(["nothing here"])
    data = wb.create_sheet("Orders")
    data.append(HEADER + ["Order Date", "Age"])
    for r in ROWS:
        data.append(r + [datetime.datetime(2024, 3, 1, 9, 30), 58])
    data.append([None] * 7)  # a formatted, empty row
    src = tmp_path / "export.xlsx"
    wb.save(src)
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match="no text column 'Reason for Exam'"):
        run_audit(src, out, AuditOptions(**OPTS))     # the first sheet is the cover sheet
    with pytest.raises(InputError, match="no sheet 'Order'; sheets are: Cover, Orders"):
        run_audit(src, out, AuditOptions(sheet="Order", **OPTS))
    run_audit(src, out, AuditOptions(sheet="Orders", **OPTS))
    got = _check(out)
    assert [r["Age"] for r in got] == [58, 58, 58]
    assert got[0]["Order Date"].startswith("2024-03-01")


def test_csv_output_keeps_carried_columns_that_appear_in_later_chunks(tmp_path):
    """JSONL rows need not share keys: a column first seen in a later chunk
    is still written (blank for the rows without it), each value under its
    own header, whichever chunk it came from."""
    rows = [{"id": f"r{k}", "text": "58M LBP x 3 days, denies fever", "ordered": "MRI L-spine w/o", "site": f"S{k}"}
            for k in range(3)]
    rows += [{"id": f"r{k}", "text": "neck pain after MVC", "ordered": "CT C-spine", "dept": f"D{k}",
              "site": f"S{k}"} for k in range(3, 6)]
    rows += [{"id": "r6", "text": "fever, IVDU, back pain", "ordered": "XR L-spine"}]
    src = tmp_path / "varied.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for name, workers in (("o.csv", 1), ("o.csv", 2), ("o.parquet", 1), ("o.parquet", 2)):
        out = tmp_path / name
        run_audit(src, out, AuditOptions(quiet=True, force=True, chunk_size=3, workers=workers))
        if name.endswith(".csv"):
            with open(out, newline="", encoding="utf-8") as f:
                got = list(csv.DictReader(f))
        else:
            got = [{k: ("" if v is None or (isinstance(v, float) and pd.isna(v)) else v) for k, v in r.items()}
                   for r in pd.read_parquet(out).to_dict("records")]
        assert [r["id"] for r in got] == [f"r{k}" for k in range(7)]
        assert [r["site"] for r in got] == ["S0", "S1", "S2", "S3", "S4", "S5", ""]
        assert [r["dept"] for r in got] == ["", "", "", "D3", "D4", "D5", ""]
        assert [r["status"] for r in got] == ["ok"] * 7
