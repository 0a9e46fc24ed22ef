"""Token patterns (concepts.yaml ``tokens:``) compiled to one regular
expression each.

The patterns are written in spaCy's Matcher syntax, for a subset that
describes words and gaps::

    {NORM: word} | {NORM: {IN: [..]}} | {NORM: {REGEX: ..}}   a word by its normal form
    {LOWER: word} | {LOWER: {IN: [..]}}                       a word as spelled
    {} or {IS_SENT_START: false}                             any word (inside the sentence)
    OP: "?", "*", "+" or "{n,m}"                             how many times

spaCy's ``Matcher`` evaluates set predicates (``IN``) in Python for every
token and costs more per note than the whole rest of the extractor, so each
pattern is compiled instead to a regular expression over the note text: a
normal form matches every spelling ``normalise.yaml`` maps to it ("leg"
matches "legs", "pt" matches "physio"), words are delimited as the
tokenizer delimits them, and a gap never crosses a sentence end
(". ; ! ?" or a line break). Literal triggers are derived from the pattern so
that notes without its rarest word skip it.
"""

import re

from ..errors import DataFileError

_WORD_CHAR = r"[\w]"
_SEP = r"[^\S\n]*"                      # between words: spaces, not a line break
_ANY = r"[^\s.;!?]+"                   # one word of a gap (always followed by a space)
_QUANT = re.compile(r"^\{(\d*),(\d*)\}$")


_CLITIC = re.compile(r"^n['\u2019]t$")
# a word ends where a word character does not follow, or before "n't" ("did" in
# "didn't"); the curly apostrophe is written as itself, not as an escape, so
# that the expression keeps NoteRegex's fast lower-case path
_RIGHT_GUARD = "(?:(?!\\w)|(?=n['\u2019]t\\b))"


def _alternatives(words):
    """A regex alternation of literal words, longest first, each delimited as
    the tokenizer delimits words ("did" also ends before "n't" in "didn't")."""
    forms = set()
    for w in words:
        w = w.lower()
        if w:
            forms |= {w, w.replace("'", "\u2019")}
    parts = []
    for w in sorted(forms, key=len, reverse=True):
        left = r"(?<!\w)" if re.match(_WORD_CHAR, w[0]) and not _CLITIC.match(w) else ""
        right = _RIGHT_GUARD if re.match(_WORD_CHAR, w[-1]) else ""
        parts.append(left + re.escape(w) + right)
    return "(?:" + "|".join(parts) + ")"


def _element(tok, variants, where):
    """(regex of one token, literal words it can be or None, is_gap, anchor):
    ``anchor`` is (attribute, the words as written) for a token given by words,
    else None."""
    keys = set(tok) - {"OP", "IS_SENT_START"}
    if tok.get("IS_SENT_START") not in (None, False):
        raise DataFileError(f"{where}: IS_SENT_START may only be false (a gap inside the sentence)")
    if not keys:
        return _ANY, None, True, None
    if len(keys) != 1 or next(iter(keys)) not in ("NORM", "LOWER"):
        raise DataFileError(f"{where}: a token is described by NORM or LOWER only (got {sorted(keys)})")
    attr = next(iter(keys))
    value = tok[attr]
    if isinstance(value, str):
        value = {"IN": [value]}
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("IN", "REGEX"):
        raise DataFileError(f"{where}: {attr} takes a word, {{IN: [...]}} or {{REGEX: ...}}")
    (op, arg), = value.items()
    if op == "REGEX":
        body = str(arg).lstrip("^").rstrip("$")
        try:
            re.compile(body)
        except re.error as exc:
            raise DataFileError(f"{where}: bad REGEX ({exc})") from None
        return r"(?<![\w/])(?:" + body + r")(?![\w/])", None, False, None
    if not isinstance(arg, list) or not arg:
        raise DataFileError(f"{where}: IN takes a non-empty list of words")
    written = tuple(str(w).lower() for w in arg)
    words = set()
    for w in written:
        if not w or any(c.isspace() for c in w):
            raise DataFileError(f"{where}: {w!r} is not one word")
        words.add(w)
        if attr == "NORM":
            words |= variants.get(w, set())
    return _alternatives(words), words, False, (attr, written)


def _quantify(body, op, where):
    if op is None:
        return body
    if op in ("?", "*", "+"):
        return f"(?:{body}){op}"
    m = _QUANT.match(str(op))
    if not m:
        raise DataFileError(f"{where}: OP must be ?, *, + or {{n,m}}, got {op!r}")
    lo, hi = m.group(1) or "0", m.group(2)
    return f"(?:{body}){{{lo},{hi}}}?"   # gaps prefer the shortest span


def _variants(norms):
    out = {}
    for v, normal in norms.items():
        out.setdefault(normal, set()).add(v)
    return out


def compile_tokens(alternatives, norms, where):
    """(regex source, triggers, per alternative (source, triggers, anchor))
    for a pattern's alternatives.

    ``norms`` maps variant -> normal form (normalise.yaml); a NORM word
    matches itself and its variants. Triggers: for each alternative the
    words of its rarest required token; empty when one alternative has no
    literal required token (then the pattern always runs). Anchor: (attr,
    words) of the alternative's first token when it is a required literal,
    so that a note is searched only where such a word stands (found by a
    PhraseMatcher), else None.
    """
    variants = _variants(norms)
    sources, triggers, always, alt_triggers, alt_anchors = [], set(), False, [], []
    for tokens in alternatives:
        parts, required = [], []
        for i, tok in enumerate(tokens):
            body, words, gap, anchor = _element(tok, variants, f"{where} token {i + 1}")
            if i == 0:
                alt_anchors.append(anchor if tok.get("OP") in (None, "+") else None)
            # a gap word must end at a space: "[^ ]+ *" repeated could split
            # one word many ways (catastrophic backtracking)
            sep = r"[^\S\n]+" if gap else _SEP
            parts.append(_quantify(body + sep, tok.get("OP"), f"{where} token {i + 1}"))
            if words and tok.get("OP") in (None, "+"):
                required.append(words)
        source = "".join(parts)
        sources.append(source)
        if required:
            alt_triggers.append(tuple(sorted(_rarest(required))))
            triggers |= set(alt_triggers[-1])
        else:
            alt_triggers.append(())
            always = True
    # the trailing separator of the last token is not part of the match
    full = "|".join(f"(?:{s})" for s in sources)
    full = f"(?:{full})(?<!\\s)"
    return (full, (() if always else tuple(sorted(triggers))),
            [(f"(?:{s})(?<!\\s)", t, a) for s, t, a in zip(sources, alt_triggers, alt_anchors)])


def _rarest(required):
    """The required token whose words make the best prefilter: the longest
    shortest word (short words such as "do" occur inside many others), then
    the fewest words."""
    return max(required, key=lambda words: (min(len(w) for w in words), -len(words)))
