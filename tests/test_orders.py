"""Ordered-study parser (RULES.md section 3 and section 5 conventions)."""

import pytest

from pipeline import parse_order

C, T, L = "CERVICAL", "THORACIC", "LUMBAR"
ALL = [C, T, L]
W, WO, WW = "WITH", "WITHOUT", "WITH_AND_WITHOUT"

SPELLINGS = [
    # (order text, modality, contrast, regions)
    ("MRI L-spine w/o", "MRI", WO, [L]),
    ("MR LUMBAR SPINE WO CONTRAST", "MRI", WO, [L]),
    ("MRI C spine w/wo", "MRI", WW, [C]),
    ("MRI whole spine w+wo", "MRI", WW, ALL),
    ("CT c-spine non-con", "CT", WO, [C]),
    ("MRI T-spine w/ and w/o contrast", "MRI", WW, [T]),
    ("XR LS spine 2V", "XR", None, [L]),
    ("NM bone scan whole body", "BONE_SCAN", None, ALL),
    ("PET/CT", "PET", None, []),
    ("PET/CT skull base to mid-thigh", "PET", None, []),
    ("CT myelogram L-spine", "CT_MYELOGRAPHY", None, [L]),
    ("MRI spine area of interest without and with IV contrast", "MRI", WW, []),
    ("MRI total spine with and without", "MRI", WW, ALL),
    ("CT C-SPINE WO", "CT", WO, [C]),
    ("MRI cervical spine noncontrast", "MRI", WO, [C]),
    ("MRI L spine with contrast", "MRI", W, [L]),
    ("MRI lumbar spine without contrast", "MRI", WO, [L]),
    ("MRI lumbar w and w/o", "MRI", WW, [L]),
    ("MRI L spine wo/w", "MRI", WW, [L]),
    ("MRI C-spine w/wo contrast", "MRI", WW, [C]),
    ("MRI thoracic spine w/o", "MRI", WO, [T]),
    ("MR T-SPINE WO", "MRI", WO, [T]),
    ("MRI T spine without", "MRI", WO, [T]),
    ("MRI C spine wo", "MRI", WO, [C]),
    ("MRI complete spine w/wo", "MRI", WW, ALL),
    ("MRI entire spine with and without contrast", "MRI", WW, ALL),
    ("MRI C/T/L spine w/wo", "MRI", WW, ALL),
    ("CT MYELOGRAM C/T/L SPINE", "CT_MYELOGRAPHY", None, ALL),
    ("CT T-spine and L-spine wo", "CT", WO, [T, L]),
    ("CT thoracic spine without contrast", "CT", WO, [T]),
    ("CT lumbar spine w/o", "CT", WO, [L]),
    ("CT L-spine with contrast", "CT", W, [L]),
    ("CT cervical spine", "CT", None, [C]),
    ("MRI cervical spine", "MRI", None, [C]),
    ("MRI spine", "MRI", None, []),
    ("MRI L-spine", "MRI", None, [L]),
    ("mri lumbar spine w/ contrast", "MRI", W, [L]),
    ("MRI LUMBAR SPINE W WO CONTRAST", "MRI", WW, [L]),
    ("MRI lumbar spine wwo", "MRI", WW, [L]),
    ("MRI C-spine w/o & w contrast", "MRI", WW, [C]),
    ("MRI thoracolumbar spine w/o", "MRI", WO, [T, L]),
    ("MRI T/L spine without and with contrast", "MRI", WW, [T, L]),
    ("Magnetic resonance imaging lumbar spine without contrast", "MRI", WO, [L]),
    ("MRI lumbosacral spine unenhanced", "MRI", WO, [L]),
    ("MRI L-spine gad", "MRI", W, [L]),
    ("XR C-spine 2 views", "XR", None, [C]),
    ("X-ray lumbar spine AP/lateral", "XR", None, [L]),
    ("Xray thoracic spine", "XR", None, [T]),
    ("Radiographs L-spine flexion/extension", "XR", None, [L]),
    ("XR T-spine 3V", "XR", None, [T]),
    ("NM bone scan", "BONE_SCAN", None, []),
    ("Bone scan whole body", "BONE_SCAN", None, ALL),
    ("Nuclear medicine bone scintigraphy", "BONE_SCAN", None, []),
    ("PET-CT whole body", "PET", None, ALL),
    ("FDG PET", "PET", None, []),
    ("CT myelography lumbar spine", "CT_MYELOGRAPHY", None, [L]),
    ("CT myelogram cervical", "CT_MYELOGRAPHY", None, [C]),
    ("MRI cervical and thoracic spine w/o", "MRI", WO, [C, T]),
    ("MRI c-spine and l-spine w/wo", "MRI", WW, [C, L]),
    ("CT C SPINE WO CONTRAST", "CT", WO, [C]),
    ("MRI CERVICAL SPINE W/O CONTRAST", "MRI", WO, [C]),
    ("MRI L SPINE W/ CONTRAST", "MRI", W, [L]),
    # revision 2: the sacroiliac joints are compared as the lumbosacral region
    ("MRI sacroiliac joints without and with IV contrast", "MRI", WW, [L]),
    ("MRI SI joints", "MRI", None, [L]),
    ("XR sacroiliac joints", "XR", None, [L]),
    ("MRI SI joints w/o", "MRI", WO, [L]),
    ("XR SIJ 3 views", "XR", None, [L]),
    ("CT spine non contrast", "CT", WO, []),
]


@pytest.mark.parametrize("text,modality,contrast,regions", SPELLINGS)
def test_orders_parse_spellings(text, modality, contrast, regions):
    got = parse_order(text)
    assert got["parsed"] is True
    assert got["raw"] == text
    assert (got["modality"], got["contrast"], got["regions"]) == (modality, contrast, regions)


def test_orders_spelling_table_is_large_enough():
    assert len(SPELLINGS) >= 60


CPT = {
    "72141": ("MRI", C, WO), "72142": ("MRI", C, W), "72156": ("MRI", C, WW),
    "72146": ("MRI", T, WO), "72147": ("MRI", T, W), "72157": ("MRI", T, WW),
    "72148": ("MRI", L, WO), "72149": ("MRI", L, W), "72158": ("MRI", L, WW),
    "72125": ("CT", C, WO), "72126": ("CT", C, W), "72127": ("CT", C, WW),
    "72128": ("CT", T, WO), "72129": ("CT", T, W), "72130": ("CT", T, WW),
    "72131": ("CT", L, WO), "72132": ("CT", L, W), "72133": ("CT", L, WW),
    "72020": ("XR", C, None), "72040": ("XR", C, None), "72050": ("XR", C, None), "72052": ("XR", C, None),
    "72070": ("XR", T, None), "72072": ("XR", T, None), "72074": ("XR", T, None),
    "72100": ("XR", L, None), "72110": ("XR", L, None), "72114": ("XR", L, None), "72120": ("XR", L, None),
}


@pytest.mark.parametrize("code", sorted(CPT))
def test_orders_every_cpt_code(code):
    modality, region, contrast = CPT[code]
    got = parse_order(code)
    assert got["parsed"] is True
    assert (got["modality"], got["regions"], got["contrast"]) == (modality, [region], contrast)


def test_orders_cpt_as_integer_and_float():
    assert parse_order(72148)["modality"] == "MRI"
    assert parse_order(72148.0)["regions"] == [L]


def test_orders_several_cpt_codes_cover_several_regions():
    got = parse_order("72156, 72157, 72158")
    assert got["parsed"] and got["modality"] == "MRI" and got["contrast"] == WW
    assert got["regions"] == ALL


@pytest.mark.parametrize("text", [
    "72148, 72131",          # MRI and CT in one field: ambiguous
    "72141 72157",           # different contrasts in one field
    "79999",                 # unknown code
    "knee pain",             # no study at all
    "MRI brain w/o",         # not a spine study
    "CT head without contrast",
    "please image",
])
def test_orders_unparsable_is_never_guessed(text):
    got = parse_order(text)
    assert got["parsed"] is False
    assert got["modality"] is None and got["contrast"] is None and got["regions"] == []
    assert got["raw"] == text


@pytest.mark.parametrize("value", [None, "", "   ", float("nan")])
def test_orders_no_order_is_none(value):
    assert parse_order(value) is None


def test_orders_reproduce_dev_gold(dev_rows):
    checked = 0
    for row in dev_rows:
        gold = row["gold"].get("ordered_parsed")
        if gold is None:
            continue
        got = parse_order(row["ordered"])
        assert got["parsed"], row["id"]
        assert {k: got[k] for k in ("modality", "contrast", "regions")} == gold, row["id"]
        checked += 1
    assert checked >= 50


def test_orders_invalid_lexicon_names_the_entry(tmp_path):
    from pipeline.errors import DataFileError
    from pipeline.orders import load_lexicon
    bad = tmp_path / "orders.yaml"
    bad.write_text("modalities:\n  - {modality: ULTRASOUND, pattern: 'us'}\nregions: []\ncontrast: "
                   "{with_and_without: x, without: y, with: z}\ncpt: {}\n")
    with pytest.raises(DataFileError, match=r"modalities\[0\].*ULTRASOUND"):
        load_lexicon(str(bad))
