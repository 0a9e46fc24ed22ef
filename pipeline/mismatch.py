"""Ordered versus recommended: the mismatch types of RULES.md section 4."""

from .vocab import COMPLETE, NO_IMAGING_CATEGORIES, REGIONS

_CONTRASTED = ("WITH", "WITH_AND_WITHOUT")


def _contrast_types(target, ordered_contrast, gadolinium_avoid):
    """Contrast types for an MRI order with a stated contrast, against ``target``."""
    types = []
    if ordered_contrast == "WITH":
        types.append("CONTRAST_ONLY")  # always a mismatch (S002, S003)
    if gadolinium_avoid:
        if ordered_contrast in _CONTRASTED:
            types.append("GADOLINIUM_SAFETY")  # replaces MISSING/UNNECESSARY
        return types
    if target == "WITH_AND_WITHOUT" and ordered_contrast == "WITHOUT":
        types.append("MISSING_CONTRAST")
    elif target == "WITHOUT" and ordered_contrast in _CONTRASTED:
        types.append("UNNECESSARY_CONTRAST")
    return types


def _region_types(recommended, ordered_regions):
    if not ordered_regions or not recommended:
        return []  # the order names no region, or the note names none: accepted
    if COMPLETE in recommended:
        return [] if set(REGIONS) <= set(ordered_regions) else ["INCOMPLETE_COVERAGE"]
    return [] if set(recommended) & set(ordered_regions) else ["WRONG_REGION"]


def compare(recommendation, ordered):
    """Mismatch types (sorted) between a recommendation and a parsed order.

    Returns ``None`` when there is nothing to compare (no order, or an order
    that could not be parsed): such rows are counted, never guessed.
    """
    if not ordered or not ordered.get("parsed"):
        return None
    modality, contrast = ordered["modality"], ordered["contrast"]
    flags = recommendation.get("flags") or []
    # Safety types are reported whenever they hold, beside any other type.
    safety = []
    if modality == "MRI":
        if "MRI_UNSAFE" in flags:
            safety.append("MRI_SAFETY")
        if "GADOLINIUM_AVOID" in flags and contrast in _CONTRASTED:
            safety.append("GADOLINIUM_SAFETY")

    category = recommendation["category"]
    if category in NO_IMAGING_CATEGORIES:
        return sorted(safety + ["NOT_INDICATED" if category == "UNCOMPLICATED" else "INSUFFICIENT_DOCUMENTATION"])

    alternatives = recommendation.get("alternatives") or []
    types = list(safety)

    exact_alternative = any(a["modality"] == modality and a["contrast"] == contrast for a in alternatives)
    if exact_alternative and not (modality == recommendation["modality"] and contrast == recommendation["contrast"]):
        target = None  # matches an alternative exactly: compared on region only
    elif modality == recommendation["modality"]:
        target = recommendation["contrast"]
    else:
        same_modality = [a for a in alternatives if a["modality"] == modality]
        if not same_modality:
            return sorted(safety + ["WRONG_MODALITY"])
        target = same_modality[0]["contrast"]  # compared on contrast with that alternative

    if modality == "MRI":
        if contrast is not None and target is not None:
            types.extend(_contrast_types(target, contrast, "GADOLINIUM_AVOID" in flags))
        elif contrast == "WITH":  # an exact alternative match cannot be contrast-only (never listed)
            types.append("CONTRAST_ONLY")
    types.extend(_region_types(recommendation.get("regions") or [], ordered.get("regions") or []))
    return sorted(set(types))
