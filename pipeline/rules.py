"""Guideline rules engine: concepts -> recommendation (RULES.md sections 2, 5).

The decision table is ``data/rules.yaml``. This module validates it on load
(unknown keys, concepts, flags or enum values raise ``DataFileError`` naming
the rule) and evaluates it. It imports nothing heavy: ``recommend`` depends
only on its arguments, so the rules can be checked on gold concepts alone.
"""

import numbers
from dataclasses import dataclass, field
from functools import lru_cache

from .errors import DataFileError
from .resources import check_enum, check_keys, load_yaml
from .vocab import (
    CATEGORIES, COMPLETE, CONCEPTS, CONTRASTS, FLAGS, MODALITIES, RECOMMENDED_MODALITIES,
    REGIONS, STATUSES, URGENCIES, is_missing, order_regions,
)

_CONCEPT_KEYS = ("present", "any_present", "any_negated")


# --------------------------------------------------------------------------- #
# Conditions
# --------------------------------------------------------------------------- #

@dataclass
class _Facts:
    concepts: dict
    duration_weeks: object
    regions: list
    age_years: object = None
    flags: dict = field(default_factory=dict)
    category: object = None
    modality: object = None


def _check_condition(cond, where, flag_names):
    """Validate a condition tree; returns it unchanged."""
    if cond is True:
        return cond
    if isinstance(cond, str):
        if cond not in flag_names:
            raise DataFileError(f"{where}: unknown derived flag {cond!r} (defined so far: {sorted(flag_names)})")
        return cond
    if not isinstance(cond, dict) or len(cond) != 1:
        raise DataFileError(f"{where}: a condition is true, a flag name or a mapping with one key")
    (key, arg), = cond.items()
    if key in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise DataFileError(f"{where}: '{key}' takes a non-empty list")
        for i, c in enumerate(arg):
            _check_condition(c, f"{where}.{key}[{i}]", flag_names)
    elif key == "not":
        _check_condition(arg, f"{where}.not", flag_names)
    elif key == "present":
        check_enum(arg, CONCEPTS, where, "concept")
    elif key in ("any_present", "any_negated"):
        for c in arg:
            check_enum(c, CONCEPTS, where, "concept")
    elif key == "duration_lt":
        if not isinstance(arg, (int, float)):
            raise DataFileError(f"{where}: duration_lt takes a number of weeks")
    elif key == "age_gt":
        if not isinstance(arg, (int, float)) or isinstance(arg, bool):
            raise DataFileError(f"{where}: age_gt takes a number of years")
    elif key == "no_regions":
        if arg is not True:
            raise DataFileError(f"{where}: no_regions takes true")
    elif key == "region_in":
        for r in arg:
            check_enum(r, REGIONS, where, "region")
    elif key == "category_in":
        for c in arg:
            check_enum(c, CATEGORIES, where, "category")
    elif key == "modality_in":
        for m in arg:
            check_enum(m, RECOMMENDED_MODALITIES, where, "modality")
    else:
        raise DataFileError(f"{where}: unknown condition {key!r}")
    return cond


def _compile(cond):
    """A validated condition as a function of the facts (built once per rule
    file, not interpreted on every decision)."""
    if cond is True:
        return lambda f: True
    if isinstance(cond, str):
        return lambda f: f.flags[cond]
    (key, arg), = cond.items()
    if key in ("all", "any"):
        tests = tuple(_compile(c) for c in arg)
        if key == "all":
            return lambda f: all(t(f) for t in tests)
        return lambda f: any(t(f) for t in tests)
    if key == "not":
        test = _compile(arg)
        return lambda f: not test(f)
    if key == "present":
        return lambda f: f.concepts.get(arg) == "present"
    if key in ("any_present", "any_negated"):
        wanted, names = ("present" if key == "any_present" else "negated"), tuple(arg)
        return lambda f: any(f.concepts.get(c) == wanted for c in names)
    if key == "duration_lt":
        return lambda f: f.duration_weeks is not None and f.duration_weeks < arg
    if key == "age_gt":
        return lambda f: f.age_years is not None and f.age_years > arg
    if key == "no_regions":
        return lambda f: not f.regions
    if key == "region_in":
        regions = tuple(arg)
        return lambda f: any(r in f.regions for r in regions)
    if key == "category_in":
        categories = tuple(arg)
        return lambda f: f.category in categories
    if key == "modality_in":
        modalities = tuple(arg)
        return lambda f: f.modality in modalities
    raise AssertionError(key)  # validated on load


# --------------------------------------------------------------------------- #
# Rule table
# --------------------------------------------------------------------------- #

@dataclass(frozen=True)
class Rule:
    id: str
    when: object
    value: object = None
    cite: tuple = ()
    extra: dict = field(default_factory=dict)


_STAGES = {
    # stage: (value key, allowed extra keys)
    "derived": ("name", set()),
    "categories": ("category", {"fallback"}),
    "modality": ("modality", set()),
    "contrast": ("contrast", set()),
    "regions": ("regions", set()),
    "implied_regions": ("add", set()),
    "urgency": ("urgency", set()),
    "alternatives": ("add", set()),
    "flags": ("flag", {"set_contrast", "drop_contrast_alternatives", "add_alternatives", "effects_when"}),
}


class RuleSet:
    """A validated decision table."""

    def __init__(self, data, source="rules.yaml"):
        check_keys(data, {"version", "sources"} | set(_STAGES), source,
                   required=("sources",) + tuple(_STAGES))
        self.source = source
        self._memo = {}
        self.sources = {}
        for sid, s in (data["sources"] or {}).items():
            check_keys(s, {"file", "title"}, f"{source} sources.{sid}", required=("title",))
            self.sources[sid] = s
        flag_names = set()
        seen_ids = set()
        self.stages = {}
        self._described = {}
        for stage, (value_key, extra_keys) in _STAGES.items():
            rules = []
            for i, raw in enumerate(data[stage] or []):
                rid = raw.get("id") if isinstance(raw, dict) else None
                where = f"{source} rule {rid or f'{stage}[{i}]'}"
                check_keys(raw, {"id", "when", "cite", "title", value_key} | extra_keys, where,
                           required=("id", "when", value_key))
                if rid in seen_ids:
                    raise DataFileError(f"{where}: duplicate rule id")
                seen_ids.add(rid)
                when = _check_condition(raw["when"], where, flag_names)
                if "effects_when" in raw:
                    _check_condition(raw["effects_when"], f"{where}.effects_when", flag_names)
                value = self._check_value(stage, raw[value_key], raw, where)
                cite = tuple(self._check_cite(c, where) for c in raw.get("cite") or [])
                rules.append(Rule(rid, when, value, cite, {k: raw[k] for k in extra_keys if k in raw}))
                self._described[rid] = {
                    "id": rid, "stage": stage,
                    "title": str(raw.get("title") or _auto_title(stage, raw[value_key])),
                    "sources": [self._readable_cite(c) for c in raw.get("cite") or []],
                }
                if stage == "derived":
                    flag_names.add(value)
            self.stages[stage] = tuple(rules)
        self._check_complete()
        # Age enters the rules only through `age_gt` thresholds: memoise on
        # which thresholds an age passes, not on the age itself.
        self._age_thresholds = tuple(sorted(set(_thresholds(data, "age_gt"))))
        self._duration_thresholds = tuple(sorted(set(_thresholds(data, "duration_lt"))))
        # every condition compiled once, by the identity of its node
        self._tests = {}
        for rules in self.stages.values():
            for rule in rules:
                for cond in (rule.when, rule.extra.get("effects_when")):
                    if cond is not None:
                        self._tests[id(cond)] = _compile(cond)

    @staticmethod
    def _check_alternatives(alts, where):
        out = []
        for a in alts:
            check_keys(a, {"modality", "contrast"}, where, required=("modality", "contrast"))
            check_enum(a["modality"], MODALITIES, where, "modality")
            if a["contrast"] is not None:
                check_enum(a["contrast"], CONTRASTS, where, "contrast")
            out.append({"modality": a["modality"], "contrast": a["contrast"]})
        return tuple(out)

    def _check_value(self, stage, value, raw, where):
        if stage == "derived":
            if not isinstance(value, str) or not value.isidentifier():
                raise DataFileError(f"{where}: a derived flag name must be an identifier")
        elif stage == "categories":
            check_enum(value, CATEGORIES, where, "category")
        elif stage == "modality":
            check_enum(value, RECOMMENDED_MODALITIES, where, "modality")
        elif stage == "contrast":
            if value == "WITH":
                raise DataFileError(f"{where}: contrast-only (WITH) is never recommended")
            if value is not None:
                check_enum(value, CONTRASTS, where, "contrast")
        elif stage == "regions":
            check_enum(value, ("NONE", COMPLETE, "SYMPTOMATIC"), where, "regions")
        elif stage == "implied_regions":
            check_enum(value, REGIONS, where, "region")
        elif stage == "urgency":
            check_enum(value, URGENCIES, where, "urgency")
        elif stage == "alternatives":
            value = self._check_alternatives(value, where)
        elif stage == "flags":
            check_enum(value, FLAGS, where, "flag")
            if "set_contrast" in raw:
                check_enum(raw["set_contrast"], ("WITHOUT",), where, "set_contrast")
            if "add_alternatives" in raw:
                raw["add_alternatives"] = self._check_alternatives(raw["add_alternatives"], where)
        return value

    def _check_cite(self, cite, where):
        check_keys(cite, {"source", "quote", "variant"}, f"{where} cite", required=("source",))
        if cite["source"] not in self.sources:
            raise DataFileError(f"{where}: cites unknown source {cite['source']!r}")
        src = self.sources[cite["source"]]
        text = src.get("file") or src["title"]
        if "variant" in cite:
            text = f"{src['title']}, variant {cite['variant']}"
        if "quote" in cite:
            text = f"{text}: \"{cite['quote']}\""
        return text

    def _readable_cite(self, cite):
        """A citation for people: the source's title (never its file name),
        the ACR variant and the quoted passage when the rule gives them."""
        src = self.sources[cite["source"]]
        return {"source": cite["source"], "title": src["title"], "variant": cite.get("variant"),
                "quote": cite.get("quote")}

    def describe(self, rule_ids):
        """Each rule id with its title and readable sources (for reviewers)."""
        out = []
        for rid in rule_ids:
            d = self._described.get(rid)
            out.append(dict(d, sources=[dict(c) for c in d["sources"]]) if d else
                       {"id": rid, "stage": None, "title": "(rule not in this rule file)", "sources": []})
        return out

    def _check_complete(self):
        """Each first-match stage must end in a catch-all, so every input gets a value."""
        for stage in ("categories", "modality", "contrast", "regions", "urgency"):
            rules = self.stages[stage]
            if not rules or rules[-1].when is not True:
                raise DataFileError(f"{self.source}: the last rule of '{stage}' must have `when: true`")

    # ------------------------------------------------------------------ #

    def recommend(self, concepts, duration_weeks=None, regions=(), age_years=None):
        concepts = _check_concepts(concepts)
        regions = order_regions(_check_regions(regions))
        duration = _check_duration(duration_weeks)
        age = _check_age(age_years)
        # The same few hundred fact sets recur across an audit: decide each
        # once. Age and duration enter the rules only through their
        # thresholds (age_gt, duration_lt), so they are keyed by which side
        # of each threshold they fall on.
        age_key = None if age is None else tuple(age > t for t in self._age_thresholds)
        duration_key = None if duration is None else tuple(duration < t for t in self._duration_thresholds)
        key = (frozenset(concepts.items()), duration_key, tuple(regions), age_key)
        rec = self._memo.get(key)
        if rec is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            rec = self._memo[key] = self._decide(concepts, duration, regions, age)
        return _copy_recommendation(rec)

    def _holds(self, cond, facts):
        return self._tests[id(cond)](facts)

    def _decide(self, concepts, duration, regions, age=None):
        facts = _Facts(concepts, duration, regions, age)
        fired = []

        for rule in self.stages["derived"]:
            facts.flags[rule.value] = self._holds(rule.when, facts)
            if facts.flags[rule.value]:
                fired.append(rule)

        category, scenarios = None, []
        for rule in self.stages["categories"]:
            fallback = rule.extra.get("fallback", False)
            if fallback and category is not None:
                continue
            if self._holds(rule.when, facts):
                if category is None:
                    category = rule.value
                    fired.append(rule)
                if not fallback:
                    scenarios.append(rule.value)
        if not scenarios:
            scenarios = [category]
        facts.category = category

        def first(stage):
            for rule in self.stages[stage]:
                if self._holds(rule.when, facts):
                    fired.append(rule)
                    return rule
            raise AssertionError(stage)  # catch-all guaranteed on load

        facts.modality = modality = first("modality").value
        contrast = first("contrast").value
        region_mode = first("regions").value
        if region_mode == "NONE":
            rec_regions = []
        elif region_mode == COMPLETE:
            rec_regions = [COMPLETE]
        else:
            extra = []
            for rule in self.stages["implied_regions"]:
                if self._holds(rule.when, facts):
                    fired.append(rule)
                    extra.append(rule.value)
            rec_regions = order_regions(regions + extra)
        urgency = first("urgency").value

        alternatives = []
        for rule in self.stages["alternatives"]:
            if self._holds(rule.when, facts):
                fired.append(rule)
                alternatives.extend(rule.value)

        flags = []
        for rule in self.stages["flags"]:
            if not self._holds(rule.when, facts):
                continue
            fired.append(rule)
            flags.append(rule.value)
            if "effects_when" in rule.extra and not self._holds(rule.extra["effects_when"], facts):
                continue  # the flag holds; its effects on the protocol do not apply here
            if "set_contrast" in rule.extra:
                contrast = rule.extra["set_contrast"]
            alternatives.extend(rule.extra.get("add_alternatives", ()))
            if rule.extra.get("drop_contrast_alternatives"):
                alternatives = [a for a in alternatives if a["contrast"] not in ("WITH", "WITH_AND_WITHOUT")]

        unique = []
        for a in alternatives:
            same_as_first_choice = a["modality"] == modality and a["contrast"] == contrast
            if a not in unique and not same_as_first_choice:
                unique.append(dict(a))

        citations = []
        for rule in fired:
            for c in rule.cite:
                if c not in citations:
                    citations.append(c)
        return {
            "category": category,
            "scenarios": scenarios,
            "modality": modality,
            "contrast": contrast,
            "regions": rec_regions,
            "urgency": urgency,
            "flags": flags,
            "alternatives": unique,
            "rule_ids": [r.id for r in fired],
            "citations": citations,
        }


_MEMO_SIZE = 8192


def _copy_recommendation(rec):
    """A copy whose lists and alternatives the caller may change freely."""
    out = {k: list(v) if isinstance(v, list) else v for k, v in rec.items()}
    out["alternatives"] = [dict(a) for a in rec["alternatives"]]
    return out


def _check_concepts(concepts):
    if concepts is None:
        return {}
    if not isinstance(concepts, dict):
        raise TypeError("concepts must be a mapping of concept id to status")
    for cid, status in concepts.items():
        if cid not in CONCEPTS:
            raise ValueError(f"unknown concept id {cid!r}")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r} for {cid}")
    return concepts


def _check_regions(regions):
    regions = list(regions or [])
    for r in regions:
        if r not in REGIONS:
            raise ValueError(f"unknown region {r!r}")
    return regions


def _check_age(age_years):
    if is_missing(age_years):
        return None
    if isinstance(age_years, bool) or not isinstance(age_years, numbers.Real):
        raise ValueError("age_years must be a number of years or None")
    return age_years


def _thresholds(node, condition):
    """Every threshold of ``condition`` ("age_gt", "duration_lt") in the rule file."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == condition:
                yield v
            else:
                yield from _thresholds(v, condition)
    elif isinstance(node, list):
        for v in node:
            yield from _thresholds(v, condition)


def _check_duration(duration_weeks):
    if is_missing(duration_weeks):
        return None
    return float(duration_weeks)


_STAGE_TITLES = {
    "derived": "Finding: {}", "categories": "Clinical category: {}", "modality": "Recommended modality: {}",
    "contrast": "Contrast: {}", "regions": "Regions to image: {}", "implied_regions": "Region implied: {}",
    "urgency": "Urgency: {}", "alternatives": "Also acceptable: {}", "flags": "Flag: {}",
}


def _auto_title(stage, value):
    """A rule's title from its stage and value, when the file gives none."""
    if stage == "alternatives":
        value = ", ".join(f"{a['modality']}{' ' + a['contrast'] if a.get('contrast') else ''}" for a in value)
    elif stage == "derived":
        value = str(value).replace("_", " ")
    elif value is None:
        value = "not applicable"
    elif stage == "modality":
        value = str(value).replace("_", " ")
    else:
        value = str(value).replace("_", " ").lower()
    return _STAGE_TITLES[stage].format(value)


@lru_cache(maxsize=4)
def load_rules(path=None):
    return RuleSet(load_yaml("rules.yaml", path), source=str(path or "rules.yaml"))


def recommend(concepts, duration_weeks=None, regions=(), age_years=None, rules=None):
    """The guideline recommendation for extracted concepts (FORMATS.md object)."""
    return (rules or load_rules()).recommend(concepts, duration_weeks, regions, age_years)
