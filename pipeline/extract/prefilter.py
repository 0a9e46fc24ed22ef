r"""One pass of a compiled multi-pattern matcher over a note: which of the
lexicon's expressions can match it at all.

Hyperscan (the ``hyperscan`` package, wheels for x86-64 Linux) compiles every
concept and region expression in *prefilter* mode, where each pattern may be
widened but never narrowed: a pattern hyperscan does not report cannot match
the note, so Python's ``re`` need not run it. The expressions stay the source
of truth; hyperscan only says which ones to skip. Where hyperscan is not
installed (another platform), ``Prefilter.build`` returns None and every
expression runs as before, with the same results.

The database is compiled without Unicode classes (0.5 s; with them it took
70 s; an expression with a non-ASCII literal such as "°" is read as UTF-8)
and used only on ASCII notes without the control characters \x1c-\x1f,
where ASCII classes and Python's Unicode classes agree (``\w``, ``\d``,
``\b``, case folding; Python's ``\s`` also matches \x1c-\x1f). Other
notes run every expression.

``tests/test_fast_paths.py`` checks on every corpus in ../shared/data and on
generated notes that every expression with a match is reported.
"""

import re

REGION_BASE = 10_000
DURATION_ID = 20_000
AGE_BASE = 30_000
MAYBE_KEY = "spine_maybe"  # doc.user_data: the ids the prefilter reported for the note (a set of ints)


_NOT_PLAIN = re.compile(r"[\x1c-\x1f]")


def _flags(hs, rx):
    rx_flags = rx.flags
    f = hs.HS_FLAG_PREFILTER | hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_ALLOWEMPTY
    if not rx.pattern.isascii():
        f |= hs.HS_FLAG_UTF8  # a non-ASCII literal ("°") never matches an ASCII note
    if rx_flags & re.I:
        f |= hs.HS_FLAG_CASELESS
    if rx_flags & re.S:
        f |= hs.HS_FLAG_DOTALL
    if rx_flags & re.M:
        f |= hs.HS_FLAG_MULTILINE
    return f


class Prefilter:
    """``maybe(text)`` -> the ids of the expressions that may match, or None
    when the note cannot be scanned (then every expression runs)."""

    __slots__ = ("db", "always", "_hs")

    def __init__(self, hs, db, always):
        self._hs = hs
        self.db = db
        self.always = frozenset(always)  # ids hyperscan could not take: always run

    @classmethod
    def build(cls, expressions):
        """``expressions``: {id: compiled ``re`` pattern}. None without hyperscan."""
        try:
            import hyperscan as hs
        except ImportError:
            return None
        always = [k for k, rx in expressions.items() if rx.flags & re.X]
        take = {k: rx for k, rx in expressions.items() if k not in always}

        def compile_(items):
            db = hs.Database()
            db.compile(expressions=[rx.pattern.encode("utf-8") for rx in items.values()], ids=list(items),
                       elements=len(items), flags=[_flags(hs, rx) for rx in items.values()])
            return db

        try:
            db = compile_(take)
        except Exception:  # noqa: BLE001 - hyperscan.error: an unsupported construct somewhere
            for k, rx in list(take.items()):  # find the ones it cannot take: they run always
                try:
                    compile_({k: rx})
                except Exception:  # noqa: BLE001
                    always.append(k)
                    del take[k]
            if not take:
                return None
            db = compile_(take)
        return cls(hs, db, always)

    def maybe(self, text):
        if not text.isascii() or _NOT_PLAIN.search(text):
            return None
        found = set(self.always)

        def on_match(id_, _from, _to, _flags, _ctx):
            found.add(id_)

        self.db.scan(text.encode("ascii"), match_event_handler=on_match)
        return found
