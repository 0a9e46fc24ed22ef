"""Scoring against gold annotations (FORMATS.md gold format).

``score(gold_rows, records)`` is a pure function returning a dict of metrics;
``evaluate_file`` runs the pipeline on a gold JSONL file first. The CLI only
prints what these return.
"""

import json
import os
import random
from collections import Counter, defaultdict

from .errors import InputError
from .mismatch import compare
from .orders import parse_order
from .rules import recommend
from .vocab import CONCEPTS, MISMATCH_TYPES, STATUSES

REC_FIELDS = ("category", "modality", "contrast", "regions", "urgency", "flags")
ASSERTION_LABELS = STATUSES + ("absent",)


def _prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn, "support": tp + fn}


def _same(a, b):
    if isinstance(a, list) or isinstance(b, list):
        return sorted(a or []) == sorted(b or [])
    return a == b


def _duration_ok(gold, pred, tolerance=0.5):
    if gold is None or pred is None:
        return gold is None and pred is None
    return abs(gold - pred) <= tolerance


def read_gold(path):
    if not os.path.exists(path):
        raise InputError(f"gold file not found: {path}")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{os.path.basename(str(path))}: line {n} is not valid JSON") from None
            if not isinstance(row, dict) or "gold" not in row or "text" not in row:
                raise InputError(f"{os.path.basename(str(path))}: line {n} has no 'text' or 'gold'")
            rows.append(row)
    return rows


def _per_doc(gold_rows, records):
    """Per-document comparison facts, reused by the metrics and the bootstrap."""
    docs = []
    for row, rec in zip(gold_rows, records):
        g = row["gold"]
        ok = rec.get("status") == "ok"
        pc = (rec.get("concepts") or {}) if ok else {}
        gc = g.get("concepts") or {}
        d = {
            "gold_present": {c for c, s in gc.items() if s == "present"},
            "pred_present": {c for c, s in pc.items() if s == "present"},
            "assert_pairs": [(gc[c], pc.get(c, "absent")) for c in gc],
            "duration": _duration_ok(g.get("duration_weeks"), rec.get("duration_weeks") if ok else None)
            if "duration_weeks" in g else None,
            "regions": _same(g.get("regions"), rec.get("regions") if ok else None) if "regions" in g else None,
            # files written before age_years existed leave it absent: skipped (FORMATS.md)
            "age": (g.get("age_years") == (rec.get("age_years") if ok else None)) if "age_years" in g else None,
            "rec": {}, "parse": None, "mismatch": None,
        }
        grec, prec = g.get("recommendation"), (rec.get("recommendation") if ok else None) or {}
        if grec:
            d["rec"] = {f: _same(grec.get(f), prec.get(f)) for f in REC_FIELDS if f in grec}
            d["rec_core"] = all(d["rec"].get(f, True) for f in ("modality", "contrast", "regions"))
            d["rec_all"] = all(d["rec"].values())
        gp = g.get("ordered_parsed")
        po = rec.get("ordered") if ok else None
        if gp is not None:
            d["parse"] = bool(po) and all(_same(gp.get(k), po.get(k)) for k in ("modality", "contrast", "regions"))
        gm = g.get("mismatch_types")
        if gm is not None:
            pm = ((rec.get("mismatch") or {}).get("types") if ok else None) or []
            d["mismatch"] = (set(gm), set(pm))
        if g.get("spans") is not None:
            d["spans"] = ([(s["start"], s["end"], s["concept"], s.get("status", "present")) for s in g["spans"]],
                          [(e["start"], e["end"], e["concept"], e["status"])
                           for e in ((rec.get("evidence") or []) if ok else [])])
        docs.append(d)
    return docs


def _metrics(docs):
    out = {"n_documents": len(docs)}
    per_concept = {}
    tp_all = fp_all = fn_all = 0
    for c in CONCEPTS:
        tp = sum(c in d["gold_present"] and c in d["pred_present"] for d in docs)
        fp = sum(c not in d["gold_present"] and c in d["pred_present"] for d in docs)
        fn = sum(c in d["gold_present"] and c not in d["pred_present"] for d in docs)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        if tp + fp + fn:
            per_concept[c] = _prf(tp, fp, fn)
    micro = _prf(tp_all, fp_all, fn_all)
    supported = [m for m in per_concept.values() if m["support"]]
    macro = {k: (sum(m[k] for m in supported) / len(supported) if supported else 0.0)
             for k in ("precision", "recall", "f1")}
    out["concepts"] = {"micro": micro, "macro": macro, "per_concept": per_concept}

    confusion = {g: {p: 0 for p in ASSERTION_LABELS} for g in ASSERTION_LABELS}
    pairs = [p for d in docs for p in d["assert_pairs"]]
    for g, p in pairs:
        confusion[g][p] += 1
    out["assertion"] = {
        "n": len(pairs),
        "accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0,
        "confusion": confusion,
        "labels": list(ASSERTION_LABELS),
    }

    def acc(key):
        vals = [d[key] for d in docs if d.get(key) is not None]
        return {"n": len(vals), "accuracy": sum(vals) / len(vals) if vals else 0.0}

    out["duration"] = acc("duration")
    out["regions"] = acc("regions")
    out["age"] = acc("age")
    rec = {}
    for f in REC_FIELDS:
        vals = [d["rec"][f] for d in docs if f in d["rec"]]
        rec[f] = {"n": len(vals), "accuracy": sum(vals) / len(vals) if vals else 0.0}
    rec["modality_contrast_regions"] = acc("rec_core")
    rec["all_fields"] = acc("rec_all")
    out["recommendation"] = rec
    out["order_parse"] = acc("parse")

    mm = [d["mismatch"] for d in docs if d["mismatch"] is not None]
    tp = sum(bool(g) and bool(p) for g, p in mm)
    fp = sum(not g and bool(p) for g, p in mm)
    fn = sum(bool(g) and not p for g, p in mm)
    per_type = {}
    for t in MISMATCH_TYPES:
        ttp = sum(t in g and t in p for g, p in mm)
        tfp = sum(t not in g and t in p for g, p in mm)
        tfn = sum(t in g and t not in p for g, p in mm)
        if ttp + tfp + tfn:
            per_type[t] = _prf(ttp, tfp, tfn)
    out["mismatch"] = {"detection": _prf(tp, fp, fn), "exact_types": acc_types(mm), "per_type": per_type}
    span_docs = [d["spans"] for d in docs if "spans" in d]
    if span_docs:
        out["spans"] = {"n_documents": len(span_docs), "exact": _span_prf(span_docs, exact=True),
                        "overlap": _span_prf(span_docs, exact=False)}
    return out


def _span_prf(span_docs, exact):
    """Span P/R/F1: a predicted span matches a gold span of the same concept and
    status, with the same offsets (exact) or any character overlap (overlap).
    Each gold span is matched at most once."""
    tp = fp = fn = 0
    for gold, pred in span_docs:
        # evidence may hold the same concept twice on one span (two patterns): count once
        pred = sorted(set(pred))
        used = set()
        for ps, pe, pc, pst in pred:
            hit = None
            for k, (gs, ge, gc, gst) in enumerate(gold):
                if k in used or gc != pc or gst != pst:
                    continue
                if (ps, pe) == (gs, ge) if exact else (ps < ge and gs < pe):
                    hit = k
                    break
            if hit is None:
                fp += 1
            else:
                used.add(hit)
                tp += 1
        fn += len(gold) - len(used)
    return _prf(tp, fp, fn)


def acc_types(mm):
    return {"n": len(mm), "accuracy": sum(g == p for g, p in mm) / len(mm) if mm else 0.0}


HEADLINES = {
    "concept_micro_f1": lambda m: m["concepts"]["micro"]["f1"],
    "assertion_accuracy": lambda m: m["assertion"]["accuracy"],
    "recommendation_exact": lambda m: m["recommendation"]["modality_contrast_regions"]["accuracy"],
    "mismatch_f1": lambda m: m["mismatch"]["detection"]["f1"],
}


def _bootstrap(docs, n_boot=1000, seed=13):
    rng = random.Random(seed)
    samples = defaultdict(list)
    for _ in range(n_boot):
        pick = [docs[rng.randrange(len(docs))] for _ in docs]
        m = _metrics(pick)
        for name, get in HEADLINES.items():
            samples[name].append(get(m))
    ci = {}
    for name, vals in samples.items():
        vals.sort()
        ci[name] = [vals[int(0.025 * (len(vals) - 1))], vals[int(0.975 * (len(vals) - 1))]]
    return ci


def score(gold_rows, records, bootstrap=0, seed=13):
    """Metrics of ``records`` (pipeline output) against ``gold_rows``."""
    if len(gold_rows) != len(records):
        raise ValueError("gold rows and records differ in number")
    docs = _per_doc(gold_rows, records)
    out = _metrics(docs)
    out["headline"] = {name: get(out) for name, get in HEADLINES.items()}
    if bootstrap and docs:
        out["headline_ci95"] = _bootstrap(docs, bootstrap, seed)
    return out


def score_rules_on_gold(gold_rows):
    """The decision half alone, fed with gold concepts and gold orders."""
    rec_ok = parse_ok = mm_ok = n_rec = n_parse = n_mm = 0
    for row in gold_rows:
        g = row["gold"]
        if g.get("recommendation"):
            r = recommend(g.get("concepts") or {}, g.get("duration_weeks"), g.get("regions") or [],
                          g.get("age_years"))
            n_rec += 1
            rec_ok += all(_same(g["recommendation"][f], r[f]) for f in g["recommendation"] if f in REC_FIELDS)
            if g.get("mismatch_types") is not None:
                n_mm += 1
                types = compare(r, parse_order(row.get("ordered"))) or []
                mm_ok += set(types) == set(g["mismatch_types"])
        if g.get("ordered_parsed") is not None:
            n_parse += 1
            p = parse_order(row.get("ordered"))
            parse_ok += bool(p) and all(_same(g["ordered_parsed"][k], p[k]) for k in ("modality", "contrast", "regions"))
    return {
        "recommendation": {"n": n_rec, "accuracy": rec_ok / n_rec if n_rec else 0.0},
        "order_parse": {"n": n_parse, "accuracy": parse_ok / n_parse if n_parse else 0.0},
        "mismatch": {"n": n_mm, "accuracy": mm_ok / n_mm if n_mm else 0.0},
    }


def disagreements(gold_rows, records):
    """Every disagreement, with text, gold and prediction, for error analysis."""
    out = []
    for row, rec in zip(gold_rows, records):
        g = row["gold"]
        pc = rec.get("concepts") or {}
        gc = g.get("concepts") or {}
        problems = {}
        cdiff = {c: {"gold": gc.get(c, "absent"), "predicted": pc.get(c, "absent")}
                 for c in sorted(set(gc) | set(pc)) if gc.get(c) != pc.get(c)}
        if cdiff:
            problems["concepts"] = cdiff
        if "duration_weeks" in g and not _duration_ok(g.get("duration_weeks"), rec.get("duration_weeks")):
            problems["duration_weeks"] = {"gold": g.get("duration_weeks"), "predicted": rec.get("duration_weeks")}
        if "regions" in g and not _same(g.get("regions"), rec.get("regions")):
            problems["regions"] = {"gold": g.get("regions"), "predicted": rec.get("regions")}
        if "age_years" in g and g.get("age_years") != rec.get("age_years"):
            problems["age_years"] = {"gold": g.get("age_years"), "predicted": rec.get("age_years")}
        grec, prec = g.get("recommendation") or {}, rec.get("recommendation") or {}
        rdiff = {f: {"gold": grec[f], "predicted": prec.get(f)} for f in REC_FIELDS
                 if f in grec and not _same(grec[f], prec.get(f))}
        if rdiff:
            problems["recommendation"] = rdiff
        if g.get("mismatch_types") is not None:
            pm = (rec.get("mismatch") or {}).get("types") or []
            if set(pm) != set(g["mismatch_types"]):
                problems["mismatch_types"] = {"gold": g["mismatch_types"], "predicted": pm}
        if problems:
            out.append({"id": row.get("id"), "text": row["text"], "ordered": row.get("ordered"),
                        "problems": problems})
    return out


def evaluate_file(path, bootstrap=1000, nlp=None):
    """Run the pipeline on a gold file and score it. Returns (metrics, rows, records)."""
    from .record import analyze_many
    rows = read_gold(path)
    records = list(analyze_many(((r.get("id", i), r["text"], r.get("ordered")) for i, r in enumerate(rows)),
                                nlp=nlp))
    metrics = score(rows, records, bootstrap=bootstrap)
    metrics["rules_on_gold"] = score_rules_on_gold(rows)
    metrics["assertion_counts"] = dict(Counter(s for r in rows for s in (r["gold"].get("concepts") or {}).values()))
    return metrics, rows, records
