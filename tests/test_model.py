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
