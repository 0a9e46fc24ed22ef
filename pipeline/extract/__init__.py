"""The extraction half of spine-audit: a blank English spaCy pipeline.

No statistical model is loaded or needed (none can be downloaded on secure
hospital networks): tokenisation, sentence boundaries, concept matching and
assertion are rules read from the package's data files.
"""

from functools import lru_cache

NEGATION_EXT = "negex"
FAMILY_EXT = "spine_family"
HYPOTHETICAL_EXT = "spine_hypothetical"


# Label of a span given from outside (the assertion benchmark).
BENCH_LABEL = "TARGET"


def negex_configs(assertion_path=None, extra_negations=None):
    """The three negspacy instances' settings, by pipe name: negation (the
    concepts it may negate), family and hypothetical (every label)."""
    from ..vocab import CONCEPTS, REGIONS
    from .components import CONCEPT_KEY, REGION_KEY, REGION_LABEL_PREFIX
    from .lexicon import load_assertion_terms, load_concepts, negspacy_termset
    terms = load_assertion_terms(assertion_path)
    lexicon = load_concepts()
    span_keys = [CONCEPT_KEY, REGION_KEY]
    region_labels = [REGION_LABEL_PREFIX + r for r in REGIONS]
    negatable = [c for c in CONCEPTS if c not in lexicon.no_negex] + region_labels + [BENCH_LABEL]
    every = list(CONCEPTS) + region_labels + [BENCH_LABEL]
    negation_terms = negspacy_termset(terms["negation"])
    if extra_negations:
        negation_terms["preceding_negations"] += list(extra_negations)
    return {
        "negation": {"neg_termset": negation_terms, "extension_name": NEGATION_EXT, "span_keys": span_keys,
                     "ent_types": negatable},
        "family": {"neg_termset": negspacy_termset(terms["family"]), "extension_name": FAMILY_EXT,
                   "span_keys": span_keys, "ent_types": every},
        "hypothetical": {"neg_termset": negspacy_termset(terms["hypothetical"]), "extension_name": HYPOTHETICAL_EXT,
                         "span_keys": span_keys, "ent_types": every},
    }


def blank_nlp(normalise_path=None):
    """``spacy.blank("en")`` with the project's clinical tokenizer and the
    normal forms of ``normalise.yaml`` (or of the copy at ``normalise_path``):
    the start of every pipeline the project builds."""
    import spacy

    from .normalise import install_norms, load_norms
    from .tokenizer import customise_tokenizer
    nlp = customise_tokenizer(spacy.blank("en"))
    install_norms(nlp, load_norms(str(normalise_path) if normalise_path else None))
    return nlp


def build_nlp(assertion_path=None, extra_negations=None, normalise_path=None):
    """Build the extractor pipeline (a fresh ``Language`` object).

    ``normalise_path`` reads the normal forms from another copy of
    ``normalise.yaml`` (to try a change before it goes into the package).

    ``extra_negations`` adds preceding negation cues (used only by the public
    corpus benchmark to show the corpora's conventions beside ours).
    """
    import negspacy.negation  # noqa: F401  registers the "negex" factory (negspacy 1.1)

    from . import components, negation  # noqa: F401  registers our factories

    nlp = blank_nlp(normalise_path)
    nlp.add_pipe("spine_sentences")
    nlp.add_pipe("spine_concepts")
    for name, config in negex_configs(assertion_path, extra_negations).items():
        nlp.add_pipe("spine_negex", name=name, config=config)
    nlp.add_pipe("spine_assertion", config={
        "family_attr": FAMILY_EXT, "hypothetical_attr": HYPOTHETICAL_EXT, "negation_attr": NEGATION_EXT,
        "assertion_path": str(assertion_path) if assertion_path else None})
    return nlp


def spine_nlp(normalise_path=None):
    """A blank English pipeline with the project's tokenizer and normal forms
    and one component, ``spine_audit`` (the one-pass extractor): ``doc =
    spine_nlp()(text)`` gives ``doc._.spine`` and the span groups
    ``spine_concepts`` and ``spine_regions``."""
    from . import engine  # noqa: F401  registers the "spine_audit" factory
    nlp = blank_nlp(normalise_path)
    nlp.add_pipe("spine_audit")
    return nlp


def pipe_docs(nlp, texts, batch_size=256):
    """``nlp.pipe(texts)``, each doc made first with its text remembered
    (spaCy rebuilds ``doc.text`` from the tokens on every access)."""
    from .components import remember_text
    return nlp.pipe((remember_text(nlp.make_doc(t), t) for t in texts), batch_size=batch_size)


@lru_cache(maxsize=1)
def get_nlp():
    """The shared pipeline of this process (built on first use)."""
    return build_nlp()


def get_extractor(nlp=None):
    """The one-pass extractor (``engine.Extractor``) of ``nlp`` (default: the
    shared pipeline), built once per pipeline object."""
    nlp = nlp or get_nlp()
    extractor = getattr(nlp, "_spine_extractor", None)
    if extractor is None:
        from .engine import Extractor
        extractor = Extractor(nlp)
        nlp._spine_extractor = extractor
    return extractor


def extract_spine(text, nlp=None):
    """The extracted facts of one note: ``{"concepts", "evidence",
    "duration_weeks", "regions", "age_years"}`` (the record's extraction half),
    by the one-pass extractor."""
    return get_extractor(nlp)(text)


def extract_spine_components(text, nlp=None):
    """The same facts through the component pipeline (``nlp.pipe``), the
    reference the one-pass extractor is checked against."""
    nlp = nlp or get_nlp()
    return next(iter(pipe_docs(nlp, [text])))._.spine
