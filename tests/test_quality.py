"""Quality bars of issues 2 and 3, measured on the shared dev set (the
tuning set) and on the bundled invented samples."""

import pytest

from pipeline.evaluate import evaluate_file, score_rules_on_gold

from conftest import DEV_GOLD


@pytest.fixture(scope="module")
def dev_metrics(dev_rows):
    metrics, _, _ = evaluate_file(DEV_GOLD, bootstrap=0)
    return metrics


def test_quality_dev_concept_micro_f1(dev_metrics):
    assert dev_metrics["concepts"]["micro"]["f1"] >= 0.95


def test_quality_dev_status_agreement(dev_metrics):
    assert dev_metrics["assertion"]["accuracy"] >= 0.95


def test_quality_dev_recommendation_end_to_end(dev_metrics):
    assert dev_metrics["recommendation"]["modality_contrast_regions"]["accuracy"] >= 0.90


def test_quality_dev_mismatch_detection_f1(dev_metrics):
    assert dev_metrics["mismatch"]["detection"]["f1"] >= 0.92


def test_quality_dev_rules_on_gold_are_exact(dev_rows):
    got = score_rules_on_gold(dev_rows)
    assert got["recommendation"]["accuracy"] == 1.0
    assert got["order_parse"]["accuracy"] == 1.0
    assert got["mismatch"]["accuracy"] == 1.0


def test_quality_samples_match_their_gold(sample_rows):
    """The bundled samples' gold was written by hand from the spec."""
    from pipeline import analyze_many
    records = list(analyze_many((r["id"], r["text"], r.get("ordered")) for r in sample_rows))
    for row, rec in zip(sample_rows, records):
        g = row["gold"]
        assert rec["concepts"] == g["concepts"], row["id"]
        assert rec["duration_weeks"] == g["duration_weeks"], row["id"]
        assert rec["regions"] == g["regions"], row["id"]
        for key, value in g["recommendation"].items():
            assert rec["recommendation"][key] == value, (row["id"], key)
        if g["mismatch_types"] is None:
            assert rec["mismatch"] is None, row["id"]
        else:
            assert rec["mismatch"]["types"] == sorted(g["mismatch_types"]), row["id"]


def test_quality_samples_cover_every_concept_and_status(sample_rows):
    from pipeline.vocab import CONCEPTS, STATUSES
    seen = {(c, s) for r in sample_rows for c, s in r["gold"]["concepts"].items()}
    assert {c for c, _ in seen} == set(CONCEPTS)
    assert {s for _, s in seen} == set(STATUSES)
