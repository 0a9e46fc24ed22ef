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


def test_span_level_exact_and_overlap_by_hand():
    gold = [{"text": "x", "gold": {"concepts": {"FEVER": "present", "TRAUMA": "negated"},
                                   "spans": [{"start": 0, "end": 5, "concept": "FEVER", "status": "present"},
                                             {"start": 10, "end": 16, "concept": "TRAUMA", "status": "negated"}]}}]
    pred = [{"status": "ok", "concepts": {"FEVER": "present", "TRAUMA": "negated"}, "recommendation": None,
             "evidence": [{"concept": "FEVER", "start": 0, "end": 8, "status": "present"},      # overlap only
                          {"concept": "TRAUMA", "start": 10, "end": 16, "status": "negated"},   # exact
                          {"concept": "CAUDA_EQUINA", "start": 20, "end": 25, "status": "present"}]}]  # spurious
    m = score(gold, pred)["spans"]
    assert (m["exact"]["tp"], m["exact"]["fp"], m["exact"]["fn"]) == (1, 2, 1)
    assert (m["overlap"]["tp"], m["overlap"]["fp"], m["overlap"]["fn"]) == (2, 1, 0)


def test_benchmark_json_keys_on_a_public_corpus():
    from conftest import SHARED, need_shared
    path = SHARED / "data" / "negex" / "negex.jsonl"
    need_shared(path)
    res = subprocess.run([sys.executable, "-m", "pipeline.cli", "benchmark", str(path), "--split", "dev",
                          "--limit", "120", "--json"], capture_output=True, text=True, check=True)
    d = json.loads(res.stdout)
    assert d["n"] == 120 and 0 <= d["accuracy"] <= 1
    assert {"precision", "recall", "f1"} <= set(d["negated"])
    assert {"spine-audit", "negspacy en_clinical", "NegEx triggers"} <= set(d["systems"])


def test_referral_semantics_survive_the_corpus_tuning():
    """r/o, rule out, evaluate for stay suspicions after tuning on NegEx dev."""
    from pipeline.benchmark import SpineAssertionSystem
    s = SpineAssertionSystem()
    text = "R/o epidural abscess, rule out discitis, evaluate for osteomyelitis."
    for word in ("epidural abscess", "discitis", "osteomyelitis"):
        start = text.index(word)
        assert s.status(text, start, start + len(word)) == "present"
