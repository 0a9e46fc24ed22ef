"""Result records (FORMATS.md): one per referral, never dropped.

``analyze(text, ordered=None)`` returns the record for one note;
``analyze_many(rows)`` streams records for many, in order, through the
one-pass extractor. A row that cannot be analysed gets ``status: "error"`` with an
error message that never contains note text.
"""

import re

from .errors import ROW_EMPTY, ROW_FAILED, ROW_NOT_TEXT, ROW_TOO_LONG, ROW_UNDECODABLE
from .mismatch import compare
from .orders import parse_order
from .rules import recommend
from .vocab import is_missing

DEFAULT_MAX_CHARS = 100_000
_UNDECODABLE = re.compile("[\ufffd\ud800-\udfff]")


def _empty_record(row_id, status="ok", error=None):
    return {
        "id": row_id,
        "status": status,
        "error": error,
        "concepts": None,
        "evidence": None,
        "duration_weeks": None,
        "regions": None,
        "age_years": None,
        "recommendation": None,
        "ordered": None,
        "mismatch": None,
    }


def check_text(text, max_chars=DEFAULT_MAX_CHARS):
    """The row-level error for ``text``, or None when it can be analysed."""
    if is_missing(text):
        return ROW_EMPTY
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return ROW_UNDECODABLE
    if not isinstance(text, str):
        return ROW_NOT_TEXT
    if not text.strip():
        return ROW_EMPTY
    if _UNDECODABLE.search(text):
        return ROW_UNDECODABLE
    if len(text) > max_chars:
        return ROW_TOO_LONG.format(limit=max_chars)
    return None


def finish_record(row_id, spine, ordered_raw):
    """Add the decision half (rules, order, mismatch) to extracted facts."""
    rec = _empty_record(row_id)
    rec.update(concepts=spine["concepts"], evidence=spine["evidence"],
               duration_weeks=spine["duration_weeks"], regions=spine["regions"],
               age_years=spine.get("age_years"))
    rec["recommendation"] = recommend(spine["concepts"], spine["duration_weeks"], spine["regions"],
                                      rec["age_years"])
    ordered = parse_order(ordered_raw)
    rec["ordered"] = ordered
    if ordered is not None:
        types = compare(rec["recommendation"], ordered)
        rec["mismatch"] = {
            "is_mismatch": None if types is None else bool(types),
            "types": types,
            "score": None,
        }
    return rec


def _as_text(text):
    return text.decode("utf-8") if isinstance(text, bytes) else text


def analyze_many(rows, nlp=None, max_chars=DEFAULT_MAX_CHARS, batch_size=256):
    """Records for ``rows`` of ``(id, text, ordered)``, in input order.

    Valid notes go through the one-pass extractor (``extract.engine``; the
    same results as the component pipeline, checked by tests/test_golden.py);
    invalid ones get an error record in their place. An exception inside the
    extractor for one note marks that note only. ``batch_size`` is kept for
    callers of the earlier ``nlp.pipe`` version and has no effect.
    """
    from .extract import get_extractor
    extract = get_extractor(nlp)
    for row_id, text, ordered in rows:
        problem = check_text(text, max_chars)
        if problem is not None:
            yield _empty_record(row_id, "error", problem)
            continue
        try:
            spine = extract(_as_text(text))
            yield finish_record(row_id, spine, ordered)
        except Exception as exc:  # noqa: BLE001 - one bad note must not stop a batch
            yield _empty_record(row_id, "error", ROW_FAILED.format(kind=type(exc).__name__))


def analyze(text, ordered=None, id=None, nlp=None, max_chars=DEFAULT_MAX_CHARS):  # noqa: A002
    """The result record (FORMATS.md) for one referral."""
    return next(analyze_many([(id, text, ordered)], nlp=nlp, max_chars=max_chars))
