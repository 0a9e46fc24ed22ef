"""`spine-audit explain`: one note's matches, patterns, cues and statuses,
for a clinician editing the lexicon (issue 10)."""

import json
import subprocess
import sys

from pipeline.explain import explain, format_explanation

NOTE = ("82F h/o BCC. Mechanical fall from standing at home, LBP radiating down the left leg x 3/52. "
        "Denies fever. Mother had breast cancer. On haemodialysis.")


def _match(e, concept):
    return [m for m in e["matches"] if m["concept"] == concept]


def test_explain_lists_each_match_with_pattern_status_and_reason(nlp):
    e = explain(NOTE, nlp=nlp)
    fever = _match(e, "FEVER")[0]
    assert fever["pattern_id"] == "FEVER-WORD" and fever["pattern_kind"] == "phrase"
    assert fever["status"] == "negated" and "negation cue" in fever["why"]
    assert NOTE[fever["start"]:fever["end"]] == fever["text"] == "fever"
    cancer = _match(e, "CANCER_HISTORY")[0]
    assert cancer["status"] == "family" and "family" in cancer["why"]
    rad = {m["pattern_id"] for m in _match(e, "RADICULOPATHY")}
    assert "RAD-SYMPTOM-INTO-LIMB" in rad
    assert {m["pattern_kind"] for m in _match(e, "RADICULOPATHY")} >= {"tokens"}
    renal = _match(e, "RENAL_IMPAIRMENT")[0]
    assert renal["norm"] == "hemodialysis" and renal["text"] == "haemodialysis"


def test_explain_shows_dropped_matches_with_the_wording_that_dropped_them(nlp):
    e = explain(NOTE, nlp=nlp)
    dropped = {(d["concept"], d["pattern_id"]): d["why"] for d in e["dropped"]}
    assert "LET-WORD" in dropped[("TRAUMA", "TR-WORD")]                 # a standing fall overrides "fall"
    assert "does not count" in dropped[("CANCER_HISTORY", "CA-NOT-COUNTED")]  # skin BCC


def test_explain_shows_cues_with_scope_and_the_derived_fields(nlp):
    e = explain(NOTE, nlp=nlp)
    denies = [c for c in e["cues"] if c["text"] == "Denies"][0]
    assert denies["kind"] == "negation" and denies["type"] == "preceding"
    assert NOTE[denies["scope"][0]:denies["scope"][1]].startswith("Denies fever")
    assert any(c["kind"] == "family" and c["text"] == "Mother" for c in e["cues"])
    assert e["age"] == {"years": 82, "pattern_id": "AGE-SEX", "text": "82F", "start": 0, "end": 3}
    assert e["duration"]["weeks"] == 3.0 and e["duration"]["text"].startswith("3/52")
    assert any(r["region"] == "LUMBAR" and r["counted"] for r in e["regions"])
    assert e["result"]["concepts"]["LOW_ENERGY_TRAUMA"] == "present"
    assert {"text": "haemodialysis", "norm": "hemodialysis", "start": NOTE.index("haemodialysis")} \
        in e["normalised_words"]


def test_explain_agrees_with_the_extractor(nlp):
    e = explain(NOTE, nlp=nlp)
    spine = nlp(NOTE)._.spine
    assert e["result"]["concepts"] == spine["concepts"]
    counted = {(m["concept"], m["start"], m["end"]) for m in e["matches"] if m["counted"]}
    assert counted == {(ev["concept"], ev["start"], ev["end"]) for ev in spine["evidence"]}


def test_explain_text_is_readable_and_json_is_parseable():
    text = format_explanation(explain(NOTE))
    for heading in ("SENTENCES", "MATCHES", "DROPPED MATCHES", "ASSERTION CUES", "REGIONS", "AGE 82", "RESULT"):
        assert heading in text
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "explain", NOTE, "--json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["result"]["age_years"] == 82
    plain = subprocess.run([sys.executable, "-m", "pipeline.cli", "explain", "Denies fever."],
                           capture_output=True, text=True, check=True).stdout
    assert "FEVER" in plain and "negated" in plain
