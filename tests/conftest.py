import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV_GOLD = SHARED / "data" / "dev" / "referrals_dev.jsonl"
SAMPLES = ROOT / "data" / "samples" / "referrals_samples.jsonl"


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def nlp():
    from pipeline.extract import get_nlp
    return get_nlp()


@pytest.fixture(scope="session")
def concepts_of(nlp):
    """text -> {concept: status} through the real pipeline."""
    def run(text):
        return nlp(text)._.spine["concepts"]
    return run


@pytest.fixture(scope="session")
def dev_rows():
    if not DEV_GOLD.exists():
        pytest.skip("shared dev set not available next to the checkout")
    return read_jsonl(DEV_GOLD)


@pytest.fixture(scope="session")
def sample_rows():
    return read_jsonl(SAMPLES)
