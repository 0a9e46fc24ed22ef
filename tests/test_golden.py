"""Identical results (issue 14): the extractor's full records on every corpus
in ../shared/data, the samples and 10,000 generated notes (2,300+ of them
non-ASCII) must equal the stored golden digests (tests/golden_records.py).
An intended change of outputs is recorded with `make golden`."""

import json

import pytest

from conftest import SHARED, need_shared
from golden_records import BLOCK, GOLDEN, compute


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text())


@pytest.fixture(scope="module")
def computed():
    need_shared(SHARED / "data")
    from pipeline.extract import extract_spine
    return compute(extract_spine)


def test_golden_covers_every_corpus_and_enough_generated_notes(golden):
    assert golden["generated"]["n"] >= 10_000
    assert {"dev/referrals_dev.jsonl", "real/real_dev.jsonl", "negex/negex.jsonl", "negex/context.jsonl",
            "bioscope/bioscope_clinical.jsonl", "samples"} <= set(golden)


def test_extractor_records_are_identical_to_the_golden_ones(golden, computed):
    assert set(computed) == set(golden)
    diffs = []
    for name, want in golden.items():
        got = computed[name]
        assert got["n"] == want["n"], name
        for k, (a, b) in enumerate(zip(got["blocks"], want["blocks"])):
            if a != b:
                diffs.append(f"{name} notes {k * BLOCK}-{(k + 1) * BLOCK - 1}")
    assert not diffs, "records differ from the golden ones in: " + "; ".join(diffs[:20])
