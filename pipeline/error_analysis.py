"""Error analysis: every disagreement with gold, grouped by concept and by
the kind of miss, so that misses are fixed by family, not one by one.

Kinds of concept error (document level, RULES.md section 5 statuses):

* ``missed``       gold says present, the extractor found nothing
* ``false_alarm``  the extractor says present, gold has no mention
* ``status``       both mention the concept with different statuses
                   (``present->negated``, ``negated->present``, ...)
* ``unwanted``     the extractor reports a non-present status the gold
                   does not annotate (harmless for the rules, noisy for QA)

Besides concepts: duration, regions, age and the recommendation fields.
``analyse_files`` returns plain data; ``format_markdown`` renders it. The
output quotes note text around each piece of evidence: run it only on data
you may read (the development sets), and treat the file as patient data.
"""

import os
from collections import defaultdict

from .evaluate import REC_FIELDS, _duration_ok, _same, read_gold

CONTEXT_CHARS = 60


def _kind(gold_status, pred_status):
    if gold_status == pred_status:
        return None
    if gold_status == "present" and pred_status is None:
        return "missed"
    if pred_status == "present" and gold_status is None:
        return "false_alarm"
    if gold_status is None:
        return "unwanted"
    return "status"


def _snippet(text, start, end, width=CONTEXT_CHARS):
    a, b = max(0, start - width), min(len(text), end + width)
    return ("..." if a else "") + text[a:start] + "[[" + text[start:end] + "]]" + text[end:b] + ("..." if b < len(text) else "")


def compare_rows(rows, records, corpus=""):
    """One item per disagreement: ``{corpus, id, field, concept, kind, gold,
    predicted, evidence}`` (evidence: the extractor's spans for that concept,
    each with a snippet of context)."""
    items = []
    for row, rec in zip(rows, records):
        g = row["gold"]
        text = row["text"]
        ok = rec.get("status") == "ok"
        pc = (rec.get("concepts") or {}) if ok else {}
        gc = g.get("concepts") or {}
        base = {"corpus": corpus, "id": row.get("id")}
        for c in sorted(set(gc) | set(pc)):
            kind = _kind(gc.get(c), pc.get(c))
            if kind is None:
                continue
            ev = [{"status": e["status"], "pattern_id": e.get("pattern_id"),
                   "context": _snippet(text, e["start"], e["end"])}
                  for e in (rec.get("evidence") or []) if e["concept"] == c]
            items.append(dict(base, field="concept", concept=c, kind=kind if kind != "status"
                              else f"{gc.get(c)}->{pc.get(c)}", gold=gc.get(c), predicted=pc.get(c),
                              evidence=ev, notes=(g.get("notes") or None)))
        if "duration_weeks" in g and not _duration_ok(g.get("duration_weeks"), rec.get("duration_weeks")):
            items.append(dict(base, field="duration_weeks", kind=_value_kind(g.get("duration_weeks"),
                                                                             rec.get("duration_weeks")),
                              gold=g.get("duration_weeks"), predicted=rec.get("duration_weeks")))
        if "regions" in g and not _same(g.get("regions"), rec.get("regions")):
            items.append(dict(base, field="regions", kind="regions", gold=g.get("regions"),
                              predicted=rec.get("regions")))
        if "age_years" in g and g.get("age_years") != rec.get("age_years"):
            items.append(dict(base, field="age_years", kind=_value_kind(g.get("age_years"), rec.get("age_years")),
                              gold=g.get("age_years"), predicted=rec.get("age_years")))
        grec, prec = g.get("recommendation") or {}, (rec.get("recommendation") or {})
        for f in REC_FIELDS:
            if f in grec and not _same(grec[f], prec.get(f)):
                items.append(dict(base, field=f"recommendation.{f}", kind=f"{grec[f]}->{prec.get(f)}",
                                  gold=grec[f], predicted=prec.get(f)))
    return items


def _value_kind(gold, pred):
    if gold is None:
        return "false_alarm"
    if pred is None:
        return "missed"
    return "wrong_value"


def analyse_files(paths, nlp=None):
    """Run the extractor on each gold file; return ``{"items": [...],
    "by_concept": {concept: {kind: n}}, "by_field": {field: {kind: n}},
    "documents": {corpus: n}}``."""
    from .record import analyze_many
    items, docs = [], {}
    for path in paths:
        corpus = os.path.basename(str(path))
        rows = read_gold(path)
        records = list(analyze_many(((r.get("id", i), r["text"], r.get("ordered")) for i, r in enumerate(rows)),
                                    nlp=nlp))
        docs[corpus] = len(rows)
        items.extend(compare_rows(rows, records, corpus))
    by_concept = defaultdict(lambda: defaultdict(int))
    by_field = defaultdict(lambda: defaultdict(int))
    for it in items:
        if it["field"] == "concept":
            by_concept[it["concept"]][it["kind"]] += 1
        else:
            by_field[it["field"]][it["kind"]] += 1
    return {"documents": docs, "items": items,
            "by_concept": {c: dict(k) for c, k in sorted(by_concept.items(), key=lambda kv: -sum(kv[1].values()))},
            "by_field": {f: dict(k) for f, k in sorted(by_field.items())}}


def format_markdown(result):
    out = ["# Error analysis", "",
           "Documents: " + ", ".join(f"{c} {n}" for c, n in result["documents"].items()), "",
           "Contains note text from the evaluated files: treat as patient data.", "",
           "## Concepts by kind of error", "", "| concept | errors | kinds |", "|---|---:|---|"]
    for c, kinds in result["by_concept"].items():
        out.append(f"| {c} | {sum(kinds.values())} | "
                   + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])) + " |")
    out += ["", "## Other fields", "", "| field | kinds |", "|---|---|"]
    for f, kinds in result["by_field"].items():
        out.append(f"| {f} | " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])) + " |")
    groups = defaultdict(list)
    for it in result["items"]:
        if it["field"] == "concept":
            groups[(it["concept"], it["kind"])].append(it)
    out += ["", "## Concept errors, grouped", ""]
    for (c, kind), its in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        out.append(f"### {c}: {kind} ({len(its)})")
        out.append("")
        for it in its:
            ev = "; ".join(f"{e['status']} {e['pattern_id']}: {e['context']}" for e in it["evidence"]) or "no evidence"
            out.append(f"- {it['corpus']} {it['id']}: {ev}".replace("\n", " "))
        out.append("")
    return "\n".join(out)
