"""Throughput and memory figures for spine-audit (run by `make bench`).

Prints figures; asserts nothing (speed goals are not tests). No patient data
is written: notes are generated at run time (pipeline/notegen.py).

1. Extraction, one process, same run, same texts: spaCy's stock tokenizer
   (`spacy.blank("en")`), the project's clinical tokenizer, the one-pass
   extractor (what the audit runs) and the component pipeline (`nlp.pipe`,
   the reference), on two note sets: distinct generated notes built from
   varied sources (samples, the invented dev set, the public NegEx/ConText/
   BioScope sentences and the real development notes, when ../shared is
   beside the checkout) and the real development notes themselves
   (../shared/data/real, 67 notes, passed several times: the tokenizer's
   cache serves the repeats, so that set flatters every stage alike).
   Rates are given as a share of each tokenizer's rate.
2. With `--medspacy-python PATH` (an interpreter of a separate venv with
   medSpaCy, which pins spaCy < 3.8): medSpaCy's sentence splitter +
   TargetMatcher (the same concept phrases) + ConText on the same notes.
3. The full audit (extraction, rules, order parsing, mismatch, writing) on M
   generated rows, CSV -> CSV and Parquet -> Parquet, with 1 and 2 worker
   processes: rows/s, the share of the stock tokenizer's rate per core, the
   2-worker speed-up and the peak resident memory of the largest process.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ORDERS = ["MRI L-spine w/o", "72148", "MRI C-spine w/wo", "CT T-spine", "XR lumbar", "", "72156", "MRI spine"]


def generate(n, seed=7):
    """n (id, text, ordered) rows of distinct generated notes."""
    from pipeline.notegen import generate_notes
    return [(i, t, ORDERS[k % len(ORDERS)]) for k, (i, t) in enumerate(generate_notes(n, seed))]


def real_notes():
    from pipeline.notegen import SHARED_DATA, corpus_texts
    p = SHARED_DATA / "real" / "real_dev.jsonl"
    return corpus_texts(p) if p.exists() else []


def _best(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_extract_set(label, texts, medspacy_python=None):
    import spacy
    from pipeline.extract import get_extractor, get_nlp, pipe_docs
    nlp = get_nlp()
    extract = get_extractor()
    stock = spacy.blank("en")
    for t in texts[:200]:
        extract(t)
    list(pipe_docs(nlp, texts[:200]))
    n = len(texts)
    words = sum(len(t.split()) for t in texts)
    rates = {
        "stock tokenizer (spacy.blank)": n / _best(lambda: [stock.make_doc(t) for t in texts]),
        "clinical tokenizer": n / _best(lambda: [nlp.make_doc(t) for t in texts]),
        "one-pass extractor": n / _best(lambda: [extract(t) for t in texts]),
        "component pipeline (nlp.pipe)": n / _best(lambda: list(pipe_docs(nlp, texts, batch_size=256))),
    }
    floor = library_floor(texts)
    rates["library floor (see below)"] = n / _best(floor)
    if medspacy_python:
        rates["medSpaCy sentences+TargetMatcher+ConText"] = bench_medspacy(medspacy_python, texts)
    stock_rate, clin_rate = rates["stock tokenizer (spacy.blank)"], rates["clinical tokenizer"]
    print(f"\nextraction, {label}: {n:,} notes, {words / n:.0f} words each, one process, best of 3")
    print(f"  {'':42s}{'notes/s':>10s}{'of stock':>10s}{'of clinical':>13s}")
    for name, r in rates.items():
        if r is None:
            print(f"  {name:42s}{'n/a':>10s}")
            continue
        print(f"  {name:42s}{r:10,.0f}{r / stock_rate:10.3f}{r / clin_rate:13.3f}")
    print(f"  one-pass / component pipeline: {rates['one-pass extractor'] / rates['component pipeline (nlp.pipe)']:.2f}x")
    print("  library floor: only the compiled-library calls the one-pass extractor makes for each note (clinical\n"
          "  tokenizer, both PhraseMatchers, the Aho-Corasick scan, the hyperscan prefilter, the expressions the\n"
          "  prefilter and triggers leave to run), with no Python work between them: the rate a zero-cost\n"
          "  Python layer around the same libraries would reach.")
    return rates


def library_floor(texts):
    """A function that makes, for every note, the calls into compiled
    libraries that the one-pass extractor makes, and nothing else. Which
    expressions run is decided before timing, as the extractor decides it."""
    from pipeline.extract import get_extractor
    from pipeline.extract.prefilter import DURATION_ID
    ex = get_extractor()
    c = ex.concepts
    plan = []
    for t in texts:
        lower, ascii_note = t.lower(), t.isascii()
        present, starts_at = c.scan(lower)
        maybe = c.prefilter.maybe(t) if c.prefilter is not None else None
        runs = []
        for k in c.patterns_to_try(present, maybe):
            pat = c.regex_patterns[k]
            runs.append((pat.regex, starts_at.get(pat.id, ()) if pat.starts and ascii_note else None))
        for k, _region, rx, starts in c.regions_to_try(present, maybe):
            runs.append((rx, starts_at.get(f"region#{k}", ()) if starts and ascii_note else None))
        if maybe is None or DURATION_ID in maybe:
            runs.append((c.context.duration_re, None))
        runs += [(rx, None) for _pid, rx, _u in ex.assertion.age_patterns_to_try(t, lower, maybe)]
        plan.append((t, lower, ascii_note, runs))
    make_doc, norm_matcher, lower_matcher = ex.nlp.make_doc, c.phrase_matcher, ex.lower_matcher
    automaton, db = c.automaton, (c.prefilter.db if c.prefilter is not None else None)

    def noop(*_args):
        return None

    def run():
        for t, lower, ascii_note, runs in plan:
            doc = make_doc(t)
            norm_matcher(doc)
            lower_matcher(doc)
            for _ in automaton.iter(lower):
                pass
            if db is not None and ascii_note:
                db.scan(t.encode("ascii"), match_event_handler=noop)
            for rx, at in runs:
                for _ in (rx.finditer(t, lower) if at is None else rx.finditer_at(t, lower, at)):
                    pass
    return run


def bench_medspacy(python, texts):
    """Notes/s of medSpaCy's pipeline in another interpreter (same notes and
    concept phrases), or None when it cannot run."""
    from pipeline.extract.lexicon import load_concepts
    lexicon = load_concepts()
    phrases = {}
    for p in lexicon.patterns:
        if p.phrases and p.status is None:
            phrases.setdefault(p.concept, []).extend(p.phrases)
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"notes": texts, "phrases": phrases}))
        try:
            out = subprocess.run([python, str(ROOT / "scripts" / "bench_medspacy.py"), str(job)], check=True,
                                 capture_output=True, text=True, timeout=3600)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"  medSpaCy could not run: {type(exc).__name__}")
            return None
    return float(out.stdout.strip().splitlines()[-1])


def bench_extract(n, medspacy_python=None):
    out = {"generated": bench_extract_set(f"{n:,} distinct generated notes (varied sources)",
                                          [t for _, t, _ in generate(n)], medspacy_python)}
    real = real_notes()
    if real:
        passes = max(1, 2000 // len(real))
        out["real"] = bench_extract_set(f"the real development notes x {passes} passes", real * passes,
                                        medspacy_python)
    else:
        print("\n(../shared/data/real not beside the checkout: no real-note figures)")
    return out


def write_input(path, m):
    import pandas as pd
    rows = generate(m, seed=11)
    df = pd.DataFrame({"id": [f"r{i}" for i, _, _ in rows], "text": [t for _, t, _ in rows],
                       "ordered": [o for _, _, o in rows], "site": ["A" if i % 3 else "B" for i in range(m)]})
    if str(path).endswith(".parquet"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return df["text"].nunique(), df["text"].tolist()


def _tree_hwm_mb(pid):
    """Largest VmHWM (peak RSS of the process image after exec) over a process
    and its children, in MB; 0 when it has gone."""
    best = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        best = max(best, int(line.split()[1]) // 1024)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return best


def run_audit(inp, out, workers, chunk):
    """(seconds, peak MB): the peak is the largest VmHWM of the audit process
    and its workers, polled; the child's ru_maxrss would include the
    benchmark's own memory from before exec (Linux records it)."""
    cmd = [sys.executable, "-m", "pipeline.cli", "audit", str(inp), "--out", str(out), "--force", "--quiet",
           "--workers", str(workers), "--chunk-size", str(chunk)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_hwm_mb(proc.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"audit failed: {' '.join(cmd)}")
    return elapsed, peak


def bench_audit(m, chunk):
    import spacy
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ext in (".csv", ".parquet"):
            inp = Path(tmp) / f"orders{ext}"
            distinct, texts = write_input(inp, m)
            stock = spacy.blank("en")
            t0 = time.perf_counter()
            for t in texts:
                stock.make_doc(t)
            tok_rate = m / (time.perf_counter() - t0)
            del texts
            print(f"\naudit of {m:,} generated rows ({distinct:,} distinct notes, {inp.stat().st_size / 1e6:.0f} MB, "
                  f"{ext[1:]} -> {ext[1:]}), chunk {chunk:,} rows")
            print(f"  stock tokenizer on the same texts, one core: {tok_rate:9,.0f} rows/s")
            rates = {}
            for workers in (1, 2):
                elapsed, peak = run_audit(inp, Path(tmp) / f"out{workers}{ext}", workers, chunk)
                rate = m / elapsed
                rates[workers] = rate
                print(f"  {workers} worker(s): {rate:9,.0f} rows/s  ({elapsed:6.1f} s, {rate / workers / tok_rate:6.3f} "
                      f"of the stock tokenizer per core), peak RSS {peak:,.0f} MB")
            same = (Path(tmp) / f"out1{ext}").read_bytes() == (Path(tmp) / f"out2{ext}").read_bytes()
            print(f"  2 workers / 1 worker: {rates[2] / rates[1]:.2f}x; outputs identical: {same}")
            out[ext] = rates
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--extract-notes", type=int, default=10000)
    ap.add_argument("--audit-rows", type=int, default=200000)
    ap.add_argument("--chunk-size", type=int, default=5000)
    ap.add_argument("--medspacy-python", default=os.environ.get("MEDSPACY_PYTHON"),
                    help="python of a separate venv with medspacy installed (it pins spaCy < 3.8)")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if args.extract_notes:
        bench_extract(args.extract_notes, args.medspacy_python)
    if args.audit_rows:
        bench_audit(args.audit_rows, args.chunk_size)


if __name__ == "__main__":
    main()
