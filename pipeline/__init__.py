"""spine-audit: does a spine imaging order match the guideline for its referral?

Public API (FORMATS.md)::

    from pipeline import analyze, recommend, parse_order, compare

``recommend``, ``parse_order`` and ``compare`` are pure Python; spaCy is
imported only when ``analyze`` (or the extractor) is first used.
"""

__version__ = "0.1.0"

__all__ = ["analyze", "analyze_many", "recommend", "parse_order", "compare", "__version__"]


def __getattr__(name):
    if name == "parse_order":
        from .orders import parse_order
        return parse_order
    if name == "recommend":
        from .rules import recommend
        return recommend
    if name == "compare":
        from .mismatch import compare
        return compare
    if name in ("analyze", "analyze_many"):
        from . import record
        return getattr(record, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
