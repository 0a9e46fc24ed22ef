"""Validated, compiled forms of the extractor's data files.

``concepts.yaml`` (what words mean which concept), ``assertion.yaml``
(negation / family / hypothetical cues) and ``context.yaml`` (sections,
duration and regions). Every pattern keeps its stable id so that evidence can
be traced back to the line of the file that produced it.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import DataFileError
from ..resources import check_enum, check_keys, load_yaml
from ..vocab import CONCEPTS, REGIONS

# Escapes that name a character by code ("\x41", "\u0041", "\N{...}", "\101")
# and inline flag groups ("(?-i:...)"): a pattern with these is not checked for
# case and always runs as written.
_CASE_UNSAFE = re.compile(r"\\[xuUN0-7]|\(\?[aiLmsux-]")
_GROUP_NAME = re.compile(r"\(\?P(?:<\w+>|=\w+\))")


def _lowercase_safe(source):
    """True when ``source`` contains no upper-case letter outside escapes.

    For such a pattern, a case-insensitive search of an ASCII note and a
    case-sensitive search of the lower-cased note find the same matches at the
    same offsets.
    """
    if _CASE_UNSAFE.search(source):
        return False
    source = _GROUP_NAME.sub("(", source)
    i = 0
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i].isupper() or (source[i].isalpha() and not source[i].isascii()):
            return False  # non-ASCII letters may match ASCII ones case-insensitively ("ſ", "K")
        i += 1
    return True


class LazyRegex:
    """``re.compile(pattern, flags)``, compiled on first use. The
    case-insensitive twins of the expressions run only on non-ASCII notes
    (ASCII notes use the lower-case ones), so most processes never need them,
    and compiling them all took a third of every pipeline build. ``pattern``
    and ``flags`` are read without compiling (the hyperscan prefilter)."""

    __slots__ = ("pattern", "flags", "_compiled")

    def __init__(self, pattern, flags=0):
        self.pattern, self.flags, self._compiled = pattern, flags, None

    def __getattr__(self, name):  # match, finditer, search, groupindex ...
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return getattr(self._compiled, name)


class NoteRegex:
    """A compiled expression for note text with a fast case-insensitive path.

    Python's ``re`` is several times slower with IGNORECASE. When the note is
    ASCII (lower-casing keeps every offset) and the pattern has no upper-case
    letter of its own, the pattern runs case-sensitively on the lower-cased
    note instead: same matches, same offsets. Otherwise it runs as written.
    ``finditer`` decides per call, so callers only pass ``text.lower()``.
    Matched groups then hold lower-cased text; callers use offsets, digits or
    ``.lower()`` of groups only.
    """

    __slots__ = ("regex", "lowered")

    def __init__(self, source, flags=re.I):
        self.lowered = re.compile(source, flags & ~re.I) if flags & re.I and _lowercase_safe(source) else None
        # as written: compiled now when it is the only form, else on first use
        self.regex = re.compile(source, flags) if self.lowered is None else LazyRegex(source, flags)

    @property
    def pattern(self):
        return self.regex.pattern

    @property
    def groupindex(self):
        return self.regex.groupindex

    def finditer(self, text, lower=None):
        """Matches in ``text``; ``lower``, when given, is ``text.lower()``."""
        if lower is not None and self.lowered is not None and text.isascii():
            return self.lowered.finditer(lower)
        return self.regex.finditer(text)

    def finditer_at(self, text, lower, positions):
        """The matches ``finditer`` would find, when every match starts at one
        of ``positions`` (sorted): tried only there, non-overlapping as
        ``finditer``. ASCII notes only (lower-casing keeps the offsets)."""
        rx, s = (self.lowered, lower) if self.lowered is not None else (self.regex, text)
        end = 0
        for pos in positions:
            if pos < end:
                continue
            m = rx.match(s, pos)
            if m is not None:
                yield m
                end = m.end() if m.end() > m.start() else m.end() + 1


_OPS = {
    "gt": lambda v, t: v > t,
    "ge": lambda v, t: v >= t,
    "lt": lambda v, t: v < t,
    "le": lambda v, t: v <= t,
}


@dataclass(frozen=True)
class Pattern:
    id: str
    concept: str
    also: tuple = ()
    overrides: tuple = ()
    status: object = None           # fixed assertion ("negated") or None
    phrases: tuple = ()
    regex: object = None            # compiled pattern or None
    value_test: object = None       # (op, threshold) or None
    triggers: tuple = ()            # literal prefilter for regex patterns
    tokens: tuple = ()              # token patterns (lists of dicts), word lists expanded
    anchored: tuple = ()            # per alternative: ((attr, words) or None, expression, lower-case one, triggers)
    starts: tuple = ()              # literal strings every regex match begins with (a search shortcut)

    @property
    def concepts(self):
        return (self.concept,) + self.also

    def value_ok(self, match):
        if self.value_test is None:
            return True
        op, threshold = self.value_test
        try:
            value = float(match.group("value"))
        except (IndexError, TypeError, ValueError):
            return False
        return _OPS[op](value, threshold)

    def span_offsets(self, match):
        if "span" in self.regex.groupindex and match.group("span") is not None:
            return match.start("span"), match.end("span")
        return match.start(), match.end()


@dataclass(frozen=True)
class ConceptLexicon:
    patterns: tuple
    by_id: dict
    no_negex: frozenset = frozenset()
    masks_regions: frozenset = frozenset()

    @classmethod
    def from_dict(cls, data, source="concepts.yaml", norms=None):
        """``norms`` (variant -> normal form) lets token patterns match every
        spelling of a word; default: the packaged normalise.yaml."""
        from .normalise import load_norms
        from .token_patterns import compile_tokens
        norms = load_norms() if norms is None else norms
        check_keys(data, {"version", "lists", "concepts"}, source, required=("concepts",))
        concepts = data["concepts"] or {}
        word_lists = _word_lists(data.get("lists") or {}, source)
        patterns, by_id, no_negex, masks = [], {}, set(), set()
        for cid, spec in concepts.items():
            check_enum(cid, CONCEPTS, f"{source} concepts", "concept")
            where = f"{source} concept {cid}"
            check_keys(spec, {"patterns", "negex", "masks_regions"}, where, required=("patterns",))
            if spec.get("negex") is False:
                no_negex.add(cid)
            if spec.get("masks_regions"):
                masks.add(cid)
            for i, p in enumerate(spec["patterns"] or []):
                pid = p.get("id") if isinstance(p, dict) else None
                pwhere = f"{source} pattern {pid or f'{cid}[{i}]'}"
                check_keys(p, {"id", "phrases", "regex", "tokens", "case", "value", "status", "also", "overrides",
                               "triggers", "starts"},
                           pwhere, required=("id",))
                if pid in by_id:
                    raise DataFileError(f"{pwhere}: duplicate pattern id")
                if sum(k in p for k in ("phrases", "regex", "tokens")) != 1:
                    raise DataFileError(f"{pwhere}: give exactly one of 'phrases', 'regex' or 'tokens'")
                for other in list(p.get("also") or []) + list(p.get("overrides") or []):
                    check_enum(other, CONCEPTS, pwhere, "concept")
                if p.get("status") is not None:
                    check_enum(p["status"], ("negated", "excluded", "if_negated"), pwhere, "status")
                regex = value_test = None
                if "regex" in p:
                    case = p.get("case", "insensitive")
                    check_enum(case, ("sensitive", "insensitive"), pwhere, "case")
                    try:
                        regex = NoteRegex(p["regex"], 0 if case == "sensitive" else re.I)
                    except re.error as exc:
                        raise DataFileError(f"{pwhere}: bad regular expression ({exc})") from None
                    if "value" in p:
                        check_keys(p["value"], set(_OPS), f"{pwhere} value")
                        if len(p["value"]) != 1 or "value" not in regex.groupindex:
                            raise DataFileError(f"{pwhere}: 'value' needs one test and a (?P<value>...) group")
                        (op, threshold), = p["value"].items()
                        value_test = (op, float(threshold))
                elif "value" in p or "case" in p or "triggers" in p or "starts" in p:
                    raise DataFileError(f"{pwhere}: 'value', 'case', 'triggers' and 'starts' apply to regex patterns only")
                starts = tuple(str(t) for t in (p.get("starts") or ()))
                if any(t != t.lower() or not t for t in starts):
                    raise DataFileError(f"{pwhere}: starts must be non-empty lower-case strings")
                triggers = tuple(str(t) for t in (p.get("triggers") or ()))
                if any(t != t.lower() or not t for t in triggers):
                    raise DataFileError(f"{pwhere}: triggers must be non-empty lower-case strings")
                phrases = tuple(str(x) for x in (p.get("phrases") or ()))
                tokens = _token_patterns(p["tokens"], word_lists, pwhere) if "tokens" in p else ()
                anchored = ()
                if tokens:
                    source_rx, triggers, alternatives = compile_tokens(tokens, norms, pwhere)
                    try:
                        regex = NoteRegex(source_rx, re.I)
                        # (anchor, expression for the original text, for the lower-cased
                        # ASCII text, literal triggers of the alternative)
                        anchored = tuple((anchor, LazyRegex(src, re.I), re.compile(src), trig)
                                         for src, trig, anchor in alternatives)
                    except re.error as exc:  # pragma: no cover - the compiler escapes every word
                        raise DataFileError(f"{pwhere}: token pattern does not compile ({exc})") from None
                pat = Pattern(pid, cid, tuple(p.get("also") or ()), tuple(p.get("overrides") or ()),
                              p.get("status"), phrases, regex, value_test, triggers, tokens, anchored, starts)
                patterns.append(pat)
                by_id[pid] = pat
        return cls(tuple(patterns), by_id, frozenset(no_negex), frozenset(masks))


def _word_lists(lists, source):
    """Named word lists for token patterns; an item "$NAME" includes another list."""
    if not isinstance(lists, dict):
        raise DataFileError(f"{source} lists: expected a mapping of NAME to a list of words")
    out = {}

    def expand(name, stack=()):
        if name in out:
            return out[name]
        if name not in lists:
            raise DataFileError(f"{source} lists: unknown list ${name}")
        if name in stack:
            raise DataFileError(f"{source} lists: ${name} includes itself")
        words = []
        for w in lists[name] or ():
            w = str(w)
            words.extend(expand(w[1:], stack + (name,)) if w.startswith("$") else [w])
        out[name] = tuple(dict.fromkeys(words))
        return out[name]

    for name in lists:
        expand(str(name))
    return out


def _token_patterns(raw, word_lists, where):
    """Token patterns with "$NAME" list references expanded.

    ``tokens`` holds one pattern (a list of token dicts) or several (a list
    of such lists). A value "$NAME" anywhere in a token dict (usually under
    ``IN``) is replaced by the named word list.
    """
    if not isinstance(raw, list) or not raw:
        raise DataFileError(f"{where}: 'tokens' must be a non-empty list")
    alternatives = raw if isinstance(raw[0], list) else [raw]

    def sub(value):
        if isinstance(value, str) and value.startswith("$"):
            if value[1:] not in word_lists:
                raise DataFileError(f"{where}: unknown word list {value}")
            return list(word_lists[value[1:]])
        if isinstance(value, list):
            out = []
            for v in value:
                v2 = sub(v)
                out.extend(v2 if isinstance(v, str) and v.startswith("$") else [v2])
            return out
        if isinstance(value, dict):
            return {k: sub(v) for k, v in value.items()}
        return value

    out = []
    for alt in alternatives:
        if not isinstance(alt, list) or not alt or not all(isinstance(t, dict) for t in alt):
            raise DataFileError(f"{where}: a token pattern is a non-empty list of token mappings")
        out.append(tuple(sub(t) for t in alt))
    return tuple(out)


_TERMSET_KEYS = ("pseudo", "preceding", "following", "termination")


def negspacy_termset(terms):
    """Our list names -> negspacy's termset dict (a fresh copy each call).

    Following cues are left out: spine-audit applies them itself within a
    short window (see ``SpineAssertion``), because negspacy scopes them back to
    the start of the sentence.
    """
    return {
        "pseudo_negations": list(terms["pseudo"]),
        "preceding_negations": list(terms["preceding"]),
        "following_negations": [],
        "termination": list(terms["termination"]),
    }


def load_assertion_terms(path=None):
    data = load_yaml("assertion.yaml", path)
    source = str(path or "assertion.yaml")
    check_keys(data, {"version", "following_window", "negation", "family", "hypothetical"}, source,
               required=("negation", "family", "hypothetical"))
    window = data.get("following_window", 4)
    if not isinstance(window, int) or window < 0:
        raise DataFileError(f"{source}: following_window must be a whole number of tokens")
    out = {"following_window": window}
    for kind in ("negation", "family", "hypothetical"):
        check_keys(data[kind], set(_TERMSET_KEYS), f"{source} {kind}", required=_TERMSET_KEYS)
        out[kind] = {k: tuple(str(t) for t in (data[kind][k] or ())) for k in _TERMSET_KEYS}
    return out


@dataclass(frozen=True)
class ContextLexicon:
    headers: dict                    # lower-cased header -> (section name, assertion)
    no_split_after: frozenset
    numbers: dict
    unit_weeks: dict                 # unit word -> weeks per unit
    duration_re: NoteRegex
    not_before: re.Pattern
    not_after: re.Pattern
    regions: tuple = ()              # (region, NoteRegex, triggers, starts)
    age_patterns: tuple = ()         # (pattern id, NoteRegex, years per unit, triggers)
    age_not_before: object = None
    age_not_after: object = None
    age_max: float = 120.0
    ago_onset: object = None
    ago_not_onset: object = None
    symptom_clause: object = None    # a stated duration counts only in a clause this finds (None: any)

    @classmethod
    def from_dict(cls, data, source="context.yaml"):
        check_keys(data, {"version", "sections", "no_split_after", "duration", "regions", "age"}, source,
                   required=("sections", "duration", "regions"))
        headers = {}
        for i, sec in enumerate(data["sections"]):
            where = f"{source} sections[{i}]"
            check_keys(sec, {"name", "headers", "assertion"}, where, required=("name", "headers"))
            if sec.get("assertion") is not None:
                check_enum(sec["assertion"], ("family", "hypothetical"), where, "assertion")
            for h in sec["headers"]:
                headers[str(h).lower()] = (sec["name"], sec.get("assertion"))
        dur = data["duration"]
        check_keys(dur, {"numbers", "units", "unit_words", "not_symptom_before", "not_symptom_after",
                         "ago_onset", "ago_not_onset", "symptom_clause"},
                   f"{source} duration", required=("units", "unit_words"))
        unit_weeks = {}
        for unit, words in dur["unit_words"].items():
            if unit not in dur["units"]:
                raise DataFileError(f"{source} duration.unit_words: unit {unit!r} has no weeks factor")
            for w in words:
                unit_weeks[str(w).lower()] = float(dur["units"][unit])
        numbers = {str(k).lower(): v for k, v in (dur.get("numbers") or {}).items()}
        num_alt = "|".join(sorted((re.escape(n) for n in numbers), key=len, reverse=True))
        unit_alt = "|".join(sorted((re.escape(u) for u in unit_weeks), key=len, reverse=True))
        duration_re = NoteRegex(
            rf"(?:(?<=x)|(?<![\w./]))(?:(?P<num>\d+(?:\.\d+)?)(?:\s*(?:-|to)\s*(?P<num2>\d+(?:\.\d+)?))?\s*-?\s*"
            rf"|(?P<word>{num_alt})(?:\s*(?:-|to)\s*(?P<word2>{num_alt}))?(?:\s+|-))"
            rf"(?P<unit>{unit_alt})\.?(?![\w/])", re.I)
        try:
            not_before = re.compile(dur.get("not_symptom_before") or r"(?!x)x", re.I)
            not_after = re.compile(dur.get("not_symptom_after") or r"(?!x)x", re.I)
            ago_onset = re.compile(dur["ago_onset"], re.I) if dur.get("ago_onset") else None
            ago_not_onset = re.compile(dur.get("ago_not_onset") or r"(?!x)x", re.I)
            symptom_clause = re.compile(dur["symptom_clause"], re.I) if dur.get("symptom_clause") else None
            regions = []
            for region, entries in data["regions"].items():
                check_enum(region, REGIONS, f"{source} regions", "region")
                for i, entry in enumerate(entries):
                    where = f"{source} regions.{region}[{i}]"
                    check_keys(entry, {"pattern", "triggers", "starts"}, where, required=("pattern",))
                    triggers = tuple(str(t) for t in entry.get("triggers") or ())
                    starts = tuple(str(t) for t in entry.get("starts") or ())
                    if any(t != t.lower() or not t for t in triggers + starts):
                        raise DataFileError(f"{where}: triggers and starts must be lower-case")
                    regions.append((region, NoteRegex(entry["pattern"], re.I), triggers, starts))
        except re.error as exc:
            raise DataFileError(f"{source}: bad regular expression ({exc})") from None
        age = _age_config(data.get("age") or {"patterns": []}, source)
        return cls(headers, frozenset(str(x).lower() for x in data.get("no_split_after") or ()),
                   numbers, unit_weeks, duration_re, not_before, not_after, tuple(regions), *age,
                   ago_onset, ago_not_onset, symptom_clause)


_AGE_UNITS = {"years": 1.0, "months": 1 / 12}


def _age_config(age, source):
    """(patterns, not_before, not_after, max_years) from the ``age`` section."""
    where = f"{source} age"
    check_keys(age, {"patterns", "not_before", "not_after", "max_years"}, where, required=("patterns",))
    patterns, ids = [], set()
    for i, p in enumerate(age["patterns"] or []):
        pid = p.get("id") if isinstance(p, dict) else None
        pwhere = f"{where} pattern {pid or i}"
        check_keys(p, {"id", "regex", "unit", "triggers"}, pwhere, required=("id", "regex", "unit"))
        if pid in ids:
            raise DataFileError(f"{pwhere}: duplicate pattern id")
        ids.add(pid)
        check_enum(p["unit"], tuple(_AGE_UNITS), pwhere, "unit")
        try:
            rx = NoteRegex(p["regex"], re.I)
        except re.error as exc:
            raise DataFileError(f"{pwhere}: bad regular expression ({exc})") from None
        if not any(name.startswith("value") for name in rx.groupindex):
            raise DataFileError(f"{pwhere}: needs a (?P<value>...) group")
        triggers = tuple(str(t) for t in p.get("triggers") or ())
        if any(t != t.lower() or not t for t in triggers):
            raise DataFileError(f"{pwhere}: triggers must be non-empty lower-case strings")
        patterns.append((pid, rx, _AGE_UNITS[p["unit"]], triggers))
    try:
        not_before = re.compile(age.get("not_before") or r"(?!x)x", re.I)
        not_after = re.compile(age.get("not_after") or r"(?!x)x", re.I)
    except re.error as exc:
        raise DataFileError(f"{where}: bad regular expression ({exc})") from None
    max_years = age.get("max_years", 120)
    if not isinstance(max_years, (int, float)) or max_years <= 0:
        raise DataFileError(f"{where}: max_years must be a positive number")
    return tuple(patterns), not_before, not_after, float(max_years)


@lru_cache(maxsize=4)
def load_concepts(path=None):
    return ConceptLexicon.from_dict(load_yaml("concepts.yaml", path), source=str(path or "concepts.yaml"))


@lru_cache(maxsize=4)
def load_context(path=None):
    return ContextLexicon.from_dict(load_yaml("context.yaml", path), source=str(path or "context.yaml"))
