"""Batch audit (issue 4): formats, nothing lost, atomic output, resume,
parallel engines with identical output."""

import csv
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from pipeline.audit import AuditOptions, run_audit
from pipeline.errors import InputError, OutputError

SECRET = "Zebulon Quackenbush"

ROWS = [
    {"id": "a1", "text": "58M h/o prostate ca, new mid back pain x 2 wks, denies fever.", "ordered": "MRI T-spine w/o", "site": "north"},
    {"id": "a2", "text": "", "ordered": "MRI L-spine w/o", "site": "south"},
    {"id": "a3", "text": "Fever 39, IVDU, LBP. R/o epidural abscess.", "ordered": "72148", "site": "=cmd|' /C calc'!A0"},
    {"id": "a4", "text": "LBP x 3 days, no red flags.", "ordered": "", "site": "+1"},
    {"id": "a5", "text": SECRET + " neck pain x 2 wks " + "blah " * 40, "ordered": "please image", "site": "@x"},
    {"id": "a6", "text": "Assault, neck pain, midline tenderness C5.", "ordered": "MRI C-spine w/o", "site": "-2"},
]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def many_rows(n):
    base = ROWS
    return [dict(base[i % len(base)], id=f"r{i}") for i in range(n)]


@pytest.fixture
def csv_in(tmp_path):
    p = tmp_path / "in.csv"
    write_csv(p, ROWS)
    return p


def opts(**kw):
    kw.setdefault("quiet", True)
    kw.setdefault("max_chars", 150)
    return AuditOptions(**kw)


def test_audit_csv_every_row_in_order_with_status(csv_in, tmp_path):
    out = tmp_path / "out.csv"
    summary = run_audit(csv_in, out, opts(chunk_size=2))
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df["id"]) == [r["id"] for r in ROWS]
    assert list(df["status"]) == ["ok", "error", "ok", "ok", "error", "ok"]
    assert df.loc[1, "error"].startswith("E101") and df.loc[4, "error"].startswith("E103")
    assert SECRET not in out.read_text()
    assert summary["rows"] == 6 and summary["errors"] == 2
    # flattened columns of FORMATS.md, then carried columns
    for col in ("rec_category", "rec_modality", "rec_contrast", "rec_regions", "rec_urgency", "rec_flags",
                "ordered_modality", "ordered_contrast", "ordered_regions", "mismatch", "mismatch_types",
                "mismatch_score", "concepts_present", "concepts_negated", "site", "ordered"):
        assert col in df.columns
    assert df.loc[0, "mismatch_types"] == "INCOMPLETE_COVERAGE|MISSING_CONTRAST"
    assert df.loc[0, "rec_regions"] == "COMPLETE"
    assert df.loc[2, "concepts_present"].split("|") == ["FEVER", "IV_DRUG_USE", "SUSPECTED_SPINE_INFECTION"]


def test_audit_csv_cells_cannot_start_a_formula(csv_in, tmp_path):
    out = tmp_path / "out.csv"
    run_audit(csv_in, out, opts())
    sites = pd.read_csv(out, dtype=str, keep_default_na=False)["site"].tolist()
    # OWASP's rule for text cells; a number ("+1", "-2") is data and stays as it is (issue 12)
    assert sites[2].startswith("'=") and sites[4] == "'@x"
    assert sites[3] == "+1" and sites[5] == "-2"
    assert all(not s.startswith(("=", "@")) for s in sites)


def test_audit_ids_are_row_numbers_without_id_column(tmp_path):
    p = tmp_path / "in.csv"
    write_csv(p, [{k: v for k, v in r.items() if k != "id"} for r in ROWS])
    out = tmp_path / "o.jsonl"
    run_audit(p, out, opts())
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [1, 2, 3, 4, 5, 6]


def test_audit_parquet_roundtrip_and_non_text_values(tmp_path):
    df = pd.DataFrame({"note": ["Fever and LBP. R/o discitis.", None, "   "], "order": ["MRI L-spine w/wo", None, None],
                       "mrn_hash": [1, 2, 3]})
    p = tmp_path / "in.parquet"
    df.to_parquet(p)
    out = tmp_path / "out.parquet"
    run_audit(p, out, opts(text_col="note", order_col="order"))
    got = pd.read_parquet(out)
    assert list(got["status"]) == ["ok", "error", "error"]
    assert got.loc[1, "error"].startswith("E101") and got.loc[2, "error"].startswith("E101")
    assert list(got["id"]) == ["1", "2", "3"]
    assert got.loc[0, "mismatch"] == False  # noqa: E712 - explicit bool column
    assert list(got["mrn_hash"]) == [1, 2, 3]   # carried columns keep their type (issue 12)


def test_audit_jsonl_keeps_nested_records_and_bad_lines(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "j1", "text": "Neck pain x 2 wks, afebrile.", "ordered": "72141"}) + "\n"
                 + "{not json " + SECRET + "\n"
                 + json.dumps({"id": "j3", "text": "Bilateral leg weakness, urinary retention."}) + "\n"
                 + json.dumps({"id": "j4", "text": 42}) + "\n")
    out = tmp_path / "out.jsonl"
    run_audit(p, out, opts())
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in recs] == ["ok", "error", "ok", "error"]
    assert recs[3]["error"].startswith("E102")
    assert recs[1]["error"].startswith("E106") and SECRET not in recs[1]["error"]
    assert recs[0]["mismatch"]["types"] == ["NOT_INDICATED"]
    assert recs[2]["recommendation"]["category"] == "CAUDA_EQUINA"


def test_audit_run_level_errors(tmp_path, csv_in):
    with pytest.raises(InputError, match="not found"):
        run_audit(tmp_path / "nope.csv", tmp_path / "o.csv", opts())
    with pytest.raises(InputError, match=r"no text column 'note'; columns are: id, text, ordered, site"):
        run_audit(csv_in, tmp_path / "o.csv", opts(text_col="note"))
    with pytest.raises(InputError, match="unknown input format"):
        run_audit(tmp_path / "in.xls", tmp_path / "o.csv", opts())  # .xlsx is read since issue 12; .xls is not
    with pytest.raises(InputError, match="unknown output format"):
        run_audit(csv_in, tmp_path / "o.xlsx", opts())
    with pytest.raises(OutputError, match="folder does not exist"):
        run_audit(csv_in, tmp_path / "missing" / "o.csv", opts())
    (tmp_path / "exists.csv").write_text("keep me")
    with pytest.raises(OutputError, match="--force"):
        run_audit(csv_in, tmp_path / "exists.csv", opts())
    assert (tmp_path / "exists.csv").read_text() == "keep me"
    run_audit(csv_in, tmp_path / "exists.csv", opts(force=True))
    assert "rec_category" in (tmp_path / "exists.csv").read_text()


def test_audit_cli_errors_are_one_line_without_traceback(tmp_path, csv_in):
    cmd = [sys.executable, "-m", "pipeline.cli", "audit", str(csv_in), "--out", str(tmp_path / "o.csv"),
           "--text-col", "note"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode != 0
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "columns are: id, text, ordered, site" in res.stderr


def test_audit_interrupted_run_leaves_no_output_and_resumes(tmp_path, monkeypatch):
    import pipeline.audit as audit
    p = tmp_path / "in.csv"
    write_csv(p, many_rows(40))
    clean = tmp_path / "clean.csv"
    run_audit(p, clean, opts(chunk_size=5))

    out = tmp_path / "out.csv"
    real = audit.process_chunk
    seen = []

    def flaky(payload):
        seen.append(payload["index"])
        if payload["index"] == 3:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C
        return real(payload)

    monkeypatch.setattr(audit, "process_chunk", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_audit(p, out, opts(chunk_size=5))
    assert not out.exists()  # nothing that looks finished
    with pytest.raises(OutputError, match="--resume"):
        run_audit(p, out, opts(chunk_size=5))

    monkeypatch.setattr(audit, "process_chunk", real)
    summary = run_audit(p, out, opts(chunk_size=5, resume=True))
    assert summary["chunks_resumed"] == 3 and summary["chunks"] == 8
    assert out.read_bytes() == clean.read_bytes()
    assert not any(n.startswith(".out.csv") for n in os.listdir(tmp_path))


def test_audit_resume_refuses_changed_input(tmp_path, interrupt_audit):
    arm, disarm = interrupt_audit
    p = tmp_path / "in.csv"
    write_csv(p, many_rows(20))
    arm(1)
    with pytest.raises(KeyboardInterrupt):
        run_audit(p, tmp_path / "o.csv", opts(chunk_size=5))
    disarm()
    write_csv(p, many_rows(21))
    with pytest.raises(OutputError, match="changed"):
        run_audit(p, tmp_path / "o.csv", opts(chunk_size=5, resume=True))


@pytest.mark.slow
def test_audit_two_workers_identical_to_one(tmp_path):
    p = tmp_path / "in.csv"
    write_csv(p, many_rows(120))
    run_audit(p, tmp_path / "one.csv", opts(chunk_size=10))
    run_audit(p, tmp_path / "two.csv", opts(chunk_size=10, workers=2))
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


@pytest.mark.slow
def test_audit_dask_cluster_identical_to_local(tmp_path):
    distributed = pytest.importorskip("distributed")
    p = tmp_path / "in.parquet"
    pd.DataFrame(many_rows(90)).to_parquet(p)
    run_audit(p, tmp_path / "local.parquet", opts(chunk_size=10))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        summary = run_audit(p, tmp_path / "dask.parquet",
                            opts(chunk_size=10, engine="dask", scheduler=cluster.scheduler_address))
    assert summary["engine"] == "dask" and summary["rows"] == 90
    a, b = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_audit_unreachable_scheduler_is_a_clear_error(tmp_path, csv_in):
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        run_audit(csv_in, tmp_path / "o.csv", opts(engine="dask", scheduler="tcp://127.0.0.1:9"))
