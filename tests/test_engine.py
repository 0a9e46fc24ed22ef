"""The one-pass extractor (issue 14) beside the component pipeline it replaces
on the hot path. The full equivalence is tests/test_golden.py; these pin the
parts with their own behaviour."""

import pytest

from pipeline.extract import extract_spine, extract_spine_components, spine_nlp

TEXTS = [
    "58M h/o prostate ca, new mid back pain x 2 wks, denies fever. No saddle anaesthesia.",
    "Fever 39, IVDU, LBP, r/o epidural abscess. Mother had breast cancer. Will consider surgery.",
    "No improvement with PT; has weakness in both legs and urinary retention.",
    "FHx: father w/ myeloma - pt anxious\nHPI: LBP 3/52, no trauma, no fever",
    "CT C SPINE WO CONTRAST. Neck pain after MVC, midline tenderness.",
    "Caf\u00e9 owner, 70\u00a0yo, fall from standing \u2013 T12 pain, osteoporosis on alendronate.",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_one_pass_equals_the_component_pipeline(text):
    assert extract_spine(text) == extract_spine_components(text)


def test_spine_audit_component_gives_span_groups_and_the_same_result():
    nlp = spine_nlp()
    assert nlp.pipe_names == ["spine_audit"]
    text = TEXTS[1]
    doc = nlp(text)
    assert doc._.spine == extract_spine(text)
    spans = {(s.label_, s.text, s.id_) for s in doc.spans["spine_concepts"]}
    assert ("IV_DRUG_USE", "IVDU") in {(lab, t) for lab, t, _ in spans}
    assert all(pid for _, _, pid in spans)
    ev = {(e["concept"], e["start"], e["end"]) for e in doc._.spine["evidence"]}
    assert {(s.label_, s.start_char, s.end_char) for s in doc.spans["spine_concepts"]} >= ev
    neck = nlp("Neck pain, C5 radiculopathy.")
    assert {s.label_ for s in neck.spans["spine_regions"]} == {"REGION_CERVICAL"}  # "Neck" and "C5"
