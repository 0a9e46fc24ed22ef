"""spine-audit's public API under its own name.

``from spine_audit import analyze, recommend, parse_order, compare`` is the
documented import: the package folder is ``pipeline`` (kept for existing
scripts), a name that may clash with a user's own ``pipeline.py`` or with
another published package.
"""

import pipeline as _pipeline

__version__ = _pipeline.__version__
__all__ = list(_pipeline.__all__)


def __getattr__(name):
    if name in __all__:
        return getattr(_pipeline, name)
    raise AttributeError(f"module 'spine_audit' has no attribute {name!r}")
