"""Reason cues: wordings that document why an order deviates from the guideline.

A QA reviewer dismisses a flag when the note documents a reason the rules do
not model (surgical planning, oncology follow-up, a patient factor ...). The
wordings per reason live in ``data/review_cues.yaml``; this module finds them
with the project's tokenizer and normal forms, in a spaCy ``span_ruler``, and
asserts them with negspacy and the project's negation terms, so "no surgical
plans" or "not claustrophobic" reads as a negated cue, not a reason.

``reason_cues(texts)`` returns, per note, ``{reason: "present" | "negated"}``
(present wins when both occur). The mismatch model turns them into features.
"""

from functools import lru_cache

from .errors import DataFileError
from .resources import check_keys, load_yaml

CUE_KEY = "review_cues"
CUE_FILE = "review_cues.yaml"


def load_review_cues(path=None):
    """``{reason: (phrase, ...)}`` from review_cues.yaml (validated)."""
    from .vocab import DISMISS_REASONS
    data = load_yaml(CUE_FILE, path)
    source = str(path or CUE_FILE)
    check_keys(data, {"version", "reasons"}, source, required=("reasons",))
    out = {}
    for reason, entry in (data["reasons"] or {}).items():
        if reason not in DISMISS_REASONS:
            raise DataFileError(f"{source}: unknown reason {reason!r}; expected one of {list(DISMISS_REASONS)}")
        check_keys(entry, {"description", "phrases"}, f"{source} {reason}", required=("phrases",))
        phrases = tuple(str(p).strip() for p in entry["phrases"] or () if str(p).strip())
        if not phrases:
            raise DataFileError(f"{source} {reason}: no phrases")
        out[reason] = phrases
    return out


def build_cue_nlp(path=None):
    """Tokenizer and normal forms of the extractor, its sentence rules, a
    ``span_ruler`` on NORM for the cue phrases, and negspacy for negation."""
    from .extract import NEGATION_EXT, blank_nlp, negation  # noqa: F401  registers spine_negex
    from .extract import components  # noqa: F401  registers spine_sentences
    from .extract.lexicon import load_assertion_terms, negspacy_termset

    cues = load_review_cues(path)
    nlp = blank_nlp()
    nlp.add_pipe("spine_sentences")
    ruler = nlp.add_pipe("span_ruler", config={"spans_key": CUE_KEY, "phrase_matcher_attr": "NORM",
                                                "overwrite": False})
    ruler.add_patterns([{"label": reason, "pattern": phrase} for reason, phrases in cues.items()
                        for phrase in phrases])
    terms = load_assertion_terms()
    nlp.add_pipe("spine_negex", name="negation", config={
        "neg_termset": negspacy_termset(terms["negation"]), "extension_name": NEGATION_EXT,
        "span_keys": [CUE_KEY], "ent_types": list(cues)})
    return nlp


@lru_cache(maxsize=1)
def get_cue_nlp():
    return build_cue_nlp()


def reason_cues(texts, nlp=None):
    """Per text, ``{reason: "present" | "negated"}`` for the cues it contains."""
    from .extract import NEGATION_EXT, pipe_docs
    nlp = nlp or get_cue_nlp()
    out = []
    for doc in pipe_docs(nlp, [t if isinstance(t, str) else "" for t in texts]):
        found = {}
        for span in doc.spans.get(CUE_KEY, ()):
            status = "negated" if span._.get(NEGATION_EXT) else "present"
            if found.get(span.label_) != "present":
                found[span.label_] = status
        out.append(found)
    return out
