"""The QA report in a real browser (headless Chromium from Debian's packages):
it renders, filtering works, and note text with <script> stays text."""

import json

import pytest

from pipeline.audit import AuditOptions, run_audit

NOTES = [
    {"id": "x1", "text": "<script>window.__pwned = 1; document.title='pwned'</script> Fever 39, LBP, r/o epidural "
                         "abscess. <img src=x onerror=\"window.__pwned=2\">", "ordered": "MRI L-spine w/o"},
    {"id": "x2", "text": "Assault, neck pain, midline tenderness C5. Neuro intact.", "ordered": "MRI C-spine w/o"},
    {"id": "x3", "text": "ESRD on HD, fever 38.9, mid back pain, r/o discitis.", "ordered": "MRI T-spine w/wo"},
    {"id": "x4", "text": "LBP x 3 days. No fever. Mother had breast cancer. Return if weakness develops.",
     "ordered": "72148"},
    {"id": "x5", "text": "LBP x 2 wks, no red flags.", "ordered": None},
    {"id": "x6", "text": "   ", "ordered": "MRI L-spine"},
    {"id": "x7", "text": "LBP x 2 wks, no fever.", "ordered": "spine pictures please"},
    {"id": "x8", "text": "LBP x 3 wks, no fever.", "ordered": "spine  pictures please"},
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps(n) + "\n" for n in NOTES))
    out = tmp / "report.html"
    run_audit(src, out, AuditOptions(quiet=True))
    return out


def test_report_is_self_contained_and_escaped(report):
    html = report.read_text()
    assert "<script>window.__pwned" not in html
    assert "&lt;script&gt;window.__pwned" in html
    assert "http://" not in html and "https://" not in html  # no CDN, no network
    assert "<link" not in html and "src=" not in html.replace("src=x", "")


def test_report_explains_flags_and_lists_problems(report):
    import csv
    import io
    import re
    import urllib.parse
    html = report.read_text()
    # plain-language reasons and readable source titles, not file names
    assert "MRI ordered without contrast; suspected spinal infection needs without and with contrast" in html
    assert "Why is an MRI of the spine recommended?" in html
    assert ".txt" not in html
    # bars are proportional to the share of compared orders
    widths = [float(w) for w in re.findall(r"class='bar' style='width:([0-9.]+)%'", html)]
    assert widths and max(widths) <= 100
    # the error row and the unparsed spellings are listed (spaces normalised, counted)
    errors = html[html.index("id='errors'"):html.index("Unparsed orders")]
    assert ">x6<" in errors
    unparsed = html[html.index("id='unparsed'"):]
    assert "<td>spine pictures please</td><td>2</td>" in unparsed
    # the CSV download holds the flagged list, without note text
    href = re.search(r"id='csv-download' download='flagged_referrals.csv' href='data:text/csv;charset=utf-8,([^']*)'",
                     html).group(1)
    text = urllib.parse.unquote(href.replace("&amp;", "&"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["id"] for r in rows} == {"x1", "x2", "x3", "x4"}
    assert "__pwned" not in text
    assert any("suspected spinal infection" in r["reasons"] for r in rows)


def _visible_ids(driver):
    from selenium.webdriver.common.by import By
    return [r.find_elements(By.TAG_NAME, "td")[1].text
            for r in driver.find_elements(By.CSS_SELECTOR, "tr.flagged") if r.is_displayed()]


def test_report_renders_filters_and_does_not_run_injected_script(report, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    driver.get(report.as_uri())
    assert driver.title == "spine-audit QA report"
    assert driver.execute_script("return window.__pwned === undefined")
    # severity order: the gadolinium-safety referral (x3) first
    ids = _visible_ids(driver)
    assert ids[0] == "x3" and set(ids) == {"x1", "x2", "x3", "x4"}
    # the injected markup is shown as text inside the note
    notes = driver.find_elements(By.CSS_SELECTOR, ".note")
    assert any("<script>window.__pwned" in n.get_attribute("textContent") for n in notes)
    # evidence marks carry their status
    classes = {m.get_attribute("class") for m in driver.find_elements(By.CSS_SELECTOR, "mark")}
    assert {"st-present", "st-negated", "st-family", "st-hypothetical"} <= classes
    # filter by mismatch type, then by category
    Select(driver.find_element(By.ID, "f-type")).select_by_value("WRONG_MODALITY")
    assert _visible_ids(driver) == ["x2"]
    Select(driver.find_element(By.ID, "f-type")).select_by_value("")
    Select(driver.find_element(By.ID, "f-cat")).select_by_value("INFECTION")
    assert sorted(_visible_ids(driver)) == ["x1", "x3"]
    assert driver.find_element(By.ID, "f-n").text == "2"
