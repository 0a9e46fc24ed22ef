"""`spine-audit evaluate`: metrics from a pure function, reports from the CLI."""

import json
import subprocess
import sys

from pipeline.evaluate import score

from conftest import SAMPLES


def _gold(concepts, rec=None, mm=None, **kw):
    g = {"concepts": concepts, "duration_weeks": kw.get("dur"), "regions": kw.get("regions", [])}
    if rec:
        g["recommendation"] = rec
    g["mismatch_types"] = mm
    return {"text": "x", "gold": g}


def _pred(concepts, rec=None, types=None, dur=None, regions=()):
    return {"status": "ok", "concepts": concepts, "duration_weeks": dur, "regions": list(regions),
            "recommendation": rec, "ordered": None,
            "mismatch": None if types is None else {"is_mismatch": bool(types), "types": types, "score": None}}


def test_score_counts_by_hand():
    # doc 1: FEVER present found (tp); TRAUMA negated gold, predicted present (fp + assertion error)
    # doc 2: CANCER_HISTORY present missed (fn, predicted absent)
    gold = [_gold({"FEVER": "present", "TRAUMA": "negated"}, mm=["MISSING_CONTRAST"]),
            _gold({"CANCER_HISTORY": "present"}, mm=[])]
    pred = [_pred({"FEVER": "present", "TRAUMA": "present"}, types=["MISSING_CONTRAST"]),
            _pred({}, types=["WRONG_REGION"])]
    m = score(gold, pred)
    micro = m["concepts"]["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (1, 1, 1)
    assert abs(micro["f1"] - 0.5) < 1e-9
    assert m["assertion"]["n"] == 3 and abs(m["assertion"]["accuracy"] - 1 / 3) < 1e-9
    assert m["assertion"]["confusion"]["negated"]["present"] == 1
    assert m["assertion"]["confusion"]["present"]["absent"] == 1
    det = m["mismatch"]["detection"]
    assert (det["tp"], det["fp"], det["fn"]) == (1, 1, 0)
    assert m["mismatch"]["per_type"]["WRONG_REGION"]["fp"] == 1


def test_bootstrap_is_reproducible():
    gold = [_gold({"FEVER": "present"}), _gold({"FEVER": "negated"}), _gold({"CANCER_HISTORY": "present"})]
    pred = [_pred({"FEVER": "present"}), _pred({"FEVER": "present"}), _pred({})]
    a = score(gold, pred, bootstrap=200, seed=3)["headline_ci95"]
    b = score(gold, pred, bootstrap=200, seed=3)["headline_ci95"]
    assert a == b and a["concept_micro_f1"][0] <= a["concept_micro_f1"][1]


def test_cli_evaluate_reports(tmp_path):
    for ext in ("json", "md", "html"):
        out = tmp_path / f"r.{ext}"
        errors = tmp_path / "errors.jsonl"
        res = subprocess.run([sys.executable, "-m", "pipeline.cli", "evaluate", str(SAMPLES), "--out", str(out),
                              "--errors", str(errors), "--bootstrap", "50"], capture_output=True, text=True, check=True)
        assert "concept micro-F1" in res.stdout
        assert out.stat().st_size > 500
    metrics = json.loads((tmp_path / "r.json").read_text())
    assert metrics["headline"]["concept_micro_f1"] == 1.0  # the samples' hand-written gold
    assert "<table>" in (tmp_path / "r.html").read_text()
    assert errors.read_text() == ""  # no disagreement on the samples
