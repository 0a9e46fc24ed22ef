"""Throughput and memory figures for spine-audit (run by `make bench`).

Prints figures; asserts nothing (speed goals are not tests). All notes are
generated from the bundled invented samples: no patient data.

1. Extraction on N notes, one process: documents/s and words/s for the full
   extractor (`nlp.pipe`) beside spaCy's tokenizer alone on the same texts
   (the floor), and their ratio.
2. The full audit (extraction, rules, order parsing, mismatch, writing CSV)
   on a generated CSV of M rows, with 1 and 2 worker processes: rows/s and
   the peak resident memory of the largest process.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples" / "referrals_samples.jsonl"

FILLER = [
    "Pt seen in clinic today with daughter.", "Vitals stable.", "PMH: HTN, HLD, GERD.",
    "Meds: lisinopril, atorvastatin, omeprazole.", "Allergies: NKDA.", "Works as a teacher.",
    "Sleeping poorly because of the pain.", "Tried heat and ice at home.", "Lives with spouse.",
    "No recent travel.", "Plan discussed with the patient, who agrees.", "Follow up in clinic after imaging.",
]


def iter_notes(n, seed=7):
    """n referral notes (~60-120 words) and orders made by recombining the samples.

    The combinations (age, sex, two samples, three ordered fillers) make the
    notes practically all distinct, so no cache can serve repeats; the orders
    come from a small catalogue, as real order names do.
    """
    rng = random.Random(seed)
    samples = [json.loads(line) for line in SAMPLES.open(encoding="utf-8")]
    for i in range(n):
        base = rng.choice(samples)
        extra = rng.choice(samples)
        age = rng.randint(18, 90)
        text = f"{age}{rng.choice('MF')} referred from clinic. {base['text']} " \
               f"{' '.join(rng.sample(FILLER, 3))} Prior note: {extra['text']}"
        yield f"n{i}", text, base["ordered"] or rng.choice(["MRI L-spine w/o", "72148", ""])


def generate(n, seed=7):
    return list(iter_notes(n, seed))


def bench_extract(n):
    from pipeline.extract import get_nlp, pipe_docs
    notes = generate(n)
    texts = [t for _, t, _ in notes]
    words = sum(len(t.split()) for t in texts)
    nlp = get_nlp()
    list(nlp.pipe(texts[:200]))  # warm up
    t0 = time.perf_counter()
    for t in texts:
        nlp.make_doc(t)
    tok = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in pipe_docs(nlp, texts, batch_size=256):  # as the audit runs it
        pass
    full = time.perf_counter() - t0
    print(f"extraction, {n:,} notes ({words / n:.0f} words each), one process")
    print(f"  tokenizer only : {n / tok:9,.0f} docs/s {words / tok:11,.0f} words/s")
    print(f"  full extractor : {n / full:9,.0f} docs/s {words / full:11,.0f} words/s")
    print(f"  ratio          : {tok / full:9.1%} of the tokenizer-only rate")
    return {"notes": n, "tokenizer_docs_s": n / tok, "extract_docs_s": n / full, "ratio": tok / full}


def write_csv(path, m):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "ordered", "site"])
        texts = set()
        for i, (_, text, ordered) in enumerate(iter_notes(m, seed=11)):
            w.writerow([f"r{i}", text, ordered, "A" if i % 3 else "B"])
            texts.add(hash(text))
    return len(texts)


def run_audit(inp, out, workers, chunk):
    cmd = [sys.executable, "-m", "pipeline.cli", "audit", str(inp), "--out", str(out), "--force", "--quiet",
           "--workers", str(workers), "--chunk-size", str(chunk)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    elapsed = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak_kb, before) / 1024


def bench_audit(m, chunk):
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "orders.csv"
        distinct = write_csv(inp, m)
        from pipeline.extract import get_nlp
        nlp = get_nlp()
        with open(inp, newline="", encoding="utf-8") as f:
            texts = [r["text"] for r in csv.DictReader(f)]
        t0 = time.perf_counter()
        for t in texts:
            nlp.make_doc(t)
        tok_rate = m / (time.perf_counter() - t0)
        del texts
        print(f"\naudit of {m:,} generated rows ({distinct:,} distinct notes, {inp.stat().st_size / 1e6:.0f} MB "
              f"CSV -> CSV), chunk {chunk:,} rows")
        print(f"  tokenizer only (same texts, one core): {tok_rate:9,.0f} rows/s")
        out = {}
        for workers in (1, 2):
            elapsed, peak = run_audit(inp, Path(tmp) / f"out{workers}.csv", workers, chunk)
            rate = m / elapsed
            out[workers] = rate
            print(f"  {workers} worker(s): {rate:9,.0f} rows/s  ({elapsed:6.1f} s, {rate / workers / tok_rate:5.1%} "
                  f"of the tokenizer rate per core), peak RSS of the largest process {peak:,.0f} MB")
        same = (Path(tmp) / "out1.csv").read_bytes() == (Path(tmp) / "out2.csv").read_bytes()
        print(f"  2 workers / 1 worker: {out[2] / out[1]:.2f}x; outputs identical: {same}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--extract-notes", type=int, default=10000)
    ap.add_argument("--audit-rows", type=int, default=200000)
    ap.add_argument("--chunk-size", type=int, default=5000)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if args.extract_notes:
        bench_extract(args.extract_notes)
    if args.audit_rows:
        bench_audit(args.audit_rows, args.chunk_size)


if __name__ == "__main__":
    main()
