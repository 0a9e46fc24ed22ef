"""Normal forms of words (``data/normalise.yaml``) as spaCy's ``NORM``.

The table becomes the vocabulary's lexical getter for ``NORM``, so every
lexeme (the note's and the lexicon's alike) gets its normal form once, when
spaCy first sees the word: no per-token work at match time. The concept
``PhraseMatcher`` matches on ``NORM``; token patterns, compiled to
expressions, list every variant of each word they name.
"""

from functools import lru_cache

from spacy.attrs import NORM
from spacy.lang.norm_exceptions import BASE_NORMS

from ..errors import DataFileError
from ..resources import check_keys, load_yaml

SECTIONS = ("spelling", "abbreviation", "plural", "misspelling")


class NormTable:
    """``NORM`` getter: the normal form of a lower-cased word, else spaCy's
    base norm (curly quotes to straight ones), else the lower-cased word.
    A plain class so that a pipeline stays picklable."""

    def __init__(self, forms):
        self.forms = dict(forms)

    def __call__(self, string):
        low = string.lower()
        form = self.forms.get(low)
        if form is not None:
            return form
        return BASE_NORMS.get(string, low)


@lru_cache(maxsize=4)
def load_norms(path=None):
    """``{variant: normal form}`` from the data file, validated."""
    data = load_yaml("normalise.yaml", path)
    source = str(path or "normalise.yaml")
    check_keys(data, {"version", *SECTIONS}, source)
    forms, where_seen = {}, {}
    for section in SECTIONS:
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise DataFileError(f"{source} {section}: expected a mapping of normal form to variants")
        for normal, variants in entries.items():
            where = f"{source} {section}.{normal}"
            if not isinstance(variants, list) or not variants:
                raise DataFileError(f"{where}: expected a non-empty list of variants")
            for word in [normal, *variants]:
                word = str(word)
                if not word or word != word.lower() or any(c.isspace() for c in word):
                    raise DataFileError(f"{where}: {word!r} must be one lower-case word")
            for v in map(str, variants):
                if v in where_seen:
                    raise DataFileError(f"{where}: variant {v!r} already listed under {where_seen[v]}")
                where_seen[v] = where
                forms[v] = str(normal)
    return forms


def install_norms(nlp, forms):
    """Make ``forms`` the ``NORM`` of ``nlp``'s vocabulary (in place).

    Every variant must stay one token under ``nlp``'s tokenizer, or it could
    never match: such an entry raises ``DataFileError`` naming it.
    """
    for variant, normal in forms.items():
        for word in (variant, normal):
            if len(nlp.tokenizer(word)) != 1:
                raise DataFileError(f"normalise.yaml: {word!r} is not one token for the tokenizer")
    getter = NormTable(forms)
    nlp.vocab.lex_attr_getters[NORM] = getter
    for lex in nlp.vocab:  # lexemes made before the getter was installed
        lex.norm_ = getter(lex.orth_)
    return nlp
