"""The one-pass extractor: one function per note, the same results as the
component pipeline (``build_nlp``), without its overhead.

Per note: ``nlp.make_doc`` (the same clinical tokenizer and normal forms),
the sentence rules, then

* one ``PhraseMatcher`` on NORM for the concept phrases and NORM anchors (as
  the component) and one on LOWER for everything else: the LOWER anchors of
  token patterns, the cue lists of the three negspacy instances (pseudo,
  preceding, termination; labelled by kind) and the following cues;
* negspacy's algorithm, kept exactly, on token index pairs for the three
  kinds together: pseudo cues cancel the cues that start inside them
  (negspacy's inclusive end), termination cues and sentence starts cut
  segments, a preceding cue flags the mentions after it in its segment, for
  the labels each instance is configured for (``ent_types``);
* the assertion, duration, regions and age of ``SpineAssertion``, reading the
  flags from a set instead of ``Span._`` attributes.

No ``Span``, ``SpanGroup`` or ``Underscore`` object is built for the
mentions, and no component chain runs. ``tests/test_golden.py`` checks that
the records equal the component pipeline's on every corpus and 10,000
generated notes. ``SpineAuditComponent`` (factory ``"spine_audit"``) wraps the
same function for users who want a ``Doc`` with span groups.
"""

from bisect import bisect_right

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Span

from .components import CONCEPT_KEY, REGION_KEY, TokenOffsets, remember_text, set_sent_starts

_KINDS = ("negation", "family", "hypothetical")


class Extractor:
    """``extractor(text)`` -> the extraction half of a result record."""

    def __init__(self, nlp, parts=None):
        """``parts``: {"spine_sentences", "spine_concepts", "negation", "family",
        "hypothetical", "spine_assertion"} component objects; by default the
        pipes of ``nlp`` (``build_nlp``)."""
        parts = parts or {name: nlp.get_pipe(name) for name in nlp.pipe_names}
        self.nlp = nlp
        self.sentences = parts["spine_sentences"]
        self.concepts = parts["spine_concepts"]
        self.assertion = parts["spine_assertion"]
        strings = nlp.vocab.strings
        lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.route = {}  # match id -> ("anchor", None) | ("cue", (kind index, part)) | ("following", kind)
        self.kinds = []  # (attr, ent_types or None for all)
        for label, phrases in self.concepts.lower_anchor_phrases.items():
            lower.add(label, list(nlp.tokenizer.pipe(phrases)))
            self.route[strings.add(label)] = ("anchor", None)
        for k, kind in enumerate(_KINDS):
            negex = parts[kind]
            if negex.following_negations or negex.chunk_prefix:
                raise ValueError("the one-pass extractor applies following cues itself and has no chunk prefixes")
            self.kinds.append((negex.extension_name, frozenset(negex.ent_types) if negex.ent_types else None))
            for part, phrases in (("pseudo", negex.pseudo_negations), ("pre", negex.preceding_negations),
                                  ("term", negex.termination)):
                if phrases:
                    label = f"spine_cue|{kind}|{part}"
                    lower.add(label, list(nlp.tokenizer.pipe(phrases)))
                    self.route[strings.add(label)] = ("cue", (k, part))
        for kind, phrases in self.assertion.following_phrases.items():
            label = f"spine_following|{kind}"
            lower.add(label, list(nlp.tokenizer.pipe(phrases)))
            self.route[strings.add(label)] = ("following", kind)
        self.lower_matcher = lower

    def __call__(self, text):
        doc = remember_text(self.nlp.make_doc(text), text)
        return self.run(doc, text)[0]

    def run(self, doc, text):
        """(spine dict, mentions, regions, layout) for a tokenized doc; layout:
        (sentence start tokens, sections, order header)."""
        offsets = TokenOffsets(doc)
        n = offsets.n
        starts, sections = self.sentences.boundaries(text, offsets)
        anchors = []
        cues = [{"pseudo": [], "pre": [], "term": []} for _ in _KINDS]
        following = {"negation": [], "family": [], "hypothetical": [], "sent_starts": set(starts)}
        route = self.route
        for match_id, s, e in self.lower_matcher(doc):
            what, arg = route[match_id]
            if what == "anchor":
                anchors.append((match_id, s))
            elif what == "cue":
                cues[arg[0]][arg[1]].append((s, e))
            else:
                following[arg].append(s)
        mentions, regions, header = self.concepts.collect(doc, text, text.lower(), offsets, anchors, starts)
        flags = self._negex(n, following["sent_starts"], mentions, regions, cues) if mentions or regions else set()
        layout = (starts, sections, header)
        spine = self.assertion.assert_mentions(doc, mentions, regions, following, flags, layout)
        return spine, mentions, regions, layout

    def _negex(self, n, sent_starts, mentions, regions, cues):
        """negspacy's rule for the three kinds at once: {(attr, start_char,
        end_char)} of the mentions each kind flags. ``sent_starts``: the set
        of sentence start tokens."""
        flags = set()
        items = [m[:5] for m in mentions] + regions  # (start tok, end tok, start char, end char, label)
        for (attr, ent_types), found in zip(self.kinds, cues):
            pseudo = found["pseudo"]

            def kept(matches):
                if not pseudo:
                    return matches
                return [m for m in matches if not any(p[0] <= m[0] <= p[1] for p in pseudo)]

            preceding = kept(found["pre"])
            if not preceding:
                continue  # no cue in the note: nothing can be flagged (negspacy returns early too)
            terminating = kept(found["term"])
            bounds = sorted(sent_starts | {t[0] for t in terminating} | {n})
            seg_starts = bounds[:-1]
            if not seg_starts:
                continue
            first_cue = {}  # segment -> earliest preceding cue start in it
            for cs, _ce in preceding:
                i = bisect_right(seg_starts, cs) - 1
                if i >= 0 and (i not in first_cue or cs < first_cue[i]):
                    first_cue[i] = cs
            if not first_cue:
                continue
            for s, e, start_char, end_char, label in items:
                if ent_types is not None and label not in ent_types:
                    continue
                i = bisect_right(seg_starts, s) - 1
                if i < 0 or e > bounds[i + 1]:
                    continue  # crosses a boundary: negspacy leaves such spans alone
                c = first_cue.get(i)
                if c is not None and c < s:
                    flags.add((attr, start_char, end_char))
        return flags


@Language.factory("spine_audit", assigns=["doc.spans", "doc._.spine"])
def make_spine_audit(nlp, name):
    return SpineAuditComponent(nlp)


class SpineAuditComponent:
    """The one-pass extractor as one spaCy component, for users who want a
    ``Doc`` with span groups: ``doc._.spine`` and the span groups
    ``spine_concepts`` (label = concept, ``id_`` = pattern id) and
    ``spine_regions``. ``pipeline.extract.spine_nlp()`` returns a blank English
    pipeline with the project's tokenizer, normal forms and this component;
    on a pipeline with spaCy's stock tokenizer the results can differ from the
    audit's (other token boundaries, no normal forms)."""

    def __init__(self, nlp):
        self._extractor = Extractor(nlp, parts=component_parts(nlp))

    def __call__(self, doc):
        from .components import doc_text
        text = doc_text(doc)
        spine, mentions, regions, (starts, sections, header) = self._extractor.run(doc, text)
        if len(doc) and not doc.has_annotation("SENT_START"):
            set_sent_starts(doc, starts)
        doc._.spine_sent_starts = starts
        doc._.spine_sections = sections
        doc._.spine_order_header = header
        doc.spans[CONCEPT_KEY] = [Span(doc, s, e, label=c, span_id=pid) for s, e, _a, _b, c, pid in mentions]
        doc.spans[REGION_KEY] = [Span(doc, s, e, label=lab) for s, e, _a, _b, lab in regions]
        doc._.spine = spine
        return doc


def component_parts(nlp, assertion_path=None, extra_negations=None):
    """The extractor's component objects for ``nlp``'s vocab and tokenizer,
    configured as ``build_nlp`` configures its pipes (not added to ``nlp``)."""
    from . import FAMILY_EXT, HYPOTHETICAL_EXT, NEGATION_EXT, negex_configs
    from .components import SpineAssertion, SpineConcepts, SpineSentences
    from .lexicon import load_assertion_terms, load_concepts, load_context
    from .negation import SpineNegex
    parts = {name: SpineNegex(nlp, name, c["neg_termset"], c["ent_types"], c["extension_name"], None,
                              c["span_keys"])
             for name, c in negex_configs(assertion_path, extra_negations).items()}
    parts["spine_sentences"] = SpineSentences(load_context())
    parts["spine_concepts"] = SpineConcepts(nlp, load_concepts(), load_context())
    parts["spine_assertion"] = SpineAssertion(nlp, load_concepts(), load_context(),
                                              load_assertion_terms(assertion_path), FAMILY_EXT, HYPOTHETICAL_EXT,
                                              NEGATION_EXT)
    return parts
