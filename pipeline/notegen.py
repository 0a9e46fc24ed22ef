"""Generated notes for benchmarks and equivalence tests (no patient data is written).

``generate_notes(n, seed, pool)`` builds referral-like notes from a pool of
sentences taken from varied sources: the bundled invented samples and, when
``../shared/data`` is beside the checkout, the invented dev set, the public
NegEx / ConText / BioScope sentences and the real development notes (read at
run time, never copied into the repository). Each note mixes 2 to 8
sentences from different sources, in varied layouts (one line, new lines,
bullets, " - " and ";" separators, a section header), and about one in six
gets non-ASCII characters (en dashes, degree signs, accented words,
non-breaking spaces, bullets), so the notes are practically all distinct and
the tokenizer's cache cannot serve them.
"""

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples" / "referrals_samples.jsonl"
SHARED_DATA = ROOT.parent / "shared" / "data"
# every corpus of ../shared/data with note text (relative paths)
SHARED_CORPORA = (
    "dev/referrals_dev.jsonl", "real/real_dev.jsonl", "mtsamples/spine_referrals.jsonl",
    "external/msk_mri_spine.jsonl", "negex/negex.jsonl", "negex/context.jsonl",
    "bioscope/bioscope_clinical.jsonl",
)
_SPLIT = re.compile(r"(?<=[.;!?])\s+|\n+")
_NON_ASCII = (
    ("-", "\u2013"), (" ", "\u00a0"), ("C ", "\u00b0C "), ("e", "\u00e9"), ("fever", "f\u00e9ver"),
    ("x ", "\u00d7 "), ("'", "\u2019"), ("ug", "\u00b5g"),
)
_LAYOUTS = (" ", "\n", "\n- ", " - ", "; ", "\n\u2022 ")
_HEADERS = ("HPI: ", "Reason for exam: ", "Clinical history: ", "", "", "")


def corpus_texts(path):
    """The distinct note texts of a JSONL corpus, in file order."""
    seen, out = set(), []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                t = json.loads(line).get("text")
                if isinstance(t, str) and t not in seen:
                    seen.add(t)
                    out.append(t)
    return out


def sentence_pool(shared=SHARED_DATA):
    """Sentences by source: {source name: [sentence, ...]}."""
    sources = {"samples": corpus_texts(SAMPLES)}
    if shared is not None and Path(shared).is_dir():
        for rel in SHARED_CORPORA:
            p = Path(shared) / rel
            if p.exists():
                sources[rel] = corpus_texts(p)
    pool = {}
    for name, texts in sources.items():
        sents = [s.strip() for t in texts for s in _SPLIT.split(t) if 3 <= len(s.strip()) <= 400]
        if sents:
            pool[name] = sents
    return pool


def generate_notes(n, seed=20261201, pool=None):
    """``n`` (id, text) pairs, deterministic for a seed and a pool."""
    pool = pool if pool is not None else sentence_pool()
    names = sorted(pool)
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.randint(2, 8)
        sents = [rng.choice(pool[rng.choice(names)]) for _ in range(k)]
        sep = rng.choice(_LAYOUTS)
        text = rng.choice(_HEADERS) + sep.join(sents)
        if rng.random() < 0.5:
            text = f"{rng.randint(18, 95)}{rng.choice('MF')} " + text
        if rng.random() < 1 / 6:
            a, b = rng.choice(_NON_ASCII)
            text = text.replace(a, b, rng.randint(1, 3))
        out.append((f"g{i}", text))
    return out
