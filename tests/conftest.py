import json
import os
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


def need_shared(path):
    """Skip on a user's machine without ../shared; in CI it must be there."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI (shared/ must sit beside the checkout)")
        pytest.skip("shared data not available next to the checkout")


@pytest.fixture(scope="session")
def dev_rows():
    need_shared(DEV_GOLD)
    return read_jsonl(DEV_GOLD)


@pytest.fixture(scope="session")
def sample_rows():
    return read_jsonl(SAMPLES)


@pytest.fixture
def interrupt_audit(monkeypatch):
    """(arm, disarm): arm(k) makes the batch audit stop as if Ctrl-C was
    pressed when it reaches chunk k; disarm() lets it run again."""
    import pipeline.audit as audit
    real = audit.process_chunk

    def arm(index):
        def stop(payload):
            if payload["index"] == index:
                raise KeyboardInterrupt
            return real(payload)
        monkeypatch.setattr(audit, "process_chunk", stop)

    def disarm():
        monkeypatch.setattr(audit, "process_chunk", real)

    return arm, disarm
