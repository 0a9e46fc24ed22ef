"""spaCy components of the spine-audit extractor.

Pipeline (``build_nlp``)::

    spine_sentences -> spine_concepts -> negex (negation) -> negex (family)
                    -> negex (hypothetical) -> spine_assertion

* ``spine_sentences`` sets sentence starts for referral notes (line breaks,
  bullets, ". ", ";", " - ", section headers such as "HPI:" or ",HX:,") and
  records sections in ``doc._.spine_sections``.
* ``spine_concepts`` matches the concept lexicon (phrases with a PhraseMatcher,
  regular expressions on the text) into the span group ``spine_concepts``
  (label = concept id, ``span.id_`` = pattern id) and region words into
  ``spine_regions``.
* three negspacy ``negex`` instances with the project's own term lists write
  ``span._.negex``, ``span._.spine_family`` and ``span._.spine_hypothetical``.
* ``spine_assertion`` resolves each mention's status and the document-level
  status per concept (RULES.md section 5), the symptom duration and the
  symptomatic regions into ``doc._.spine``.
"""

import re

from bisect import bisect_left, bisect_right

import ahocorasick
import numpy
from spacy.attrs import IDX, LENGTH, SENT_START
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from ..orders import parse_order
from ..vocab import CONCEPTS, STATUSES, order_regions
from .lexicon import load_assertion_terms, load_concepts, load_context
from .prefilter import AGE_BASE, DURATION_ID, MAYBE_KEY, REGION_BASE

CONCEPT_KEY = "spine_concepts"
REGION_KEY = "spine_regions"
REGION_LABEL_PREFIX = "REGION_"

if not Doc.has_extension("spine_sections"):
    Doc.set_extension("spine_sections", default=None)
if not Doc.has_extension("spine_sent_starts"):
    Doc.set_extension("spine_sent_starts", default=None)  # token indices, set once by spine_sentences
if not Doc.has_extension("spine_order_header"):
    Doc.set_extension("spine_order_header", default=None)
if not Doc.has_extension("spine"):
    Doc.set_extension("spine", default=None)

_SENT_END = {".", "!", "?", ";"}
# Reasons shared by every mention they apply to (explain)
_BY_NEGEX = {kind: ("negex", kind) for kind in ("family", "hypothetical", "negation")}
_NO_CUE = ("none",)
# Pattern statuses that fix the assertion and silence mentions of the same
# concept inside them; "if_negated" wordings count only when denied.
_FIXED_STATUS = ("negated", "excluded")
_TEXT_KEY = "spine_text"
_BULLETS = {"-", "*", "•", "·", "–", "—", "+"}
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
# doc.user_data keys of the mentions as plain tuples (spine_concepts -> spine_assertion)
_MENTIONS_KEY = "spine_mentions"
_DIGIT = re.compile(r"\d")
_REGION_MENTIONS_KEY = "spine_region_mentions"
_DOC = object()  # "read it from the doc" (a default where None is a value)


def remember_text(doc, text):
    """Store the text ``doc`` was made from (``doc.text`` equals it by spaCy's
    contract), so that ``doc_text`` need not rebuild it."""
    doc.user_data[_TEXT_KEY] = text
    return doc


def doc_text(doc):
    """``doc.text``, computed once per document.

    spaCy rebuilds ``doc.text`` from the tokens on every access; the
    components need it several times per note. The tokens are never changed
    after tokenisation, so the first value stays valid.
    """
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        text = doc.user_data[_TEXT_KEY] = doc.text
    return text


def span_flag(doc, attr, start_char, end_char):
    """``span._.<attr>`` for the span at these offsets, read without building
    spaCy's ``Underscore`` object (same storage key as spaCy 3's Underscore)."""
    return bool(doc.user_data.get(("._.", attr, start_char, end_char)))


# --------------------------------------------------------------------------- #
# Sentences and sections
# --------------------------------------------------------------------------- #

@Language.factory("spine_sentences", assigns=["token.is_sent_start", "doc._.spine_sections"])
def make_sentences(nlp, name):
    return SpineSentences(load_context())


class SpineSentences:
    """Rule-based sentence and section boundaries for referral notes.

    The rules fire only at a few kinds of token: line breaks, the sentence
    ends ``. ! ? ;``, bullets, ``:`` (section headers, ALL-CAPS headers) and
    list numbers before ``)`` or ``.``. ``boundaries`` finds those tokens with
    one regular-expression scan of the text and applies the rules there, in
    token order, instead of visiting every token; the other tokens cannot
    change a boundary (``tests/test_golden.py`` checks the results).
    """

    # characters of the tokens where a rule can fire (")" and "." for the list number before them)
    _CANDIDATE = re.compile("[\n.!?;:)" + re.escape("".join(sorted(_BULLETS))) + "]")

    def __init__(self, context):
        self.headers = context.headers
        self.max_header_tokens = max(len(h.split()) for h in self.headers)
        self.header_first_words = {h.split()[0] for h in self.headers}
        self.no_split_after = context.no_split_after

    def __call__(self, doc):
        starts, sections = self.boundaries(doc_text(doc), TokenOffsets(doc))
        if len(doc):
            set_sent_starts(doc, starts)
        doc._.spine_sent_starts = starts
        doc._.spine_sections = sections
        return doc

    def boundaries(self, text, offsets):
        """(sentence start token indices, sections) of a note: sections as
        ``(start_char, end_char, name, assertion, inline)``."""
        n = offsets.n
        if n == 0:
            return [], []
        tok_starts, tok_ends = offsets.starts, offsets.ends

        def word(k):
            return text[tok_starts[k]:tok_ends[k]]

        def spaced(k):  # token k is followed by a single space (spaCy's SPACY attribute)
            return k + 1 < n and tok_starts[k + 1] > tok_ends[k]

        def at_line_start(k):  # only whitespace without a line break, or none, since the last line break
            j = k - 1
            while j >= 0:
                w = word(j)
                if not w.isspace():
                    return False
                if "\n" in w:
                    return True
                j -= 1
            return True

        # Every rule fires at a whitespace token with a line break, at a token
        # that is one of the candidate characters alone, at a list number
        # before ")" or ".", or at a header word before ":".
        headers, first_words, no_split = self.headers, self.header_first_words, self.no_split_after
        candidates = set()
        max_header = self.max_header_tokens
        for m in self._CANDIDATE.finditer(text):
            p = m.start()
            k = bisect_right(tok_starts, p) - 1
            c = m.group()
            if c == "\n":
                if p < tok_ends[k]:  # always: spaCy keeps line breaks in whitespace tokens
                    candidates.add(k)
                continue
            if tok_starts[k] != p or tok_ends[k] != p + 1:
                continue  # part of a longer token ("C-spine", "3.5")
            candidates.add(k)
            if (c == ")" or c == ".") and k:
                w = word(k - 1)
                if len(w) <= 2 and w.isdigit():
                    candidates.add(k - 1)  # a list number "1)", "2."
            elif c == ":":
                candidates.update(j for j in range(max(0, k - max_header), k) if word(j).lower() in first_words)
        starts = [False] * n
        starts[0] = True
        sections = []  # [start_char, end_char, name, assertion, inline]
        skip_to = 0
        for i in sorted(candidates):
            if i < skip_to:
                continue  # inside a section header already read
            w = word(i)
            if w.isspace():
                if "\n" in w and i + 1 < n:
                    starts[i + 1] = True
                continue
            prev = word(i - 1) if i else None
            line_start = None
            if w.lower() in first_words:
                line_start = at_line_start(i)
                if starts[i] or line_start or prev in (",", "."):
                    hlen = self._header_len(text, offsets, i)
                    if hlen:
                        name, assertion = headers[" ".join(word(j).lower() for j in range(i, i + hlen))]
                        starts[i] = True
                        k = i + hlen + 1
                        while k < n and word(k) == ",":
                            k += 1
                        inline = not (k < n and "\n" in word(k) and word(k).isspace())
                        if k < n:
                            starts[k] = True
                        sections.append([tok_starts[i], None, name, assertion, inline])
                        skip_to = k  # the rules resume at token k
                        continue
            if w in _BULLETS and i + 1 < n and (line_start if line_start is not None else at_line_start(i)):
                starts[i + 1] = True
            if w == ":" and i:
                # an ALL-CAPS header ("POSTOPERATIVE DIAGNOSIS(ES):") starts a new sentence
                k = i - 1
                while k >= 0 and i - k <= 4 and (word(k).isupper() or word(k) in "()") and not word(k).isspace():
                    k -= 1
                if k < i - 1 and any(word(j).isupper() and len(word(j)) > 1 for j in range(k + 1, i)):
                    starts[k + 1] = True
                    if i + 1 < n:
                        starts[i + 1] = True
            if w.isdigit() and len(w) <= 2 and i + 1 < n and word(i + 1) in (")", ".") and i \
                    and (spaced(i - 1) or prev == ":") and i + 2 < n and not word(i + 2)[:1].isdigit():
                starts[i] = True  # a numbered list item "1) ...", "2. ..." starts a new sentence
            if w in _SENT_END and i + 1 < n:
                if not (w == "." and prev is not None and prev.lower() in no_split):
                    starts[i + 1] = True
            elif w in _BULLETS and w != "+" and i and spaced(i - 1) and spaced(i) and i + 1 < n:
                starts[i + 1] = True  # " - " separates clauses in dictated notes
        for k, sec in enumerate(sections):
            sec[1] = sections[k + 1][0] if k + 1 < len(sections) else len(text)
        return [k for k, s in enumerate(starts) if s], [tuple(s) for s in sections]

    def _header_len(self, text, offsets, i):
        """Length in tokens of a section header starting at token i (before ':')."""
        n = offsets.n
        tok_starts, tok_ends = offsets.starts, offsets.ends
        for size in range(self.max_header_tokens, 0, -1):
            j = i + size
            if j < n and text[tok_starts[j]:tok_ends[j]] == ":" and \
                    " ".join(text[tok_starts[k]:tok_ends[k]].lower() for k in range(i, j)) in self.headers:
                return size
        return 0


def set_sent_starts(doc, starts):
    """Write sentence starts (token indices) to the doc's SENT_START."""
    flags = numpy.full(len(doc), -1, dtype="int64")
    flags[starts] = 1
    doc.from_array([SENT_START], flags.view("uint64").reshape(-1, 1))


# --------------------------------------------------------------------------- #
# Concept matching
# --------------------------------------------------------------------------- #

@Language.factory("spine_concepts", assigns=["doc.spans"],
                  requires=["token.is_sent_start"])
def make_concepts(nlp, name):
    return SpineConcepts(nlp, load_concepts(), load_context())


def _order_header(doc, offsets=None, starts=None):
    """Char range of a leading order line ("CT C SPINE WO CONTRAST.") or None.

    Only an ALL-CAPS first sentence that parses as an order with a stated
    contrast counts, so that "CT C-spine negative. Neck pain..." is narrative.
    ``starts``: the sentence start tokens (default: the doc's).
    """
    if not len(doc):
        return None
    starts = sent_starts(doc) if starts is None else starts
    end = starts[1] if len(starts) > 1 else len(doc)
    if end > 12:
        return None
    offsets = offsets or TokenOffsets(doc)
    first_start, first_end = offsets.starts[0], offsets.ends[end - 1]
    text = doc_text(doc)[first_start:first_end].strip().rstrip(".")
    if not text or any(c.islower() for c in text):
        return None
    parsed = parse_order(text)
    if not parsed or not parsed["parsed"]:
        return None
    if parsed["contrast"] is None and parsed["modality"] in ("MRI", "CT"):
        return None
    return first_start, first_end


class TokenOffsets:
    """Token character offsets of a doc, read once, and the token range that
    covers a character range (``Doc.char_span(..., alignment_mode="expand")``
    without building a Span; tests/test_fast_paths.py checks they agree)."""

    __slots__ = ("starts", "ends", "n")

    def __init__(self, doc):
        arr = doc.to_array([IDX, LENGTH])
        self.starts = arr[:, 0].tolist()
        self.n = len(self.starts)
        self.ends = (arr[:, 0] + arr[:, 1]).tolist()

    def expand(self, start_char, end_char):
        """(start_tok, end_tok) of the tokens overlapping [start_char,
        end_char), or None when no token does."""
        if end_char <= start_char or not self.n:
            return None
        first = bisect_right(self.starts, start_char) - 1
        if first < 0:
            first = 0
        if self.ends[first] <= start_char:
            first += 1  # the range starts in the whitespace after a token
        last = bisect_left(self.starts, end_char)
        if first >= last:
            return None
        return first, last


def _plain_mentions(doc):
    """The concept mentions as (start token, end token, start char, end char,
    concept, pattern id): the tuples spine_concepts recorded, or read from the
    span group when another component set it."""
    plain = doc.user_data.get(_MENTIONS_KEY)
    if plain is not None and len(plain) == len(doc.spans.get(CONCEPT_KEY, ())):
        return plain
    return [(s.start, s.end, s.start_char, s.end_char, s.label_, s.id_) for s in doc.spans.get(CONCEPT_KEY, ())]


def _plain_regions(doc):
    plain = doc.user_data.get(_REGION_MENTIONS_KEY)
    if plain is not None and len(plain) == len(doc.spans.get(REGION_KEY, ())):
        return plain
    return [(s.start, s.end, s.start_char, s.end_char, s.label_) for s in doc.spans.get(REGION_KEY, ())]


def sent_starts(doc):
    """Sentence start token indices (from spine_sentences, else from the doc)."""
    starts = doc._.spine_sent_starts
    if starts is None:
        starts = [s.start for s in doc.sents]
    return starts


class SpineConcepts:
    def __init__(self, nlp, lexicon, context):
        self.lexicon = lexicon
        self.context = context
        # on NORM: normal forms from data/normalise.yaml ("haemodialysis" is "hemodialysis")
        self.phrase_matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        for p in lexicon.patterns:
            if p.phrases:
                self.phrase_matcher.add(p.id, list(nlp.tokenizer.pipe(p.phrases)))
        # Token patterns (compositional findings) are compiled to expressions
        # by the lexicon (token_patterns.py). An alternative that starts with
        # a literal word is tried only where such a word stands: NORM anchors
        # share the concept PhraseMatcher (one pass over the note), LOWER ones
        # have their own. The other alternatives search the whole note with
        # the regex patterns.
        self.anchor_matchers = {"NORM": self.phrase_matcher,
                                "LOWER": PhraseMatcher(nlp.vocab, attr="LOWER")}
        self.anchored = {}
        self.lower_anchor_phrases = {}  # label -> phrases (the one-pass extractor's LOWER matcher)
        unanchored = []
        for p in lexicon.patterns:
            for k, (anchor, rx, rx_lower, trig) in enumerate(p.anchored):
                if anchor is None:
                    unanchored.append(p)
                    continue
                label = f"{p.id}#{k}"
                self.anchored[label] = (p, rx, rx_lower, trig)
                self.anchor_matchers[anchor[0]].add(label, list(nlp.tokenizer.pipe(anchor[1])))
                if anchor[0] == "LOWER":
                    self.lower_anchor_phrases[label] = list(anchor[1])
        self.anchor_matchers = [m for m in self.anchor_matchers.values() if len(m) and m is not self.phrase_matcher]
        unanchored_ids = {p.id for p in unanchored}
        self.regex_patterns = [p for p in lexicon.patterns
                               if p.regex is not None and (not p.tokens or p.id in unanchored_ids)]
        self.vocab = nlp.vocab
        self.masking = lexicon.masks_regions
        # every literal prefilter, found in one pass per note
        self.triggers = tuple(sorted({t for p in self.regex_patterns for t in p.triggers}
                                     | {t for _r, _rx, ts, _s in context.regions for t in ts}
                                     | {t for *_x, trig in self.anchored.values() for t in trig}))
        # triggers and start strings share one automaton: word -> (word, is a
        # trigger, ids of the patterns whose matches may start with it)
        starts_of = {}
        for p in self.regex_patterns:
            for w in p.starts:
                starts_of.setdefault(w, []).append(p.id)
        for k, (_region, _rx, _t, starts) in enumerate(context.regions):
            for w in starts:
                starts_of.setdefault(w, []).append(f"region#{k}")
        # per match id (a string-store hash), what it stands for: read without a
        # string lookup per match
        strings = nlp.vocab.strings
        self._phrase_pattern = {strings.add(p.id): (p, p.concepts) for p in lexicon.patterns if p.phrases}
        self._anchor_of = {strings.add(label): (p, rx, rx_lower, trig, p.concepts)
                           for label, (p, rx, rx_lower, trig) in self.anchored.items()}
        # regex patterns by trigger: only those whose trigger occurs are tried
        self._regex_always = tuple(k for k, p in enumerate(self.regex_patterns) if not p.triggers)
        self._regex_by_trigger = {}
        for k, p in enumerate(self.regex_patterns):
            for t in p.triggers:
                self._regex_by_trigger.setdefault(t, []).append(k)
        # which expressions can match a note at all, in one compiled pass (hyperscan; None without it)
        from .prefilter import Prefilter
        exprs = {k: p.regex.regex for k, p in enumerate(self.regex_patterns)}
        exprs.update({REGION_BASE + k: rx.regex for k, (_r, rx, _t, _s) in enumerate(context.regions)})
        exprs[DURATION_ID] = context.duration_re.regex  # read by spine_assertion (doc.user_data)
        exprs.update({AGE_BASE + k: rx.regex for k, (_pid, rx, _u, _t) in enumerate(context.age_patterns)})
        self.prefilter = Prefilter.build(exprs)
        self.automaton_words = sorted(set(self.triggers) | set(starts_of))
        self.automaton = ahocorasick.Automaton()
        trigger_set = set(self.triggers)
        for w in self.automaton_words:
            self.automaton.add_word(w, (w, w in trigger_set, tuple(starts_of.get(w, ()))))
        if self.automaton_words:
            self.automaton.make_automaton()

    def scan(self, lower):
        """One Aho-Corasick pass (pyahocorasick) over the lower-cased note:
        the literal prefilters that occur in it, and for each pattern with
        ``starts`` the sorted positions where one of them stands."""
        present, at = set(), {}
        if not self.automaton_words:
            return present, at
        for end, (word, is_trigger, pattern_ids) in self.automaton.iter(lower):
            if is_trigger:
                present.add(word)
            if pattern_ids:
                pos = end - len(word) + 1
                for pid in pattern_ids:
                    at.setdefault(pid, []).append(pos)
        for positions in at.values():
            positions.sort()
        return present, at

    def present_triggers(self, lower):
        """The literal prefilters that occur in the lower-cased note."""
        return self.scan(lower)[0]

    def find_mentions(self, doc, text, lower, present, offsets=None, starts_at=None, lower_anchors=None,
                      maybe=None):
        """Every raw match: (start_tok, end_tok, concept, pattern).

        ``starts_at`` (from ``scan``) lets patterns with ``starts`` be tried
        only where a match can begin; without it every pattern searches.
        ``lower_anchors``: the (match_id, start) of the LOWER anchors when the
        caller matched them already (the one-pass extractor). ``maybe``: the
        ids of the expressions the prefilter says can match (None: all)."""
        mentions = []
        append = mentions.append
        offsets = offsets or TokenOffsets(doc)
        anchors = []
        phrase_pattern = self._phrase_pattern
        for match_id, start, end in self.phrase_matcher(doc):
            found = phrase_pattern.get(match_id)
            if found is None:
                anchors.append((match_id, start))
                continue
            pat, concepts = found
            for concept in concepts:
                append((start, end, concept, pat))
        if lower_anchors is None:
            for matcher in self.anchor_matchers:
                anchors.extend((match_id, start) for match_id, start, _end in matcher(doc))
        else:
            anchors.extend(lower_anchors)
        ascii_note = text.isascii()
        if anchors:
            anchor_of = self._anchor_of
            token_starts = offsets.starts
            for match_id, start in anchors:
                pat, rx, rx_lower, trig, concepts = anchor_of[match_id]
                if trig and present.isdisjoint(trig):
                    continue  # the alternative's rarest required word is not in the note
                # lower-casing keeps offsets on ASCII text (the same rule as NoteRegex)
                pos = token_starts[start]
                m = rx_lower.match(lower, pos) if ascii_note else rx.match(text, pos)
                if m is None or m.end() <= m.start():
                    continue
                tokens = offsets.expand(m.start(), m.end())
                if tokens is None:
                    continue
                for concept in concepts:
                    append((tokens[0], tokens[1], concept, pat))
        patterns = self.regex_patterns
        for k in self.patterns_to_try(present, maybe):
            pat = patterns[k]
            if pat.starts and starts_at is not None and ascii_note:
                found = pat.regex.finditer_at(text, lower, starts_at.get(pat.id, ()))
            else:
                found = pat.regex.finditer(text, lower)
            concepts = pat.concepts
            for m in found:
                if pat.value_test is not None and not pat.value_ok(m):
                    continue
                tokens = offsets.expand(*pat.span_offsets(m))
                if tokens is None:
                    continue
                for concept in concepts:
                    append((tokens[0], tokens[1], concept, pat))
        return mentions

    def patterns_to_try(self, present, maybe):
        """Indexes of the regex patterns to run on a note, in the lexicon's
        order (as a full loop would go): those without triggers or with one in
        ``present``, less those the prefilter rules out (``maybe``; None: none)."""
        active = set(self._regex_always)
        by_trigger = self._regex_by_trigger
        for t in present:
            ks = by_trigger.get(t)
            if ks:
                active.update(ks)
        if maybe is not None:
            active &= maybe
        return sorted(active)

    def regions_to_try(self, present, maybe):
        """(index, region, expression, starts) of the region expressions to
        run on a note, by the same two filters."""
        return [(k, region, rx, starts) for k, (region, rx, triggers, starts) in enumerate(self.context.regions)
                if (not triggers or not present.isdisjoint(triggers)) and (maybe is None or REGION_BASE + k in maybe)]

    @staticmethod
    def resolve(doc, mentions, header, dropped=None, offsets=None):
        """The mentions that count: not in an order header, not inside an
        overriding or "does not count" wording. ``dropped``, when a list, gets
        ``(mention, reason, by_pattern)`` for each one removed (``explain``)."""
        if header is not None:
            keep = []
            for m in mentions:
                if header[0] <= (offsets.starts[m[0]] if offsets is not None else doc[m[0]].idx) < header[1]:
                    if dropped is not None:
                        dropped.append((m, "inside the order line at the top of the note", None))
                else:
                    keep.append(m)
            mentions = keep
        overriding = [m for m in mentions if m[3].overrides or m[3].status in _FIXED_STATUS]
        if overriding:
            def overrides(o, m):
                return m[2] in o[3].overrides or (o[3].status in _FIXED_STATUS and m[2] in o[3].concepts
                                                  and m[3].status not in _FIXED_STATUS)

            def covers(o, m):
                # a negated wording silences same-concept words it shares
                # tokens with ("No change in bladder | function"); excluded
                # wordings and override lists act on mentions inside them only
                if o[3].status == "negated" and m[2] in o[3].concepts:
                    return o[0] < m[1] and m[0] < o[1]
                return o[0] <= m[0] and m[1] <= o[1]

            def overrider(m):
                return next((o for o in overriding if o[3] is not m[3] and covers(o, m) and overrides(o, m)), None)
            keep = []
            for m in mentions:
                o = overrider(m)
                if o is None:
                    keep.append(m)
                elif dropped is not None:
                    dropped.append((m, "inside a wording that overrides it", o[3]))
            # "what does not count" wordings (RULES.md section 1) only remove
            # the mentions they contain; they are not reported themselves
            mentions = []
            for m in keep:
                if m[3].status != "excluded":
                    mentions.append(m)
                elif dropped is not None:
                    dropped.append((m, "a wording that does not count (status: excluded)", m[3]))
        return mentions

    def collect(self, doc, text, lower, offsets, lower_anchors=None, starts=None):
        """The concept and region mentions of a note as plain tuples:
        ``(mentions, regions, header)`` with mentions ``(start_tok, end_tok,
        start_char, end_char, concept, pattern id)`` sorted and unique, regions
        ``(start_tok, end_tok, start_char, end_char, label)`` and the order
        header's char range (or None). No spaCy Span is built."""
        present, starts_at = self.scan(lower)
        maybe = self.prefilter.maybe(text) if self.prefilter is not None else None
        if maybe is not None:
            doc.user_data[MAYBE_KEY] = maybe  # the duration and age expressions read it
        header = _order_header(doc, offsets, starts)
        mentions = self.resolve(doc, self.find_mentions(doc, text, lower, present, offsets, starts_at,
                                                        lower_anchors, maybe), header, offsets=offsets)
        seen, plain = set(), []
        starts_c, ends_c = offsets.starts, offsets.ends
        for start, end, concept, pat in sorted(mentions, key=lambda m: (m[0], m[1])):
            key = (start, end, concept)
            if key in seen:
                continue
            seen.add(key)
            plain.append((start, end, starts_c[start], ends_c[end - 1], concept, pat.id))

        masks = [(s, e) for _st, _end, s, e, concept, _pid in plain if concept in self.masking]
        if header is not None:
            masks.append(header)
        regions = []
        ascii_note = text.isascii()
        for k, region, rx, starts in self.regions_to_try(present, maybe):
            found = rx.finditer_at(text, lower, starts_at.get(f"region#{k}", ())) if starts and ascii_note \
                else rx.finditer(text, lower)
            label = REGION_LABEL_PREFIX + region
            for m in found:
                if any(a <= m.start() < b for a, b in masks):
                    continue
                tokens = offsets.expand(m.start(), m.end())
                if tokens is not None:
                    regions.append((tokens[0], tokens[1], starts_c[tokens[0]], ends_c[tokens[1] - 1], label))
        return plain, regions, header

    def __call__(self, doc):
        text = doc_text(doc)
        offsets = TokenOffsets(doc)
        plain, regions, header = self.collect(doc, text, text.lower(), offsets)
        doc._.spine_order_header = header
        doc.spans[CONCEPT_KEY] = [Span(doc, s, e, label=c, span_id=pid) for s, e, _a, _b, c, pid in plain]
        # the same mentions as plain tuples for spine_assertion: reading them
        # back from the span group would build every Span object again
        doc.user_data[_MENTIONS_KEY] = plain
        doc.spans[REGION_KEY] = [Span(doc, s, e, label=lab) for s, e, _a, _b, lab in regions]
        doc.user_data[_REGION_MENTIONS_KEY] = regions
        return doc


# --------------------------------------------------------------------------- #
# Assertion, duration, regions
# --------------------------------------------------------------------------- #

@Language.factory("spine_assertion", assigns=["doc._.spine"],
                  requires=["doc.spans"],
                  default_config={"family_attr": "spine_family", "hypothetical_attr": "spine_hypothetical",
                                  "negation_attr": "negex", "assertion_path": None})
def make_assertion(nlp, name, family_attr, hypothetical_attr, negation_attr, assertion_path):
    return SpineAssertion(nlp, load_concepts(), load_context(), load_assertion_terms(assertion_path),
                          family_attr, hypothetical_attr, negation_attr)


class SpineAssertion:
    def __init__(self, nlp, lexicon, context, terms, family_attr, hypothetical_attr, negation_attr):
        self.lexicon = lexicon
        self.context = context
        self.family_attr = family_attr
        self.hypothetical_attr = hypothetical_attr
        self.negation_attr = negation_attr
        # Following cues, applied within a window (negspacy would scope them
        # back to the start of the sentence).
        self.window = terms["following_window"]
        self.following = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.following_phrases = {}  # kind -> phrases (the one-pass extractor's LOWER matcher)
        for kind in ("negation", "family", "hypothetical"):
            if terms[kind]["following"]:
                self.following.add(kind, list(nlp.tokenizer.pipe(terms[kind]["following"])))
                self.following_phrases[kind] = list(terms[kind]["following"])
        self.vocab = nlp.vocab
        self._known_ext = {a for a in (family_attr, hypothetical_attr, negation_attr) if Span.has_extension(a)}
        # per mention, a family cue decides first, then a hypothetical one, then a negation
        self._cue_order = (("family", family_attr, "family"), ("hypothetical", hypothetical_attr, "hypothetical"),
                           ("negated", negation_attr, "negation"))

    def _following_cues(self, doc):
        cues = {"negation": [], "family": [], "hypothetical": [], "sent_starts": set(sent_starts(doc))}
        for match_id, start, _end in self.following(doc):
            cues[self.vocab.strings[match_id]].append(start)
        return cues

    def _followed_by(self, end, cue_starts, sent_start_set):
        """The first following cue (token index) within the window after token
        ``end``, in the same sentence; None when there is none."""
        for c in cue_starts:
            if end <= c <= end + self.window:
                if not any(k in sent_start_set for k in range(end, c + 1)):
                    return c
        return None

    def _section_assertion(self, doc, sections=None, starts=None):
        """Char ranges where a section header fixes the assertion (family
        history). ``sections`` and ``starts`` (sentence start tokens) as
        ``SpineSentences.boundaries`` gives them, when the doc has none set."""
        ranges = []
        for start, end, _name, assertion, inline in (doc._.spine_sections if sections is None else sections) or ():
            if not assertion:
                continue
            if inline:  # "FHx: father w/ myeloma - pt anxious": the first sentence only
                if starts is not None and not doc.has_annotation("SENT_START"):
                    set_sent_starts(doc, starts)
                first = doc.char_span(start, end, alignment_mode="expand")
                sents = list(first.sents) if first is not None else []
                if len(sents) > 1:
                    end = sents[1].end_char
            ranges.append((start, end, assertion))
        return ranges

    def _ext(self, doc, attr, start_char, end_char, flags=None):
        if flags is not None:  # the one-pass extractor's own negex results
            return (attr, start_char, end_char) in flags
        return attr in self._known_ext and span_flag(doc, attr, start_char, end_char)

    def mention_status(self, span, section_ranges, cues):
        return self._status(span.doc, span.end, span.start_char, span.end_char, span.label_, span.id_,
                            section_ranges, cues)

    def _status(self, doc, end, start_char, end_char, label, pattern_id, section_ranges, cues, flags=None):
        return self.status_and_reason(doc, end, start_char, end_char, label, pattern_id, section_ranges, cues,
                                      flags)[0]

    def status_and_reason(self, doc, end, start_char, end_char, label, pattern_id, section_ranges, cues,
                          flags=None):
        """(status, reason): the reason says which rule decided (RULES.md 1, 5):
        ``("pattern", status)``, ``("section", start_char)``, ``("negex", kind)``
        for a preceding cue found by negspacy, ``("following", kind, token)``
        for a following cue, or ``("none",)``."""
        pat = self.lexicon.by_id.get(pattern_id)
        if pat is not None and pat.status in _FIXED_STATUS:
            return pat.status, ("pattern", pat.status)
        for a, b, assertion in section_ranges:
            if a <= start_char < b:
                return assertion, ("section", a)
        ss = cues["sent_starts"]
        for status, attr, kind in self._cue_order:
            if status == "negated" and label in self.lexicon.no_negex:
                break
            if self._ext(doc, attr, start_char, end_char, flags):
                return status, _BY_NEGEX[kind]
            if cues[kind]:
                c = self._followed_by(end, cues[kind], ss)
                if c is not None:
                    return status, ("following", kind, c)
        return "present", _NO_CUE

    def duration_weeks(self, doc, header=_DOC):
        found = self.duration_match(doc, header)
        return None if found is None else found[0]

    def duration_match(self, doc, header=_DOC):
        """(weeks, start_char, end_char, kind) of the symptom duration, kind
        "stated" or "onset" ("began 2 years ago"); None when none is found.
        ``header``: the order header's char range (default: the doc's)."""
        ctx = self.context
        maybe = doc.user_data.get(MAYBE_KEY)
        if maybe is not None and DURATION_ID not in maybe:
            return None  # the prefilter: no duration expression can match this note
        text = doc_text(doc)
        if header is _DOC:
            header = doc._.spine_order_header
        onset = fragment = None
        for m in ctx.duration_re.finditer(text, text.lower()):
            if header is not None and header[0] <= m.start() < header[1]:
                continue
            if ctx.not_before.search(text[max(0, m.start() - 40):m.start()]):
                continue
            after = text[m.end():m.end() + 40]
            if ctx.not_after.search(after):
                # "pain began 2 years ago": the onset dates the problem, but a
                # stated symptom duration elsewhere in the note wins over it
                if onset is None and self._onset_ago(text, m.start(), m.end(), after):
                    onset = m
                continue
            about = self._about_symptom(text, m.start(), m.end()) if ctx.symptom_clause is not None else "symptom"
            if about is None:
                continue  # "worked there for 4 years", "a 3-year history of lung cancer": not a symptom's
            value = self._duration_value(m)
            if value is None:
                continue
            if about == "fragment":
                # "Neck pain. For 2 weeks now.": counts, after a duration stated with its symptom
                fragment = fragment or (m, value)
                continue
            return self._weeks(m, value), m.start(), m.end(), "stated"
        if fragment is not None:
            m, value = fragment
            return self._weeks(m, value), m.start(), m.end(), "stated"
        if onset is not None:
            value = self._duration_value(onset)
            if value is not None:
                return self._weeks(onset, value), onset.start(), onset.end(), "onset"
        return None

    def _weeks(self, m, value):
        return round(value * self.context.unit_weeks[m.group("unit").lower()], 2)

    _AGO = re.compile(r"^\s*ago\b", re.I)
    _CLAUSE_END = re.compile(r"[.;!?\n]")
    # a clause ends at "; ! ?", a line break, a full stop before a capital
    # ("approx. 3 wks" and "3.5 weeks" stay in one clause) or a comma before
    # a relative clause (", where he works as a stacker")
    _CLAUSE_BREAK = re.compile(r"[;!?\n]|\.(?=\s+[A-Z])|,\s*(?=(?:where|which|who|whose|whom)\b)", re.I)

    _WORD = re.compile(r"[^\W_]+")

    def _about_symptom(self, text, start, end):
        """How the stated duration text[start:end] is about the symptom:
        "symptom" when its clause (at most 150 characters either side) names
        a symptom, the problem's onset or course, or refers back to it
        (context.yaml ``symptom_clause``); "fragment" when the clause has at
        most two other words and so continues the sentence before ("Neck
        pain. For 2 weeks now."); None otherwise."""
        lo = max(0, start - 150)
        for b in self._CLAUSE_BREAK.finditer(text, lo, start):
            lo = b.end()
        stop = end - 1 if text[end - 1:end] == "." else end  # the expression took the full stop ("a day.")
        hi = min(len(text), stop + 150)
        after = self._CLAUSE_BREAK.search(text, stop, hi)
        hi = after.start() if after else hi
        if self.context.symptom_clause.search(text, lo, hi):
            return "symptom"
        if len(self._WORD.findall(text[lo:start])) + len(self._WORD.findall(text[end:hi])) <= 2:
            return "fragment"
        return None

    def _onset_ago(self, text, start, end, after):
        """"N days ago" that dates the onset of the problem (context.yaml)."""
        ctx = self.context
        ago = self._AGO.match(after) if ctx.ago_onset is not None else None
        if ago is None:
            return False
        before = text[max(0, start - 80):start]
        cut = [k.end() for k in self._CLAUSE_END.finditer(before)]
        clause = before[cut[-1]:] if cut else before
        tail = after[ago.end():]
        tail = self._CLAUSE_END.split(tail, 1)[0]
        if ctx.ago_not_onset.search(clause) or ctx.ago_not_onset.search(tail):
            return False
        return bool(ctx.ago_onset.search(clause) or re.match(r"^\s*,?\s*when\b", tail) and ctx.ago_onset.search(tail))

    def _duration_value(self, m):
        """The number of a duration match; the midpoint of a range ("2-3 weeks")."""
        ctx = self.context
        values = []
        for g in ("num", "num2"):
            if m.group(g) is not None:
                values.append(float(m.group(g)))
        for g in ("word", "word2"):
            if m.group(g) is not None:
                values.append(ctx.numbers.get(m.group(g).lower()))
        if not values or any(v is None for v in values):
            return None
        if len(values) == 2 and values[1] < values[0]:
            return None  # "5-2" is not a range
        return sum(values) / len(values)

    def age_patterns_to_try(self, text, lower, maybe):
        """(pattern id, expression, years per unit) of the age patterns to run
        on a note: none without a digit (every age pattern needs a number),
        else those whose trigger occurs and that the prefilter (``maybe``;
        None: none) does not rule out."""
        if not self.context.age_patterns or not _DIGIT.search(text):
            return []
        return [(pid, rx, per_unit) for k, (pid, rx, per_unit, triggers) in enumerate(self.context.age_patterns)
                if (not triggers or any(t in lower for t in triggers)) and (maybe is None or AGE_BASE + k in maybe)]

    def age_years(self, doc, section_ranges=()):
        """The patient's stated age in whole years, or None (RULES.md section 1).

        The earliest match of any age pattern that is not excluded by its
        context (a relative's age, an age at diagnosis, a family history
        section) wins.
        """
        found = self.age_match(doc, section_ranges)
        return None if found is None else found[0]

    def age_match(self, doc, section_ranges=()):
        """(years, pattern id, start_char, end_char) of the patient's age, or None."""
        ctx = self.context
        text = doc_text(doc)
        lower = text.lower()
        best = None
        for pid, rx, per_unit in self.age_patterns_to_try(text, lower, doc.user_data.get(MAYBE_KEY)):
            for m in rx.finditer(text, lower):
                if best is not None and m.start() >= best[0]:
                    break
                value = next((v for k, v in m.groupdict().items() if k.startswith("value") and v), None)
                if value is None:
                    continue
                years = int(float(value) * per_unit)
                if years > ctx.age_max:
                    continue
                if ctx.age_not_before.search(text[max(0, m.start() - 40):m.start()]):
                    continue
                if ctx.age_not_after.search(text[m.end():m.end() + 30]):
                    continue
                if any(a <= m.start() < b for a, b, assertion in section_ranges if assertion == "family"):
                    continue
                best = (m.start(), years, pid, m.end())
                break
        return None if best is None else (best[1], best[2], best[0], best[3])

    def __call__(self, doc):
        doc._.spine = self.assert_mentions(doc, _plain_mentions(doc), _plain_regions(doc),
                                           self._following_cues(doc))
        return doc

    def assert_mentions(self, doc, mentions, regions, cues, flags=None, layout=None):
        """The extraction result of a note (``doc._.spine``) from its mentions
        and region mentions as ``SpineConcepts.collect`` returns them, its
        following cues and, from the one-pass extractor, its negex ``flags``
        and ``layout``: (sentence start tokens, sections, order header) when
        they are not set on the doc."""
        if layout is None:
            section_ranges, header = self._section_assertion(doc), _DOC
        else:
            section_ranges, header = self._section_assertion(doc, layout[1], layout[0]), layout[2]
        text = doc_text(doc)
        concepts, evidence = {}, []
        by_id = self.lexicon.by_id
        for _start, end, start_char, end_char, label, pattern_id in mentions:
            status = self._status(doc, end, start_char, end_char, label, pattern_id, section_ranges, cues, flags)
            pat = by_id.get(pattern_id)
            if status != "negated" and pat is not None and pat.status == "if_negated":
                continue  # a general wording ("drug use", "surgeries") counts only when denied
            evidence.append({
                "concept": label,
                "text": text[start_char:end_char],
                "start": start_char,
                "end": end_char,
                "status": status,
                "pattern_id": pattern_id,
            })
            old = concepts.get(label)
            if old is None or _STATUS_RANK[status] < _STATUS_RANK[old]:
                concepts[label] = status
        found = set()
        for _start, end, start_char, end_char, label in regions:
            region = label[len(REGION_LABEL_PREFIX):]
            if region not in found and self._status(
                    doc, end, start_char, end_char, label, "", section_ranges, cues, flags) == "present":
                found.add(region)
        ordered_concepts = {c: concepts[c] for c in CONCEPTS if c in concepts}
        return {
            "concepts": ordered_concepts,
            "evidence": evidence,
            "duration_weeks": self.duration_weeks(doc, header),
            "regions": order_regions(found),
            "age_years": self.age_years(doc, section_ranges),
        }
