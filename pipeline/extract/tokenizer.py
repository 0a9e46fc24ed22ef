"""Clinical tokenisation on top of spaCy's blank English tokenizer.

Keeps clinical shorthand whole ("h/o", "w/o", "s/p", "c/o", "b/l", "r/o"),
keeps spine levels whole ("L4-5", "C5-C6", "T8", "L5-S1"), and splits glued
numbers from their units ("x3wks" -> "x" "3" "wks", "38.9C" -> "38.9" "C",
"101.2F" -> "101.2" "F") and dictation commas from headers (".,HX:," -> "." "," "HX" ":" ",") so that phrase patterns see the same tokens whatever
the spacing. Strength grades ("4/5", "4+/5") stay one token.
"""

import re

from spacy.attrs import ORTH
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

# Shorthand kept as one token, in the case variants notes use.
SLASH_ABBREVIATIONS = (
    "h/o", "w/o", "s/p", "c/o", "b/l", "r/o", "w/", "f/u", "n/v", "p/w", "d/c",
    "a/p", "w/u", "y/o", "u/s", "b/b", "w/wo", "wo/w", "w/w/o", "l/s", "c/t/l",
    "t/l", "h/a", "s/s", "n/t", "abd/pelvis",
)

# Spine levels and level ranges: C1..C8, T1..T12, L1..L5, S1..S5 with optional
# "-5", "-C6", "-S1" ranges.
_LEVEL = r"(?:[CcTtLlSs](?:[1-9]|1[0-2]))"
# Strength grade "4/5", "4+/5", "5-/5".
_GRADE = r"[0-5][+-]?/5"
# Kept whole: one compiled expression, so that the tokenizer calls its C
# ``match`` directly (no Python function per token).
_KEEP_WHOLE_RE = re.compile(rf"^(?:{_LEVEL}(?:-(?:{_LEVEL}|\d{{1,2}}))?|{_GRADE})$")

_UNIT_SUFFIX = r"(?<=[0-9])(?:wks?|weeks?|days?|d|mos?|months?|yrs?|years?|hrs?|hours?|C|F|lbs?|kg)$"
_X_PREFIX = r"^[xX](?=[0-9])"


def customise_tokenizer(nlp):
    """Apply the clinical rules to ``nlp.tokenizer`` in place; returns ``nlp``."""
    tok = nlp.tokenizer
    for abbr in SLASH_ABBREVIATIONS:
        for variant in {abbr, abbr.upper(), abbr.capitalize()}:
            tok.add_special_case(variant, [{ORTH: variant}])
    prefixes = list(nlp.Defaults.prefixes) + [_X_PREFIX]
    tok.prefix_search = compile_prefix_regex(prefixes).search
    suffixes = [_UNIT_SUFFIX] + list(nlp.Defaults.suffixes)
    tok.suffix_search = compile_suffix_regex(suffixes).search
    # dictation style ".,HX:," and "1)CAD": split a comma or ")" glued to a word
    infixes = list(nlp.Defaults.infixes) + [r",(?=[A-Za-z])", r"(?<=[0-9])\)(?=[A-Za-z])"]
    tok.infix_finditer = compile_infix_regex(infixes).finditer
    base_match = tok.token_match
    if base_match is None:  # spaCy's English defaults (3.x) have none
        tok.token_match = _KEEP_WHOLE_RE.match
    else:
        def token_match(text):
            return _KEEP_WHOLE_RE.match(text) or base_match(text)

        tok.token_match = token_match
    return nlp
