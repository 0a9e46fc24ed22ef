"""Golden outputs of the extractor: every corpus in ../shared/data, the
samples and 10,000 generated notes (notegen), as SHA-256 digests of the full
records (concepts, evidence with offsets and pattern ids, duration, regions,
age) in blocks of 100 notes.

    python tests/golden_records.py --write     # after an intended change of outputs (make golden)

``tests/test_golden.py`` recomputes them and fails on any difference, naming
the corpus and block. Only digests are stored: no note text.
"""

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "extractor_records.json"
BLOCK = 100
GENERATED = 10_000
SEED = 20261201


def corpora(shared=None):
    """{name: [(id, text), ...]} for the golden test."""
    from pipeline.notegen import SAMPLES, SHARED_CORPORA, SHARED_DATA, corpus_texts, generate_notes, sentence_pool
    shared = Path(shared) if shared is not None else SHARED_DATA
    out = {"samples": list(enumerate(corpus_texts(SAMPLES)))}
    for rel in SHARED_CORPORA:
        p = shared / rel
        if p.exists():
            out[rel] = list(enumerate(corpus_texts(p)))
    if shared.is_dir():
        out["generated"] = generate_notes(GENERATED, SEED, sentence_pool(shared))
    return out


def canonical(spine):
    return json.dumps(spine, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digests(extract, items):
    """Block digests of ``extract(text)`` over ``items`` [(id, text)]."""
    out, h = [], hashlib.sha256()
    for k, (_id, text) in enumerate(items, 1):
        h.update(canonical(extract(text)).encode("utf-8"))
        h.update(b"\n")
        if k % BLOCK == 0:
            out.append(h.hexdigest()[:16])
            h = hashlib.sha256()
    if len(items) % BLOCK:
        out.append(h.hexdigest()[:16])
    return out


def compute(extract, shared=None):
    return {name: {"n": len(items), "blocks": digests(extract, items)} for name, items in corpora(shared).items()}


def default_extract():
    from pipeline.extract import extract_spine
    return extract_spine


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit("usage: python tests/golden_records.py --write")
    sys.path.insert(0, str(HERE.parent))
    got = compute(default_extract())
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(got, indent=1) + "\n")
    print(f"wrote {GOLDEN}: " + ", ".join(f"{k} {v['n']}" for k, v in got.items()))
