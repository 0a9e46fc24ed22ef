"""The throughput shortcuts must not change any result.

Each shortcut (lower-cased regex path, remembered doc text, memoised rules
and order parsing) is checked against the plain computation it replaces.
"""

import random
import re

import pytest

from pipeline.extract import pipe_docs
from pipeline.extract.components import doc_text
from pipeline.extract.lexicon import NoteRegex, _lowercase_safe, load_concepts, load_context


@pytest.mark.parametrize("source,safe", [
    (r"\bneck\b", True),
    (r"\b(?:t|temp)\s*(?P<value>\d+)", True),       # group names are not letters of the pattern
    (r"(?P<span>a)(?P=span)", True),
    (r"\S+\W\D\B", True),                            # upper-case escapes are classes, not letters
    (r"[CTLS]\d", False),
    (r"(?-i:\bC[1-8]\b)", False),                    # inline flags
    (r"(?i)abc", False),
    (r"\x41", False),                                # characters by code
    (r"\u0041", False),
    (r"\101", False),
    ("\u017fpine", False),                           # long s matches "s" case-insensitively
    ("caf\u00e9", False),
    ("38\u00b0", True),                              # a degree sign is not a letter
])
def test_lowercase_safe(source, safe):
    assert _lowercase_safe(source) is safe


def _match_spans(matches):
    return [tuple(m.span(g) for g in range(m.re.groups + 1)) for m in matches]


def _shipped_expressions():
    lex, ctx = load_concepts(), load_context()
    out = [(p.id, p.regex) for p in lex.patterns if p.regex is not None]
    out += [(f"region:{r}:{rx.pattern}", rx) for r, rx, _t, _s in ctx.regions]
    out.append(("duration", ctx.duration_re))
    return out


def _case_variants(texts, seed=3):
    rng = random.Random(seed)
    out = []
    for t in texts:
        out += [t, t.upper(), t.lower(), "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in t)]
    return out


def test_every_shipped_expression_has_the_fast_path_except_by_design():
    slow = [name for name, rx in _shipped_expressions() if rx.lowered is None and rx.regex.flags & re.I]
    # the spine-level patterns are case-sensitive on purpose ("L4" is a level, "l4" is not)
    assert all(name.startswith("region:") and "(?-i:" in name for name in slow), slow


def test_fast_path_finds_the_same_matches_as_ignorecase(sample_rows, dev_rows):
    texts = [r["text"] for r in sample_rows + dev_rows]
    texts += ["T 38.6, Tmax 101.2F", "s/p L4-5 laminectomy; C5 dermatome; absent R ankle jerk", "MVC x3wks"]
    variants = [t for t in _case_variants(texts) if t.isascii()]
    checked = 0
    for name, rx in _shipped_expressions():
        if rx.lowered is None:
            continue
        for t in variants:
            fast = _match_spans(rx.finditer(t, t.lower()))
            slow = _match_spans(rx.regex.finditer(t))
            assert fast == slow, name
            checked += bool(slow)
    assert checked > 500  # the comparison saw many real matches, not only empty lists


def test_non_ascii_notes_take_the_ignorecase_path():
    rx = NoteRegex(r"\bspine\b")
    text = "\u017fPINE and SPINE"  # the long s is an "s" to re.IGNORECASE, not to str.lower()
    assert rx.lowered is not None  # the pattern itself would take the fast path
    assert [m.span() for m in rx.finditer(text, text.lower())] == [m.span() for m in rx.regex.finditer(text)]
    assert len(list(rx.finditer(text, text.lower()))) == 2


def test_non_ascii_note_extracts_like_its_ascii_twin(concepts_of):
    ascii_note = "LBP with FEVER, TEMP 38.9 C, H/O PROSTATE CA; s/p L4-5 LAMINECTOMY"
    accented = ascii_note + " \u2013 patient is caf\u00e9 owner"
    got = concepts_of(accented)
    assert got == concepts_of(ascii_note)
    assert got["FEVER"] == "present" and got["CANCER_HISTORY"] == "present"
    assert got["PRIOR_SPINE_SURGERY"] == "present"


def test_remembered_text_is_the_doc_text(nlp, sample_rows):
    texts = [r["text"] for r in sample_rows] + ["  two  spaces\nand a line  "]
    for text, doc in zip(texts, pipe_docs(nlp, texts)):
        assert doc_text(doc) == doc.text == text
        assert doc._.spine == nlp(text)._.spine  # same result without the remembered text


def test_memoised_recommendation_is_a_fresh_copy():
    from pipeline.rules import recommend
    concepts = {"FEVER": "present", "IV_DRUG_USE": "present"}
    first = recommend(concepts, 2.0, ["LUMBAR"])
    expected = recommend(dict(concepts), 2.0, ["LUMBAR"])
    assert first == expected
    first["regions"].append("CERVICAL")
    first["rule_ids"].clear()
    for alt in first["alternatives"]:
        alt["modality"] = "XR"
    first["alternatives"].append({"modality": "XR"})
    again = recommend(concepts, 2.0, ["LUMBAR"])
    assert again == expected
    assert again["contrast"] == "WITH_AND_WITHOUT" and again["rule_ids"]


def test_memoised_recommendations_equal_fresh_decisions(dev_rows):
    """Interleaved calls (same concepts, other duration/status/regions) hit and
    miss the memo; each answer must equal the rule table's uncached decision."""
    from pipeline.rules import load_rules
    from pipeline.vocab import order_regions
    rules = load_rules()
    calls = []
    for row in dev_rows:
        g = row["gold"]
        calls.append((g["concepts"], g.get("duration_weeks"), g.get("regions") or []))
        calls.append((g["concepts"], 2.0, []))
        calls.append((g["concepts"], 12.0, ["LUMBAR"]))
        calls.append(({c: "negated" for c in g["concepts"]}, g.get("duration_weeks"), []))
    for concepts, weeks, regions in calls + calls:
        got = rules.recommend(concepts, weeks, regions)
        fresh = rules._decide(concepts, None if weeks is None else float(weeks), order_regions(regions))
        assert got == fresh


def test_cached_order_parse_is_a_fresh_copy():
    from pipeline.orders import parse_order
    first = parse_order("MRI L-spine w/o contrast")
    first["regions"].append("CERVICAL")
    first["modality"] = "CT"
    again = parse_order("MRI L-spine w/o contrast")
    assert again == {"raw": "MRI L-spine w/o contrast", "parsed": True, "modality": "MRI",
                     "contrast": "WITHOUT", "regions": ["LUMBAR"]}



def test_token_offsets_expand_equals_char_span_expand(nlp, dev_rows, sample_rows):
    """TokenOffsets.expand (used instead of building Spans) covers exactly the
    tokens Doc.char_span(alignment_mode="expand") covers, for any non-empty range."""
    import random
    from pipeline.extract.components import TokenOffsets
    rng = random.Random(3)
    texts = [r["text"] for r in dev_rows + sample_rows]
    checked = 0
    for text in texts:
        doc = nlp.make_doc(text)
        offsets = TokenOffsets(doc)
        for _ in range(40):
            a = rng.randrange(0, len(text))
            b = rng.randrange(a + 1, len(text) + 1)
            span = doc.char_span(a, b, alignment_mode="expand")
            expected = None if span is None or len(span) == 0 else (span.start, span.end)
            assert offsets.expand(a, b) == expected, (a, b)
            checked += 1
    assert checked > 3000


def test_trigger_automaton_finds_exactly_the_substrings(nlp, dev_rows, sample_rows):
    """The Aho-Corasick prefilter reports the same triggers as a substring test."""
    concepts = nlp.get_pipe("spine_concepts")
    for row in dev_rows + sample_rows:
        lower = row["text"].lower()
        assert concepts.present_triggers(lower) == {t for t in concepts.triggers if t in lower}


def test_anchored_token_patterns_find_what_the_full_expression_finds(nlp, dev_rows, sample_rows):
    """Trying a token pattern only where its first word stands finds the same
    matches as scanning the note with the whole expression."""
    from pipeline.extract.components import TokenOffsets
    concepts = nlp.get_pipe("spine_concepts")
    lexicon = concepts.lexicon
    token_ids = {p.id for p in lexicon.patterns if p.tokens}
    extra = ["Took ibuprofen and used heat, which did not help.", "Numbness in both feet and pain down the left leg.",
             "Weakness in his legs. Loss of bladder or bowel control denied."]
    for text in [r["text"] for r in dev_rows + sample_rows] + extra:
        doc = nlp.make_doc(text)
        lower = text.lower()
        offsets = TokenOffsets(doc)
        found = {(s, e, p.id) for s, e, _c, p in concepts.find_mentions(doc, text, lower,
                                                                       concepts.present_triggers(lower), offsets)
                 if p.id in token_ids}
        full = set()
        for pid in token_ids:
            for m in lexicon.by_id[pid].regex.finditer(text, lower):
                tokens = offsets.expand(m.start(), m.end())
                if tokens:
                    full.add((tokens[0], tokens[1], pid))
        # finditer reports non-overlapping matches only, so it may find fewer
        assert {(s, pid) for s, _e, pid in full} <= {(s, pid) for s, _e, pid in found}, text


def _all_corpus_texts():
    import glob
    import json as _json
    from conftest import ROOT, SHARED
    paths = sorted(glob.glob(str(SHARED / "data" / "**" / "*.jsonl"), recursive=True))
    paths.append(str(ROOT / "data" / "samples" / "referrals_samples.jsonl"))
    texts = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = _json.loads(line)
                text = row.get("text") or row.get("sentence")
                if isinstance(text, str):
                    texts.append(text)
    return texts


def test_starts_find_every_match_a_full_search_finds(nlp, dev_rows):
    """A pattern with `starts` is tried only where one of them stands; on every
    corpus in ../shared/data (and case variants of the dev notes) that finds
    exactly the matches a full search finds."""
    concepts = nlp.get_pipe("spine_concepts")
    with_starts = [p for p in concepts.regex_patterns if p.starts]
    assert len(with_starts) >= 10
    texts = [t for t in _all_corpus_texts() + _case_variants([r["text"] for r in dev_rows]) if t.isascii()]
    assert len(texts) > 5000
    regions = [(f"region#{k}", rx) for k, (_r, rx, _t, starts) in enumerate(concepts.context.regions) if starts]
    assert len(regions) >= 5  # the level patterns (upper and lower case) of C, T, L
    checks = [(p.id, p.regex) for p in with_starts] + regions
    for text in texts:
        lower = text.lower()
        _present, starts_at = concepts.scan(lower)
        for key, rx in checks:
            full = [(m.start(), m.end()) for m in rx.finditer(text, lower)]
            fast = [(m.start(), m.end()) for m in rx.finditer_at(text, lower, starts_at.get(key, ()))]
            assert fast == full, (key, text[:80])


def test_prefilter_reports_every_expression_that_matches(nlp, dev_rows):
    """Hyperscan's prefilter (issue 14) may report expressions that do not
    match, never skip one that does: on every corpus in ../shared/data, case
    variants of the dev notes and 3,000 generated notes, every concept,
    region, duration and age expression with a match is reported."""
    from pipeline.extract.prefilter import AGE_BASE, DURATION_ID, REGION_BASE
    from pipeline.notegen import generate_notes
    concepts = nlp.get_pipe("spine_concepts")
    if concepts.prefilter is None:
        pytest.skip("hyperscan not installed on this platform (every expression runs)")
    exprs = [(k, p.regex) for k, p in enumerate(concepts.regex_patterns)]
    exprs += [(REGION_BASE + k, rx) for k, (_r, rx, _t, _s) in enumerate(concepts.context.regions)]
    exprs += [(DURATION_ID, concepts.context.duration_re)]
    exprs += [(AGE_BASE + k, rx) for k, (_p, rx, _u, _t) in enumerate(concepts.context.age_patterns)]
    texts = _all_corpus_texts() + _case_variants([r["text"] for r in dev_rows])
    texts += [t for _, t in generate_notes(3000, seed=5)]
    scanned = skipped = 0
    for text in texts:
        maybe = concepts.prefilter.maybe(text)
        if maybe is None:
            assert not text.isascii() or re.search(r"[\x1c-\x1f]", text)
            continue
        scanned += 1
        lower = text.lower()
        for k, rx in exprs:
            if k not in maybe:
                skipped += 1
                assert next(iter(rx.finditer(text, lower)), None) is None, (k, text[:80])
    assert scanned > 7000 and skipped > scanned * 20  # it does skip most expressions


def test_prefilter_is_not_used_on_notes_it_cannot_read_exactly(nlp):
    concepts = nlp.get_pipe("spine_concepts")
    if concepts.prefilter is None:
        pytest.skip("hyperscan not installed on this platform")
    assert concepts.prefilter.maybe("F\u00e9ver 39, LBP") is None          # non-ASCII: Unicode classes
    assert concepts.prefilter.maybe("Fever\x1c39, LBP") is None            # Python's \s matches \x1c-\x1f
    assert concepts.prefilter.maybe("Fever 39, LBP") is not None
