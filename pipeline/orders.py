"""Ordered-study parser: free text or CPT codes -> structured protocol.

RULES.md section 3. The vocabulary lives in ``data/orders.yaml``; this module
only applies it. An order that cannot be read is returned with
``parsed: False`` and null fields: it is never guessed.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import DataFileError
from .resources import check_enum, check_keys, load_yaml
from .vocab import CONTRASTS, MODALITIES, REGIONS, is_missing, order_regions

_CPT_RE = re.compile(r"(?<!\d)(7\d{4})(?!\d)")
# A field made only of CPT codes and separators ("72156, 72157, 72158").
_CPT_ONLY_RE = re.compile(r"^\s*(?:(?:cpt\s*:?\s*)?7\d{4}[\s,;/&+]*(?:and\s+)?)+\s*$", re.I)


@dataclass(frozen=True)
class OrderLexicon:
    normalise: tuple
    modalities: tuple
    regions: tuple
    non_spine: re.Pattern
    with_and_without: re.Pattern
    without: re.Pattern
    with_: re.Pattern
    no_contrast: frozenset
    cpt: dict

    @classmethod
    def from_dict(cls, data, source="orders.yaml"):
        check_keys(data, {"version", "normalise", "modalities", "regions", "non_spine",
                          "contrast", "contrast_not_reported", "cpt"}, source,
                   required=("modalities", "regions", "contrast", "cpt"))

        def rx(pattern, where):
            try:
                return re.compile(pattern, re.I)
            except re.error as exc:
                raise DataFileError(f"{source} {where}: bad regular expression ({exc})") from None

        normalise = tuple((rx(p, f"normalise[{i}]"), repl)
                          for i, (p, repl) in enumerate(data.get("normalise") or []))
        modalities = []
        for i, entry in enumerate(data["modalities"]):
            where = f"modalities[{i}]"
            check_keys(entry, {"modality", "pattern"}, f"{source} {where}", required=("modality", "pattern"))
            check_enum(entry["modality"], MODALITIES, f"{source} {where}", "modality")
            modalities.append((entry["modality"], rx(entry["pattern"], where)))
        regions = []
        for i, entry in enumerate(data["regions"]):
            where = f"regions[{i}]"
            check_keys(entry, {"regions", "pattern"}, f"{source} {where}", required=("regions", "pattern"))
            for r in entry["regions"]:
                check_enum(r, REGIONS, f"{source} {where}", "region")
            regions.append((tuple(entry["regions"]), rx(entry["pattern"], where)))
        contrast = data["contrast"]
        check_keys(contrast, {"with_and_without", "without", "with"}, f"{source} contrast",
                   required=("with_and_without", "without", "with"))
        no_contrast = frozenset(data.get("contrast_not_reported") or [])
        for m in no_contrast:
            check_enum(m, MODALITIES, f"{source} contrast_not_reported", "modality")
        cpt = {}
        for code, entry in (data["cpt"] or {}).items():
            where = f"{source} cpt {code}"
            check_keys(entry, {"modality", "region", "contrast"}, where,
                       required=("modality", "region", "contrast"))
            check_enum(entry["modality"], MODALITIES, where, "modality")
            check_enum(entry["region"], REGIONS, where, "region")
            if entry["contrast"] is not None:
                check_enum(entry["contrast"], CONTRASTS, where, "contrast")
            cpt[str(code)] = entry
        non_spine = data.get("non_spine") or {"pattern": r"(?!x)x"}
        check_keys(non_spine, {"pattern"}, f"{source} non_spine", required=("pattern",))
        return cls(
            normalise=normalise,
            modalities=tuple(modalities),
            regions=tuple(regions),
            non_spine=rx(non_spine["pattern"], "non_spine"),
            with_and_without=rx(contrast["with_and_without"], "contrast.with_and_without"),
            without=rx(contrast["without"], "contrast.without"),
            with_=rx(contrast["with"], "contrast.with"),
            no_contrast=no_contrast,
            cpt=cpt,
        )


@lru_cache(maxsize=4)
def load_lexicon(path=None):
    return OrderLexicon.from_dict(load_yaml("orders.yaml", path), source=str(path or "orders.yaml"))


def _result(raw, parsed, modality=None, contrast=None, regions=()):
    return {
        "raw": raw,
        "parsed": parsed,
        "modality": modality,
        "contrast": contrast,
        "regions": order_regions(regions),
    }


def _parse_cpt(raw, codes, lex):
    entries = [lex.cpt.get(c) for c in codes]
    if any(e is None for e in entries):
        return _result(raw, False)
    modalities = {e["modality"] for e in entries}
    contrasts = {e["contrast"] for e in entries}
    if len(modalities) != 1 or len(contrasts) != 1:
        # Mixed studies in one field: report unparsed rather than pick one.
        return _result(raw, False)
    return _result(raw, True, modalities.pop(), contrasts.pop(), [e["region"] for e in entries])


def parse_order(text_or_cpt, lexicon=None):
    """Parse an ordered study into ``{raw, parsed, modality, contrast, regions}``.

    Returns ``None`` when there is no order at all (``None``, NaN or blank).
    """
    if is_missing(text_or_cpt):
        return None
    if isinstance(text_or_cpt, float):
        text_or_cpt = str(int(text_or_cpt)) if text_or_cpt.is_integer() else str(text_or_cpt)
    if isinstance(text_or_cpt, int):
        text_or_cpt = str(text_or_cpt)
    if not isinstance(text_or_cpt, str):
        return _result(str(type(text_or_cpt).__name__), False)
    raw = text_or_cpt
    if not raw.strip():
        return None
    if lexicon is not None:
        return _parse_text(raw, lexicon)
    # Orders come from a procedure catalogue, so the same strings recur
    # millions of times in an audit; parse each once. A fresh copy each call.
    result = _parse_cached(raw)
    return dict(result, regions=list(result["regions"]))


@lru_cache(maxsize=8192)
def _parse_cached(raw):
    return _parse_text(raw, load_lexicon())


def _parse_text(raw, lex):
    if _CPT_ONLY_RE.match(raw):
        return _parse_cpt(raw, _CPT_RE.findall(raw), lex)

    text = " " + raw.lower() + " "
    for pattern, repl in lex.normalise:
        text = pattern.sub(repl, text)
    text = re.sub(r"\s+", " ", text).strip()

    modality = next((m for m, rx in lex.modalities if rx.search(text)), None)
    if modality is None:
        codes = _CPT_RE.findall(raw)
        if codes:  # "CPT 72148 MRI" style with extra words but no modality word
            return _parse_cpt(raw, codes, lex)
        return _result(raw, False)

    regions = []
    for names, rx in lex.regions:
        if rx.search(text):
            regions.extend(names)
    if not regions and lex.non_spine.search(text) and modality not in ("BONE_SCAN", "PET"):
        return _result(raw, False)

    contrast = None
    if modality not in lex.no_contrast:
        if lex.with_and_without.search(text):
            contrast = "WITH_AND_WITHOUT"
        else:
            has_wo = bool(lex.without.search(text))
            has_w = bool(lex.with_.search(text))
            if has_wo and has_w:
                contrast = "WITH_AND_WITHOUT"
            elif has_wo:
                contrast = "WITHOUT"
            elif has_w:
                contrast = "WITH"
    return _result(raw, True, modality, contrast, regions)
