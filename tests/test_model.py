"""Mismatch model (issue 6): training, reproducibility, persistence checks,
scoring inside the audit."""

import json
import shutil

import pandas as pd
import pytest

from pipeline.errors import ModelError
from pipeline.model import CARD_SUFFIX, load_model, read_labelled, train

from conftest import ROOT, SAMPLES

SHIPPED = ROOT / "models" / "mismatch.joblib"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    path = tmp / "m.joblib"
    card = train([str(SAMPLES)], str(path), folds=3)
    return path, card


def test_model_card_records_what_a_reviewer_needs(trained):
    path, card = trained
    saved = json.loads((path.parent / (path.name + CARD_SUFFIX)).read_text())
    assert saved == card
    assert card["training_data"]["rows"] == 31 and card["training_data"]["positives"] == 17
    assert len(card["training_data"]["sha256"]) == 64 and len(card["sha256"]) == 64
    assert {"spine_audit", "scikit_learn", "joblib", "numpy", "python"} <= set(card["versions"])
    for who in ("model", "rules_only"):
        m = card["cross_validation"][who]
        assert 0 <= m["roc_auc"] <= 1 and 0 <= m["average_precision"] <= 1 and 0 <= m["brier"] <= 1
    assert "trusted" in card["warning"]


def test_model_scores_are_probabilities_and_reproducible(trained, tmp_path):
    path, _ = trained
    again = tmp_path / "again.joblib"
    train([str(SAMPLES)], str(again), folds=3)
    from pipeline import analyze_many
    rows = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
    rows = [r for r in rows if r["ordered"]]
    recs = list(analyze_many((r["id"], r["text"], r["ordered"]) for r in rows))
    texts, orders = [r["text"] for r in rows], [r["ordered"] for r in rows]
    a = load_model(str(path)).score(recs, texts, orders)
    b = load_model(str(again)).score(recs, texts, orders)
    assert ((a >= 0) & (a <= 1)).all()
    assert list(a) == list(b)
    # the model ranks true mismatches above matches on its own training data
    y = [bool(r["gold"]["mismatch_types"]) for r in rows]
    assert min(p for p, t in zip(a, y) if t) > max(p for p, t in zip(a, y) if not t) - 0.5


def test_model_refuses_tampered_file(trained, tmp_path):
    path, _ = trained
    bad = tmp_path / "bad.joblib"
    shutil.copy(path, bad)
    shutil.copy(str(path) + CARD_SUFFIX, str(bad) + CARD_SUFFIX)
    with open(bad, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(str(bad))


def test_model_refuses_version_mismatch_and_missing_card(trained, tmp_path):
    path, _ = trained
    other = tmp_path / "other.joblib"
    shutil.copy(path, other)
    with pytest.raises(ModelError, match="card not found"):
        load_model(str(other))
    card = json.loads((path.parent / (path.name + CARD_SUFFIX)).read_text())
    card["versions"]["scikit_learn"] = "0.0.1"
    (tmp_path / ("other.joblib" + CARD_SUFFIX)).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="scikit_learn 0.0.1"):
        load_model(str(other))


def test_model_reads_reviewer_exports(tmp_path):
    p = tmp_path / "reviewed.csv"
    pd.DataFrame({"text": ["Fever, LBP", "LBP x 2 days", "Neck pain", "no label"],
                  "ordered": ["MRI L-spine w/o", "72148", "72141", "72141"],
                  "label": ["mismatch", "ok", "OK", ""]}).to_csv(p, index=False)
    texts, orders, labels = read_labelled(str(p))
    assert labels == [1, 0, 0] and orders[1] == "72148"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_audit_with_model_fills_scores(trained, tmp_path, fmt):
    from pipeline.audit import AuditOptions, run_audit
    path, _ = trained
    rows = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
    df = pd.DataFrame([{"id": r["id"], "text": r["text"], "ordered": r["ordered"]} for r in rows])
    src = tmp_path / f"in.{fmt}"
    df.to_csv(src, index=False) if fmt == "csv" else df.to_parquet(src)
    out = tmp_path / f"out.{fmt}"
    run_audit(src, out, AuditOptions(quiet=True, model=str(path)))
    got = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    has_order = got["ordered_parsed"].astype(str).str.lower() == "true"
    assert got.loc[has_order, "mismatch_score"].between(0, 1).all()
    assert got.loc[~has_order, "mismatch_score"].isna().all()


def test_shipped_model_matches_its_card():
    if not SHIPPED.exists():
        pytest.skip("no shipped model")
    from pipeline.model import sha256_file
    card = json.loads((SHIPPED.parent / (SHIPPED.name + CARD_SUFFIX)).read_text())
    assert sha256_file(SHIPPED) == card["sha256"]
    assert card["training_data"]["rows"] >= 70


# --------------------------------------------------------------------------- #
# Issue 13: a model that learns from review decisions
# --------------------------------------------------------------------------- #

REVIEWED = ROOT.parent / "shared" / "data" / "reviewed" / "reviewed_dev.csv"
SIMULATED = ROOT / "models" / "review_simulated.joblib"


@pytest.mark.parametrize("text, reason, status", [
    ("Spine surgeon requests CT to assess bony anatomy before fusion.", "SURGICAL_PLANNING", "present"),
    ("No surgical plans at present.", "SURGICAL_PLANNING", "negated"),
    ("Known breast ca, restaging requested by oncology.", "ONCOLOGY_FOLLOW_UP", "present"),
    ("Patient is claustrophobic and declined MRI.", "PATIENT_FACTOR", "present"),
    ("Pt not claustrophobic.", "PATIENT_FACTOR", "negated"),
    ("She is 20 weeks pregnant so no contrast.", "PATIENT_FACTOR", "present"),
    ("Annual surveillance of known haemangioma per neurology.", "SPECIALIST_FOLLOW_UP", "present"),
    ("Full history: see clinic letter dated 3/2.", "DOCUMENTED_ELSEWHERE", "present"),
    # British/American spellings reach the same cue through the normal forms
    ("Follow-up of T9 hemangioma.", "SPECIALIST_FOLLOW_UP", "present"),
])
def test_reason_cues_present_or_negated(text, reason, status):
    from pipeline.reasons import reason_cues
    assert reason_cues([text])[0].get(reason) == status


def test_reason_cues_absent_and_non_text():
    from pipeline.reasons import reason_cues
    assert reason_cues(["LBP x 3 weeks, no fever, no weight loss.", None]) == [{}, {}]


def test_reason_cue_file_refuses_unknown_reason(tmp_path):
    from pipeline.errors import DataFileError
    from pipeline.reasons import load_review_cues
    bad = tmp_path / "cues.yaml"
    bad.write_text("version: 1\nreasons:\n  SURGERY_SOON: {phrases: [pre-op]}\n")
    with pytest.raises(DataFileError, match="SURGERY_SOON"):
        load_review_cues(bad)


def test_feature_frame_ties_a_reason_to_the_flag_it_would_explain():
    from pipeline import analyze
    from pipeline.model import feature_frame
    text = "Claustrophobic, could not tolerate MRI. 4 months of sciatica despite physio and NSAIDs."
    rec = analyze(text, ordered="CT lumbar spine without contrast")
    X = feature_frame([rec], [text], ["CT lumbar spine without contrast"])
    types = rec["mismatch"]["types"]
    assert "WRONG_MODALITY" in types
    assert X.loc[0, "cue_PATIENT_FACTOR"] == "present"
    assert X.loc[0, "x_PATIENT_FACTOR_WRONG_MODALITY"] == 1
    assert X.loc[0, "x_SURGICAL_PLANNING_WRONG_MODALITY"] == 0


@pytest.mark.parametrize("mismatch, ok", [("confirmed", "dismissed"), ("1", "0"), ("TRUE", "false"),
                                          ("yes", "no"), ("mismatch", "ok")])
def test_train_reads_label_spellings_and_named_columns(tmp_path, mismatch, ok):
    p = tmp_path / "reviewed.csv"
    pd.DataFrame({"note": ["Fever, LBP", "LBP x 2 days", "Neck pain", "unreviewed"],
                  "study": ["MRI L-spine w/o", "72148", "72141", "72141"],
                  "decision": [mismatch, ok, ok, "pending"]}).to_csv(p, index=False)
    texts, orders, labels = read_labelled(str(p), text_col="note", order_col="study", label_col="decision")
    assert labels == [1, 0, 0] and texts[0] == "Fever, LBP" and orders[2] == "72141"


def test_train_cli_takes_column_options(tmp_path):
    from pipeline.cli import main
    rows = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["ordered"]]
    p = tmp_path / "labels.csv"
    pd.DataFrame({"referral": [r["text"] for r in rows], "study": [r["ordered"] for r in rows],
                  "verdict": ["confirmed" if r["gold"]["mismatch_types"] else "dismissed" for r in rows]}
                 ).to_csv(p, index=False)
    out = tmp_path / "m.joblib"
    assert main(["train", str(p), "--text-col", "referral", "--order-col", "study", "--label-col", "verdict",
                 "--out", str(out), "--cv", "3"]) == 0
    card = json.loads((tmp_path / ("m.joblib" + CARD_SUFFIX)).read_text())
    assert card["training_data"]["rows"] == len(rows)
    assert card["features"]["set"] == "text+rules+cues+interactions"


def test_model_learns_the_simulated_review_policy():
    """Issue 13's bar: cross-validated ROC AUC >= 0.80 on the simulated reviews,
    where the rules alone (every row flagged) cannot rank (0.5)."""
    from conftest import need_shared
    need_shared(REVIEWED)
    import numpy as np
    from pipeline.model import cross_validate, feature_frame
    from pipeline.record import analyze_many
    texts, orders, labels = read_labelled(str(REVIEWED))
    recs = list(analyze_many((i, t, o) for i, (t, o) in enumerate(zip(texts, orders))))
    cv = cross_validate(feature_frame(recs, texts, orders), np.asarray(labels), 5)
    assert cv["n"] == 240
    assert cv["model"]["roc_auc"] >= 0.80
    assert abs(cv["rules_only"]["roc_auc"] - 0.5) < 0.05


def test_shipped_simulated_review_model_is_labelled_as_simulated():
    card = json.loads((SIMULATED.parent / (SIMULATED.name + CARD_SUFFIX)).read_text())
    from pipeline.model import sha256_file
    assert sha256_file(SIMULATED) == card["sha256"]
    assert "SIMULATED" in card["description"]
    assert card["training_data"]["files"] == ["reviewed_dev.csv"] and card["training_data"]["rows"] == 240
    assert card["cross_validation"]["model"]["roc_auc"] >= 0.80


def test_a_model_without_cue_features_scores_alike_without_the_cue_pass():
    """The shipped text+rules model never selects the cue columns, so skipping
    the cue pass for it changes no score; the simulated-review model uses them."""
    import numpy as np
    from pipeline import analyze_many
    from pipeline.model import feature_frame
    old, new = load_model(str(SHIPPED)), load_model(str(SIMULATED))
    assert not old.uses_cues() and new.uses_cues()
    rows = [r for r in (json.loads(line) for line in SAMPLES.read_text().splitlines()) if r["ordered"]]
    texts, orders = [r["text"] for r in rows], [r["ordered"] for r in rows]
    recs = list(analyze_many((r["id"], r["text"], r["ordered"]) for r in rows))
    with_cues = old.pipeline.predict_proba(feature_frame(recs, texts, orders, cues=True))[:, 1]
    assert np.array_equal(old.score(recs, texts, orders), with_cues)
