"""The review app in a real browser (headless Chromium, as the report test):
open the queue with the token, filter, confirm one referral by keyboard and
dismiss another with a reason, reload and see both decisions, export the
decisions from the page's own origin, and train on the export."""

import json
import threading

import pytest

from pipeline.review.app import create_app

from conftest import SAMPLES, audited_review_db, read_jsonl

TOKEN = "browser-token"


@pytest.fixture
def server(tmp_path):
    from waitress import create_server
    rows = [{"id": r["id"], "text": r["text"], "ordered": r["ordered"], "site": "north" if k % 2 else "south"}
            for k, r in enumerate(read_jsonl(SAMPLES))]
    rows.append({"id": "x-script", "text": "<script>window.__pwned=1</script> Fever 39, IVDU, LBP, r/o epidural "
                                           "abscess.", "ordered": "MRI L-spine w/o", "site": "north"})
    db, _ = audited_review_db(rows, tmp_path)
    srv = create_server(create_app(db, token=TOKEN), host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=srv.run, daemon=True).start()
    yield f"http://127.0.0.1:{srv.effective_port}", db, tmp_path
    srv.close()


def _wait_for(driver, element_id):
    """The element, once the page that holds it has loaded completely (its
    deferred script too: the keyboard shortcuts are attached by then)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait
    element = WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.ID, element_id)))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
    return element


def _then_new_page(driver, action, element_id):
    """Do ``action`` (a click or a key that navigates), wait until the old
    page is gone, then return ``element_id`` on the new page (the old page
    may hold an element with the same id)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait
    old = driver.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(driver, 10).until(ec.staleness_of(old))
    return _wait_for(driver, element_id)


def _apply_filter(driver):
    """Submit the filter form and wait for the new page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait
    old = driver.find_element(By.ID, "queue")
    driver.find_element(By.ID, "apply").click()
    WebDriverWait(driver, 10).until(ec.staleness_of(old))
    _wait_for(driver, "queue")


def _queue_ids(driver):
    from selenium.webdriver.common.by import By
    return [r.get_attribute("data-id") for r in driver.find_elements(By.CSS_SELECTOR, "tr.row")]


def test_review_in_the_browser(server, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
    base, db, tmp = server
    # without the token: refused
    driver.delete_all_cookies()
    driver.get(base + "/")
    assert "token is required" in driver.find_element(By.TAG_NAME, "body").text
    driver.get(base + f"/?token={TOKEN}")
    assert "token=" not in driver.current_url
    assert driver.title.startswith("Review queue")
    all_open = _queue_ids(driver)
    assert all_open and len(all_open) == db.health()["referrals"]

    # filter: mismatch type, then a carried column (site)
    Select(driver.find_element(By.NAME, "type")).select_by_value("MISSING_CONTRAST")
    _apply_filter(driver)
    want = [i["id"] for i in db.queue("open", type="MISSING_CONTRAST")["items"]]
    assert _queue_ids(driver) == want and "x-script" in want
    Select(driver.find_element(By.NAME, "f.site")).select_by_value("north")
    _apply_filter(driver)
    assert _queue_ids(driver) == [i["id"] for i in db.queue("open", type="MISSING_CONTRAST",
                                                               filters={"site": "north"})["items"]]

    # open the injected-script referral: evidence marked, script shown as text
    driver.get(base + "/referrals/x-script")
    assert driver.execute_script("return window.__pwned === undefined")
    note = driver.find_element(By.ID, "note")
    assert "<script>window.__pwned" in note.text
    assert note.find_elements(By.CSS_SELECTOR, "mark.st-present")
    assert "suspected spinal infection needs without and with contrast" in driver.find_element(By.ID, "reasons").text

    # confirm by keyboard: type the reviewer, leave the field, press c
    who = driver.find_element(By.ID, "reviewer")
    who.clear()
    who.send_keys("Dr Ann")
    driver.find_element(By.TAG_NAME, "body").click()
    saved = _then_new_page(driver, lambda: driver.find_element(By.TAG_NAME, "body").send_keys("c"), "saved")
    # saved, and moved on to the next open referral (the reviewer name is remembered)
    assert "Decision on x-script saved" in saved.text
    second = driver.current_url.rsplit("/referrals/", 1)[1].split("?")[0]
    assert second != "x-script"
    assert driver.find_element(By.ID, "reviewer").get_attribute("value") == "Dr Ann"

    # dismiss the next one with a reason: d ticks "dismiss" and focuses the reason list
    driver.find_element(By.TAG_NAME, "body").send_keys("d")
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "d-dismiss").is_selected())
    assert driver.switch_to.active_element.get_attribute("id") == "reason"
    Select(driver.find_element(By.ID, "reason")).select_by_value("PATIENT_FACTOR")
    driver.find_element(By.ID, "comment").send_keys("claustrophobic, CT instead")
    saved = _then_new_page(driver, lambda: driver.find_element(By.ID, "save").click(), "saved")
    assert f"Decision on {second} saved" in saved.text

    # reload the decided queue: both decisions are there (stored, not kept in the browser)
    driver.get(base + "/?state=decided")
    _wait_for(driver, "queue")
    _then_new_page(driver, lambda: driver.execute_script("location.reload()"), "queue")
    states = {r.get_attribute("data-id"): r.find_element(By.CLASS_NAME, "state").text
              for r in driver.find_elements(By.CSS_SELECTOR, "tr.row")}
    assert states == {"x-script": "confirm by Dr Ann", second: "dismiss (PATIENT_FACTOR) by Dr Ann"}
    driver.get(base + f"/referrals/{second}")
    assert "claustrophobic, CT instead" in driver.find_element(By.ID, "history").text

    # export from the page (same origin, the token cookie), then train on it
    href = driver.find_element(By.ID, "export-link").get_attribute("href")
    csv_text = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);", href)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,text,ordered,label,reason,reviewer,decided_at")
    assert len(lines) == 3
    # two labels are too few to train on: add decided rows through the API, as a second reviewer would
    ids = [i["id"] for i in db.queue("open", limit=1000)["items"]]
    for k, rid in enumerate(ids[:12]):
        db.add_decision({"id": rid, "decision": "confirm" if k % 2 else "dismiss",
                         "reason": None if k % 2 else "SURGICAL_PLANNING", "reviewer": "Dr Bob"})
    csv_text = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);", href)
    labels = tmp / "labels.csv"
    labels.write_text(csv_text, encoding="utf-8")
    from pipeline.cli import main
    assert main(["train", str(labels), "--out", str(tmp / "m.joblib"), "--cv", "2"]) == 0
    card = json.loads((tmp / "m.joblib.card.json").read_text())
    assert card["training_data"]["rows"] == 14
    _ = Keys  # keyboard shortcuts are sent as plain characters above
