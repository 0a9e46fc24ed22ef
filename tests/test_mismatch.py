"""Mismatch types (RULES.md section 4), each from the table's wording."""

import pytest

from pipeline import compare, parse_order, recommend

P = "present"
L, C, T = "LUMBAR", "CERVICAL", "THORACIC"


def check(concepts, order, regions=(L,), duration=None, age=None):
    return compare(recommend(concepts, duration, list(regions), age), parse_order(order))


CASES = [
    ("uncomplicated + any imaging: NOT_INDICATED only", {"FEVER": "negated"}, "MRI C-spine with contrast", [L],
     ["NOT_INDICATED"]),
    ("insufficient information + imaging", {}, "XR L-spine 2 views", [L], ["INSUFFICIENT_DOCUMENTATION"]),
    ("MRI first for trauma without neuro", {"TRAUMA": P}, "MRI C-spine w/o", [C], ["WRONG_MODALITY"]),
    ("bone scan for malignancy", {"CANCER_HISTORY": P}, "NM bone scan whole body", [L], ["WRONG_MODALITY"]),
    ("PET for malignancy", {"CANCER_HISTORY": P}, "PET/CT", [L], ["WRONG_MODALITY"]),
    ("CT for suspected infection", {"FEVER": P}, "CT L-spine wo", [L], ["WRONG_MODALITY"]),
    ("contrast only where with-and-without is due", {"FEVER": P}, "MRI L spine with contrast", [L],
     ["CONTRAST_ONLY"]),
    ("contrast only where no contrast is due: two types", {"NEURO_DEFICIT": P}, "72149", [L],
     ["CONTRAST_ONLY", "UNNECESSARY_CONTRAST"]),
    ("missing contrast", {"FEVER": P}, "MRI L-spine w/o", [L], ["MISSING_CONTRAST"]),
    ("unnecessary contrast", {"FAILED_CONSERVATIVE_THERAPY": P}, "MRI L spine w/wo", [L],
     ["UNNECESSARY_CONTRAST"]),
    ("gadolinium safety replaces missing/unnecessary",
     {"FEVER": P, "RENAL_IMPAIRMENT": P}, "MRI L spine w/wo", [L], ["GADOLINIUM_SAFETY"]),
    ("gadolinium safety with contrast only",
     {"FEVER": P, "RENAL_IMPAIRMENT": P}, "72149", [L], ["CONTRAST_ONLY", "GADOLINIUM_SAFETY"]),
    ("gadolinium avoided and MRI without ordered: match",
     {"FEVER": P, "RENAL_IMPAIRMENT": P}, "MRI L-spine w/o", [L], []),
    ("MRI ordered when MRI is unsafe", {"NEURO_DEFICIT": P, "MRI_CONTRAINDICATION": P}, "MRI L-spine w/o", [L],
     ["MRI_SAFETY"]),
    ("CT myelography when MRI is unsafe is an alternative",
     {"NEURO_DEFICIT": P, "MRI_CONTRAINDICATION": P}, "CT myelogram L-spine", [L], []),
    ("CT myelography when MRI is safe is wrong modality", {"NEURO_DEFICIT": P}, "CT myelogram L-spine", [L],
     ["WRONG_MODALITY"]),
    ("incomplete coverage", {"CANCER_HISTORY": P}, "MRI T-spine w/wo", [T], ["INCOMPLETE_COVERAGE"]),
    ("complete coverage by three CPT codes", {"CANCER_HISTORY": P}, "72156, 72157, 72158", [T], []),
    ("wrong region", {"FAILED_CONSERVATIVE_THERAPY": P}, "MRI C-spine w/o", [L], ["WRONG_REGION"]),
    ("one of several recommended regions is enough", {"NEURO_DEFICIT": P}, "MRI L-spine w/o", [T, L], []),
    ("no region in the note: any region accepted", {"NEURO_DEFICIT": P}, "MRI C-spine w/o", [], []),
    ("order with no region raises no region type", {"CANCER_HISTORY": P}, "MRI spine area of interest w/wo",
     [L], []),
    ("order with no contrast raises no contrast type", {"FEVER": P}, "MRI L-spine", [L], []),
    ("wrong modality suppresses contrast and region types", {"TRAUMA": P}, "MRI L-spine with contrast", [C],
     ["WRONG_MODALITY"]),
    ("MRI matching the trauma alternative is compared on contrast with it",
     {"TRAUMA": P, "NEURO_DEFICIT": P}, "72156", [C], ["UNNECESSARY_CONTRAST"]),
    ("exact alternative (post-surgical CT) compared on region only",
     {"PRIOR_SPINE_SURGERY": P}, "CT L-spine wo", [L], []),
    ("exact alternative in the wrong region", {"PRIOR_SPINE_SURGERY": P}, "XR C-spine 2 views", [L],
     ["WRONG_REGION"]),
    ("radiographs for inflammatory back pain are an alternative", {"INFLAMMATORY_SPONDYLOARTHROPATHY": P},
     "72100", [L], []),
    ("radiographs for cauda equina are wrong modality", {"CAUDA_EQUINA": P}, "72100", [L], ["WRONG_MODALITY"]),
    ("MRI with and without for neuro deficit is an alternative", {"NEURO_DEFICIT": P}, "MRI L-spine w/wo", [L], []),
    ("CT for trauma after a negative CT is wrong", {"TRAUMA": P, "PRIOR_SPINE_CT": P}, "CT C-spine wo", [C],
     ["WRONG_MODALITY"]),
    ("MRI safety plus missing contrast are both reported",
     {"FEVER": P, "MRI_CONTRAINDICATION": P}, "MRI L-spine w/o", [L], ["MISSING_CONTRAST", "MRI_SAFETY"]),
]


# RULES.md revision 2 (fracture risk, age, safety types in every category).
# (name, concepts, order, regions, age, expected types)
CASES_R2 = [
    ("standing-height fall, radiographs: match", {"LOW_ENERGY_TRAUMA": P}, "XR L-spine 2 views", [L], 84, []),
    ("standing-height fall, MRI without: an alternative", {"LOW_ENERGY_TRAUMA": P}, "MRI L-spine w/o", [L], 84, []),
    ("standing-height fall, CT without: an alternative", {"LOW_ENERGY_TRAUMA": P}, "CT L-spine wo", [L], 84, []),
    ("fracture risk, MRI with and without: compared on contrast with the MRI alternative",
     {"OSTEOPOROSIS": P}, "MRI L-spine w/wo", [L], None, ["UNNECESSARY_CONTRAST"]),
    ("fracture risk, bone scan: wrong modality", {"OSTEOPOROSIS": P}, "NM bone scan whole body", [L], None,
     ["WRONG_MODALITY"]),
    ("elderly with new back pain, radiographs: match (not NOT_INDICATED)", {}, "72100", [L], 80, []),
    ("radiographs of the wrong region under fracture risk", {"CHRONIC_STEROID_USE": P}, "XR C-spine 2 views",
     [L], None, ["WRONG_REGION"]),
    ("known compression fracture, MRI with and without: unnecessary contrast",
     {"KNOWN_COMPRESSION_FRACTURE": P}, "MRI L-spine w/wo", [L], None, ["UNNECESSARY_CONTRAST"]),
    ("known compression fracture, radiographs again: wrong modality", {"KNOWN_COMPRESSION_FRACTURE": P},
     "XR L-spine 2 views", [L], None, ["WRONG_MODALITY"]),
    ("known compression fracture, CT without: the alternative", {"KNOWN_COMPRESSION_FRACTURE": P}, "CT L-spine wo",
     [L], None, []),
    ("low-energy fall with neck pain, MRI first: wrong modality", {"LOW_ENERGY_TRAUMA": P}, "MRI C-spine w/o", [C],
     80, ["WRONG_MODALITY"]),
    ("inflammatory back pain, MRI without: an alternative", {"INFLAMMATORY_SPONDYLOARTHROPATHY": P},
     "MRI SI joints w/o", [L], None, []),
    ("renal failure, MRI with contrast, insufficient information: both types",
     {"RENAL_IMPAIRMENT": P}, "MRI L-spine w/wo", [L], None, ["GADOLINIUM_SAFETY", "INSUFFICIENT_DOCUMENTATION"]),
    ("renal failure, MRI with contrast, uncomplicated: both types",
     {"RENAL_IMPAIRMENT": P, "FEVER": "negated"}, "MRI L-spine w/wo", [L], None,
     ["GADOLINIUM_SAFETY", "NOT_INDICATED"]),
    ("renal failure, MRI without, uncomplicated: not indicated only",
     {"RENAL_IMPAIRMENT": P, "FEVER": "negated"}, "MRI L-spine w/o", [L], None, ["NOT_INDICATED"]),
    ("renal failure, MRI with contrast for trauma: wrong modality and gadolinium safety",
     {"TRAUMA": P, "RENAL_IMPAIRMENT": P}, "MRI C-spine w/wo", [C], None, ["GADOLINIUM_SAFETY", "WRONG_MODALITY"]),
    ("pacemaker, MRI for trauma: wrong modality and MRI safety",
     {"TRAUMA": P, "MRI_CONTRAINDICATION": P}, "MRI C-spine w/o", [C], None, ["MRI_SAFETY", "WRONG_MODALITY"]),
    ("pacemaker, MRI with insufficient information: both types",
     {"MRI_CONTRAINDICATION": P}, "MRI L-spine", [L], None, ["INSUFFICIENT_DOCUMENTATION", "MRI_SAFETY"]),
    ("pacemaker, CT for trauma: match", {"TRAUMA": P, "MRI_CONTRAINDICATION": P}, "CT C-spine wo", [C], None, []),
    ("pacemaker, radiographs under fracture risk: match", {"OSTEOPOROSIS": P, "MRI_CONTRAINDICATION": P},
     "XR L-spine 2 views", [L], None, []),
]


@pytest.mark.parametrize("name,concepts,order,regions,age,expected", CASES_R2, ids=[c[0] for c in CASES_R2])
def test_mismatch_revision2_case(name, concepts, order, regions, age, expected):
    assert check(concepts, order, regions, age=age) == sorted(expected)


@pytest.mark.parametrize("name,concepts,order,regions,expected", CASES, ids=[c[0] for c in CASES])
def test_mismatch_case(name, concepts, order, regions, expected):
    assert check(concepts, order, regions) == sorted(expected)


def test_mismatch_every_type_covered():
    from pipeline.vocab import MISMATCH_TYPES
    assert {t for case in CASES for t in case[4]} == set(MISMATCH_TYPES)


def test_mismatch_unparsed_or_absent_order_is_not_compared():
    r = recommend({"FEVER": P}, None, [L])
    assert compare(r, parse_order("please image")) is None
    assert compare(r, None) is None


def test_mismatch_reproduce_dev_gold(dev_rows):
    n = 0
    for row in dev_rows:
        g = row["gold"]
        if g.get("mismatch_types") is None:
            continue
        r = recommend(g["concepts"], g.get("duration_weeks"), g.get("regions") or [], g.get("age_years"))
        assert compare(r, parse_order(row["ordered"])) == sorted(g["mismatch_types"]), row["id"]
        n += 1
    assert n >= 50
