"""medSpaCy's pipeline on the benchmark notes, for scripts/bench.py.

Runs in a separate venv with medspacy installed (it pins spaCy < 3.8), so it
imports nothing from spine-audit. Reads a JSON job {"notes": [...],
"phrases": {concept: [phrase, ...]}} (the same concept phrases spine-audit
matches), builds medSpaCy's sentence splitter (PyRuSH) + TargetMatcher +
ConText with its default English rules, and prints notes/s (best of 3) as
the last line.
"""

import json
import sys
import time


def main(path):
    import medspacy
    from medspacy.ner import TargetRule

    job = json.loads(open(path, encoding="utf-8").read())
    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush", "medspacy_target_matcher", "medspacy_context"])
    matcher = nlp.get_pipe("medspacy_target_matcher")
    matcher.add([TargetRule(p, concept) for concept, phrases in job["phrases"].items() for p in phrases])
    notes = job["notes"]
    for t in notes[:100]:
        nlp(t)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _doc in nlp.pipe(notes):
            pass
        best = min(best, time.perf_counter() - t0)
    print(f"pipeline: {nlp.pipe_names}", file=sys.stderr)
    print(len(notes) / best)


if __name__ == "__main__":
    main(sys.argv[1])
