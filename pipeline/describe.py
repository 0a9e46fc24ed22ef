"""Words for reviewers: plain-language mismatch reasons, protocols, rules.

Shared by the HTML report and the review app, so both say the same thing.
The wording lives in ``data/explanations.yaml``; the rule titles and readable
sources come from the rule file (``RuleSet.describe``).
"""

from functools import lru_cache

from .errors import DataFileError
from .resources import check_keys, load_yaml
from .vocab import CATEGORIES, MISMATCH_TYPES


@lru_cache(maxsize=1)
def _words():
    data = load_yaml("explanations.yaml")
    check_keys(data, {"version", "mismatch_types", "categories", "modalities", "contrasts", "regions"},
               "explanations.yaml", required=("mismatch_types", "categories"))
    missing = [t for t in MISMATCH_TYPES if t not in data["mismatch_types"]]
    missing += [c for c in CATEGORIES if c not in data["categories"]]
    if missing:
        raise DataFileError(f"explanations.yaml: no wording for {missing}")
    data["contrasts"] = {(None if k in (None, "null") else k): v for k, v in data["contrasts"].items()}
    return data


def _regions_words(regions):
    w = _words()["regions"]
    regions = list(regions or [])
    if not regions:
        return "no stated region"
    if regions == ["COMPLETE"] or len(regions) == 3:
        return w["COMPLETE"]
    named = [w.get(r, r.lower()) for r in regions]
    return "the " + " and ".join(named) + " spine"


def protocol_text(p):
    """'MRI / WITHOUT / LUMBAR' style summary of an ordered or recommended study."""
    if not p:
        return "none"
    if p.get("modality") == "NONE":
        return "no imaging"
    if p.get("modality") is None:
        return "not parsed"
    regions = ", ".join(p.get("regions") or []) or "region not stated"
    no_contrast = p.get("modality") in ("XR", "BONE_SCAN", "PET", "CT_MYELOGRAPHY")
    contrast = p.get("contrast") or ("no IV contrast" if no_contrast else "contrast not stated")
    return f"{p.get('modality')} / {contrast} / {regions}"


def study_words(p):
    """'MRI of the lumbar spine without contrast' style wording of a study."""
    w = _words()
    if not p or p.get("modality") is None:
        return "an unparsed study"
    if p.get("modality") == "NONE":
        return "no imaging"
    text = w["modalities"].get(p["modality"], p["modality"])
    if p.get("regions"):
        text += " of " + _regions_words(p["regions"])
    if p.get("modality") in ("MRI", "CT") and p.get("contrast"):
        text += " " + w["contrasts"][p["contrast"]]
    return text


def mismatch_reasons(record):
    """``[{"type", "reason"}]`` for the record's mismatch types, in words."""
    mm = (record or {}).get("mismatch") or {}
    types = mm.get("types") or []
    if not types:
        return []
    w = _words()
    rec = record.get("recommendation") or {}
    o = record.get("ordered") or {}
    values = {
        "ordered": study_words(o),
        "ordered_modality": w["modalities"].get(o.get("modality"), o.get("modality") or "a study"),
        "ordered_contrast": w["contrasts"].get(o.get("contrast"), "with contrast not stated"),
        "ordered_regions": (w["modalities"].get(o.get("modality"), "a study") + " of "
                            + _regions_words(o.get("regions"))),
        "story": w["categories"].get(rec.get("category"), str(rec.get("category"))),
        "recommended": study_words(rec),
        "recommended_modality": w["modalities"].get(rec.get("modality"), rec.get("modality")),
        "recommended_contrast": w["contrasts"].get(rec.get("contrast"), "contrast as the protocol says"),
        "recommended_regions": _regions_words(rec.get("regions")),
    }
    return [{"type": t, "reason": w["mismatch_types"].get(t, t).format(**values)} for t in types]


def rule_details(rule_ids):
    """The fired rules with titles and readable sources (never file names)."""
    from .rules import load_rules
    return load_rules().describe(rule_ids or [])
