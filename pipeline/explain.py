"""``spine-audit explain``: why the extractor read one note the way it did.

For a clinician editing the lexicon: the sentences and sections, the words
whose normal form differs from their spelling, every match with its concept,
pattern id, kind of pattern and normal form, the matches that were dropped
and why, every assertion cue with its scope, why each mention got its
status, and the age, duration and regions with the words they came from.

``explain(text)`` returns plain data (JSON-ready); ``format_explanation``
renders it as terminal text. Both show the note's own words: run it on your
own input only, and do not paste its output into logs.
"""

from .extract import get_nlp
from .extract.components import CONCEPT_KEY, REGION_KEY, REGION_LABEL_PREFIX, doc_text, remember_text


def _kind(pat):
    if pat.tokens:
        return "tokens"
    if pat.regex is not None:
        return "regex"
    return "phrase"


def _pipe(nlp, name):
    return nlp.get_pipe(name) if name in nlp.pipe_names else None


def _cues(doc, nlp):
    """Assertion cues: negspacy's preceding cues (scope: to the end of their
    sentence or a termination word), pseudo cues, terminations, and the
    project's following cues (scope: a few tokens back)."""
    out = []
    for name in ("negation", "family", "hypothetical"):
        comp = _pipe(nlp, name)
        if comp is None:
            continue
        preceding, _following, terminating = comp.process_negations(doc)
        boundaries = comp.termination_boundaries(doc, terminating)
        for _mid, start, end in preceding:
            stop = next((b for a, b in boundaries if a <= start < b), len(doc))
            out.append({"kind": name, "type": "preceding", "text": doc[start:end].text,
                        "start": doc[start].idx, "end": doc[end - 1].idx + len(doc[end - 1].text),
                        "scope": [doc[start].idx, doc[stop - 1].idx + len(doc[stop - 1].text)]})
        for _mid, start, end in terminating:
            out.append({"kind": name, "type": "termination", "text": doc[start:end].text,
                        "start": doc[start].idx, "end": doc[end - 1].idx + len(doc[end - 1].text), "scope": None})
        strings = nlp.vocab.strings
        for mid, start, end in comp.matcher(doc):
            if strings[mid] == "pseudo":
                out.append({"kind": name, "type": "pseudo (not a cue)", "text": doc[start:end].text,
                            "start": doc[start].idx, "end": doc[end - 1].idx + len(doc[end - 1].text),
                            "scope": None})
    assertion = _pipe(nlp, "spine_assertion")
    if assertion is not None:
        window = assertion.window
        strings = nlp.vocab.strings
        for mid, start, end in assertion.following(doc):
            first = max(0, start - window)
            out.append({"kind": strings[mid], "type": f"following (up to {window} tokens back)",
                        "text": doc[start:end].text, "start": doc[start].idx,
                        "end": doc[end - 1].idx + len(doc[end - 1].text), "scope": [doc[first].idx, doc[start].idx]})
    return sorted(out, key=lambda c: (c["start"], c["kind"]))


def _reason_text(reason, doc, sections):
    what = reason[0]
    if what == "pattern":
        return f"the pattern fixes the status ({reason[1]})"
    if what == "section":
        name = next((s[2] for s in sections if s[0] == reason[1]), "?")
        return f"inside the {name} section"
    if what == "negex":
        return f"a preceding {reason[1]} cue in the same sentence (see cues)"
    if what == "following":
        tok = doc[reason[2]]
        return f"{reason[1]} cue '{tok.text}' follows within the window"
    return "no cue applies"


def explain(text, nlp=None):
    """Everything the extractor decided about ``text``, as plain data."""
    nlp = nlp or get_nlp()
    doc = nlp.make_doc(text)
    remember_text(doc, text)
    concepts_pipe = nlp.get_pipe("spine_concepts")
    assertion = nlp.get_pipe("spine_assertion")
    for name, proc in nlp.pipeline:
        doc = proc(doc)
    text = doc_text(doc)
    lower = text.lower()
    present, starts_at = concepts_pipe.scan(lower)
    raw = concepts_pipe.find_mentions(doc, text, lower, present, starts_at=starts_at)
    dropped = []
    concepts_pipe.resolve(doc, raw, doc._.spine_order_header, dropped)

    sections = doc._.spine_sections or []
    section_ranges = assertion._section_assertion(doc)
    cues = assertion._following_cues(doc)
    spine = doc._.spine

    def norm_of(start, end):
        return " ".join(t.norm_ for t in doc[start:end])

    matches = []
    for span in doc.spans[CONCEPT_KEY]:
        pat = assertion.lexicon.by_id.get(span.id_)
        status, reason = assertion.status_and_reason(doc, span.end, span.start_char, span.end_char, span.label_,
                                                     span.id_, section_ranges, cues)
        counted = not (pat is not None and pat.status == "if_negated" and status != "negated")
        matches.append({
            "concept": span.label_, "text": span.text, "start": span.start_char, "end": span.end_char,
            "pattern_id": span.id_, "pattern_kind": _kind(pat) if pat else None,
            "norm": norm_of(span.start, span.end), "status": status,
            "why": _reason_text(reason, doc, sections) + ("" if counted else
                                                           "; a denial-only wording that is not denied here: not counted"),
            "counted": counted,
        })
    dropped_out = []
    seen = set()
    for (start, end, concept, pat), why, by in dropped:
        key = (start, end, concept, pat.id)
        if key in seen:
            continue
        seen.add(key)
        dropped_out.append({"concept": concept, "text": doc[start:end].text, "start": doc[start].idx,
                            "end": doc[end - 1].idx + len(doc[end - 1].text), "pattern_id": pat.id,
                            "why": why + (f" ({by.id})" if by is not None and by is not pat else "")})
    regions = []
    for span in doc.spans.get(REGION_KEY, ()):
        status, reason = assertion.status_and_reason(doc, span.end, span.start_char, span.end_char, span.label_,
                                                     span.id_, section_ranges, cues)
        regions.append({"region": span.label_[len(REGION_LABEL_PREFIX):], "text": span.text,
                        "start": span.start_char, "end": span.end_char, "counted": status == "present",
                        "why": _reason_text(reason, doc, sections)})
    age = assertion.age_match(doc, section_ranges)
    duration = assertion.duration_match(doc)
    return {
        "sentences": [{"start": s.start_char, "end": s.end_char, "text": s.text} for s in doc.sents],
        "sections": [{"name": s[2], "start": s[0], "end": s[1], "assertion": s[3]} for s in sections],
        "order_header": list(doc._.spine_order_header) if doc._.spine_order_header else None,
        "normalised_words": [{"text": t.text, "norm": t.norm_, "start": t.idx}
                             for t in doc if t.norm_ != t.lower_ and not t.is_space],
        "matches": matches,
        "dropped": dropped_out,
        "cues": _cues(doc, nlp),
        "regions": regions,
        "age": None if age is None else {"years": age[0], "pattern_id": age[1], "text": text[age[2]:age[3]],
                                         "start": age[2], "end": age[3]},
        "duration": None if duration is None else {"weeks": duration[0], "text": text[duration[1]:duration[2]],
                                                   "start": duration[1], "end": duration[2], "kind": duration[3]},
        "result": {"concepts": spine["concepts"], "duration_weeks": spine["duration_weeks"],
                   "regions": spine["regions"], "age_years": spine.get("age_years")},
    }


def format_explanation(e):
    """Terminal text for ``explain``'s result."""
    out = [f"SENTENCES ({len(e['sentences'])})"]
    for k, s in enumerate(e["sentences"]):
        out.append(f"  [{k}] {s['start']}-{s['end']}  {s['text'].strip()}")
    if e["sections"]:
        out.append("SECTIONS")
        for s in e["sections"]:
            fixed = f", statuses inside: {s['assertion']}" if s["assertion"] else ""
            out.append(f"  {s['name']:<11} chars {s['start']}-{s['end']}{fixed}")
    if e["order_header"]:
        out.append(f"ORDER LINE at the top (chars {e['order_header'][0]}-{e['order_header'][1]}): "
                   "read as the order itself, not as history")
    if e["normalised_words"]:
        out.append("NORMAL FORMS (normalise.yaml)")
        out.append("  " + ", ".join(f"{w['text']} -> {w['norm']}" for w in e["normalised_words"]))
    out.append("MATCHES (concept, words, pattern, status and why)")
    if not e["matches"]:
        out.append("  none")
    for m in e["matches"]:
        norm = f"  norm: {m['norm']}" if m["norm"] != m["text"].lower() else ""
        out.append(f"  {m['concept']:<28} \"{m['text']}\"  chars {m['start']}-{m['end']}  "
                   f"{m['pattern_id']} ({m['pattern_kind']}){norm}")
        out.append(f"  {'':<28} -> {m['status']}: {m['why']}")
    if e["dropped"]:
        out.append("DROPPED MATCHES")
        for d in e["dropped"]:
            out.append(f"  {d['concept']:<28} \"{d['text']}\"  {d['pattern_id']}: {d['why']}")
    out.append("ASSERTION CUES")
    if not e["cues"]:
        out.append("  none")
    for c in e["cues"]:
        scope = f"  scope chars {c['scope'][0]}-{c['scope'][1]}" if c["scope"] else ""
        out.append(f"  {c['kind']:<12} {c['type']:<32} \"{c['text']}\" chars {c['start']}-{c['end']}{scope}")
    out.append("REGIONS")
    if not e["regions"]:
        out.append("  none named")
    for r in e["regions"]:
        out.append(f"  {r['region']:<9} \"{r['text']}\"  " + ("counted" if r["counted"] else f"not counted: {r['why']}"))
    a, d = e["age"], e["duration"]
    out.append("AGE " + (f"{a['years']} from \"{a['text']}\" ({a['pattern_id']})" if a else "not stated"))
    out.append("DURATION " + (f"{d['weeks']} weeks from \"{d['text']}\" ({d['kind']})" if d else "not stated"))
    r = e["result"]
    out.append("RESULT " + (", ".join(f"{c} {s}" for c, s in r["concepts"].items()) or "no concepts")
               + f"; duration {r['duration_weeks']}; regions {', '.join(r['regions']) or 'none'}; age {r['age_years']}")
    return "\n".join(out)
