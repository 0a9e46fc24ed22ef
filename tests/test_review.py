"""The review service (issue 13): database layer on SQLite and PostgreSQL,
the JSON API and pages in-process (Flask's test client), safety, export, and
the loop back into training. The browser test is test_review_browser.py."""

import csv
import io
import json
import multiprocessing
import threading
import uuid

import pytest

from pipeline.audit import AuditOptions, run_audit
from pipeline.review.app import create_app, export_csv
from pipeline.review.db import MIGRATIONS, SCHEMA_VERSION, Invalid, NotFound, ReviewDB

from conftest import SAMPLES, audited_review_db, read_jsonl

SCRIPT_NOTE = ("<script>window.__pwned=1</script> 62F fever 38.9, IVDU, severe LBP, r/o epidural abscess. "
               "<img src=x onerror=\"window.__pwned=2\">")
SITES = ("north", "south", "east")


def _referrals():
    rows = [{"id": r["id"], "text": r["text"], "ordered": r["ordered"]} for r in read_jsonl(SAMPLES)]
    rows.append({"id": "x-script", "text": SCRIPT_NOTE, "ordered": "MRI L-spine w/o"})
    for k, r in enumerate(rows):
        r["site"] = SITES[k % 3]
    return rows


@pytest.fixture(scope="module")
def audit_jsonl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review")
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _referrals()))
    out = tmp / "audit.jsonl"
    run_audit(src, out, AuditOptions(quiet=True))
    return out


@pytest.fixture(scope="module")
def flagged(audit_jsonl):
    """{id: record} of the flagged referrals, read from the audit itself."""
    recs = read_jsonl(audit_jsonl)
    return {r["id"]: r for r in recs if r["status"] == "ok" and (r.get("mismatch") or {}).get("types")}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        d = ReviewDB(tmp_path / "review.db")
    else:
        base = request.getfixturevalue("pg_url")
        import psycopg
        name = "t_" + uuid.uuid4().hex[:12]
        server = base.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        d = ReviewDB(base.rsplit("/", 1)[0] + "/" + name)
    yield d
    d.dispose()


@pytest.fixture
def loaded(db, audit_jsonl):
    db.load_audit(audit_jsonl)
    return db


# --------------------------------------------------------------------------- #
# keep-text: the audit output carries what a review needs
# --------------------------------------------------------------------------- #

def test_jsonl_audit_keeps_text_by_default_and_csv_only_when_asked(tmp_path, audit_jsonl):
    recs = {r["id"]: r for r in read_jsonl(audit_jsonl)}
    want = _referrals()[-1]
    assert want["id"] == "x-script"
    assert recs["x-script"]["text"] == SCRIPT_NOTE and recs["x-script"]["site"] == want["site"]
    assert recs["x-script"]["ordered"]["raw"] == "MRI L-spine w/o"
    src = tmp_path / "in.csv"
    import pandas as pd
    pd.DataFrame(_referrals()).to_csv(src, index=False)
    plain, kept = tmp_path / "plain.csv", tmp_path / "kept.csv"
    run_audit(src, plain, AuditOptions(quiet=True))
    run_audit(src, kept, AuditOptions(quiet=True, keep_text=True))
    assert "text" not in pd.read_csv(plain).columns
    k = pd.read_csv(kept).set_index("id")
    assert k.loc["x-script", "text"] == SCRIPT_NOTE
    ev = json.loads(k.loc["x-script", "evidence"])
    assert {"FEVER", "IV_DRUG_USE"} <= {e["concept"] for e in ev}
    off = tmp_path / "off.jsonl"
    run_audit(src, off, AuditOptions(quiet=True, keep_text=False))
    assert "text" not in read_jsonl(off)[0]


# --------------------------------------------------------------------------- #
# Database layer (SQLite and PostgreSQL)
# --------------------------------------------------------------------------- #

def test_load_is_idempotent_and_keeps_only_flagged(db, audit_jsonl, flagged):
    first = db.load_audit(audit_jsonl)
    assert first["added"] == len(flagged) and first["rows"] == len(_referrals())
    again = db.load_audit(audit_jsonl)
    assert again["already_loaded"] and again["added"] == 0
    assert db.health() == {"status": "ok", "referrals": len(flagged), "decided": 0}


def test_reloading_a_changed_audit_updates_records_and_keeps_decisions(db, audit_jsonl, flagged, tmp_path):
    db.load_audit(audit_jsonl)
    rid = sorted(flagged)[0]
    db.add_decision({"id": rid, "decision": "confirm", "reviewer": "ann"})
    rows = read_jsonl(audit_jsonl)
    for r in rows:
        if r["id"] == rid:
            r["site"] = "moved"
    other = tmp_path / "rerun.jsonl"
    other.write_text("".join(json.dumps(r) + "\n" for r in rows))
    c = db.load_audit(other)
    assert c["updated"] == 1 and c["added"] == 0 and c["unchanged"] == len(flagged) - 1
    got = db.referral(rid)
    assert got["carried"]["site"] == "moved" and len(got["history"]) == 1


def test_queue_order_puts_safety_then_urgency_first(loaded, flagged):
    items = loaded.queue("all", limit=1000)["items"]
    assert [i["id"] for i in items] and len(items) == len(flagged)
    from pipeline.vocab import SAFETY_MISMATCH_TYPES, URGENCIES
    keys = [(0 if set(i["mismatch_types"]) & set(SAFETY_MISMATCH_TYPES) else 1, URGENCIES.index(i["urgency"]))
            for i in items]
    assert keys == sorted(keys)
    assert keys[0][0] == 0  # the samples contain safety flags (s09, s11)


def test_queue_filters_by_type_category_and_carried_column(loaded, flagged):
    by_type = loaded.queue("all", type="MISSING_CONTRAST", limit=1000)
    want = {k for k, r in flagged.items() if "MISSING_CONTRAST" in r["mismatch"]["types"]}
    assert {i["id"] for i in by_type["items"]} == want and by_type["total"] == len(want)
    cat = flagged["x-script"]["recommendation"]["category"]
    assert cat == "INFECTION"
    assert "x-script" in {i["id"] for i in loaded.queue("all", category=cat)["items"]}
    south = loaded.queue("all", filters={"site": "south"}, limit=1000)
    assert {i["id"] for i in south["items"]} == {k for k, r in flagged.items() if r["site"] == "south"}
    assert loaded.facets()["columns"]["site"] == sorted({r["site"] for r in flagged.values()})
    with pytest.raises(Invalid):
        loaded.queue("closed")


def test_decisions_are_appended_and_the_latest_counts(loaded, flagged):
    rid = sorted(flagged)[1]
    loaded.add_decision({"id": rid, "decision": "dismiss", "reason": "PATIENT_FACTOR", "reviewer": "ann",
                         "comment": "claustrophobic"})
    loaded.add_decision({"id": rid, "decision": "confirm", "reviewer": "bob"})
    hist = loaded.referral(rid)["history"]
    assert [(h["decision"], h["reviewer"]) for h in hist] == [("dismiss", "ann"), ("confirm", "bob")]
    assert hist[0]["decided_at"] <= hist[1]["decided_at"]
    assert rid not in {i["id"] for i in loaded.queue("open", limit=1000)["items"]}
    decided = loaded.queue("decided")["items"]
    assert [(i["id"], i["decision"], i["state"]) for i in decided] == [(rid, "confirm", "decided")]
    (row,) = list(loaded.export_rows())
    assert row["label"] == "mismatch" and row["reviewer"] == "bob"


@pytest.mark.parametrize("body, problem", [
    ({"id": "s01", "decision": "maybe", "reviewer": "ann"}, "decision"),
    ({"id": "s01", "decision": "dismiss", "reviewer": "ann"}, "reason"),
    ({"id": "s01", "decision": "dismiss", "reason": "BORED", "reviewer": "ann"}, "reason"),
    ({"id": "s01", "decision": "confirm", "reviewer": " "}, "reviewer"),
    ({"id": "s01", "decision": "confirm", "reviewer": "ann", "extra": 1}, "unknown"),
    ({"id": "s01", "decision": "dismiss", "reason": "OTHER", "concept": "FEVER", "reviewer": "ann"}, "concept"),
    (["s01"], "object"),
])
def test_invalid_decisions_are_refused(loaded, body, problem):
    with pytest.raises(Invalid, match=problem):
        loaded.add_decision(body)
    assert loaded.health()["decided"] == 0


def test_unknown_referral_is_not_found(loaded):
    with pytest.raises(NotFound):
        loaded.add_decision({"id": "nope", "decision": "confirm", "reviewer": "ann"})
    with pytest.raises(NotFound):
        loaded.referral("nope")


def _post_many(url, ids, reviewer, n):
    d = ReviewDB(url)
    for k in range(n):
        d.add_decision({"id": ids[k % len(ids)], "decision": "confirm" if k % 2 else "dismiss",
                        "reason": None if k % 2 else "OTHER", "reviewer": reviewer, "comment": str(k)})
    d.dispose()


def test_two_reviewers_in_two_processes_lose_nothing(loaded, flagged):
    ids = sorted(flagged)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_post_many, args=(loaded.url, ids, who, 150)) for who in ("ann", "bob")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    from sqlalchemy import func, select
    with loaded.engine.connect() as c:
        d = loaded.t["decisions"]
        counts = dict(c.execute(select(d.c.reviewer, func.count()).group_by(d.c.reviewer)).all())
        comments = {(r, int(m)) for r, m in c.execute(select(d.c.reviewer, d.c.comment)).all()}
    assert counts == {"ann": 150, "bob": 150}
    assert comments == {(who, k) for who in ("ann", "bob") for k in range(150)}


def test_schema_version_is_recorded_and_newer_databases_are_refused(db):
    assert db.schema_version() == SCHEMA_VERSION
    with db._write() as c:
        db._set_meta(c, "schema_version", str(SCHEMA_VERSION + 1))
    from pipeline.errors import InputError
    with pytest.raises(InputError, match="upgrade spine-audit"):
        ReviewDB(db.url)


def test_a_registered_migration_runs_once(tmp_path, monkeypatch):
    import pipeline.review.db as dbmod
    path = tmp_path / "old.db"
    ReviewDB(path).dispose()
    calls = []

    def add_column(ops):
        import sqlalchemy as sa
        calls.append(1)
        with ops.batch_alter_table("decisions") as batch:
            batch.add_column(sa.Column("seconds_spent", sa.Integer))

    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(MIGRATIONS, SCHEMA_VERSION + 1, add_column)
    d = ReviewDB(path)
    ReviewDB(path).dispose()  # opening again does not migrate again
    assert calls == [1] and d.schema_version() == SCHEMA_VERSION + 1
    from sqlalchemy import inspect
    assert "seconds_spent" in {c["name"] for c in inspect(d.engine).get_columns("decisions")}


def test_parquet_audit_loads_like_jsonl(tmp_path, audit_jsonl, flagged):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _referrals()))
    out = tmp_path / "audit.parquet"
    run_audit(src, out, AuditOptions(quiet=True, keep_text=True))
    d = ReviewDB(tmp_path / "p.db")
    assert d.load_audit(out)["added"] == len(flagged)
    got = d.referral("x-script")
    want = flagged["x-script"]
    assert got["text"] == SCRIPT_NOTE and got["ordered"] == "MRI L-spine w/o" and got["carried"]["site"] in SITES
    assert got["record"]["evidence"] == want["evidence"]
    for k in ("category", "modality", "contrast", "regions", "urgency", "alternatives", "rule_ids", "citations"):
        assert got["record"]["recommendation"][k] == want["recommendation"][k], k
    assert got["record"]["mismatch"]["types"] == want["mismatch"]["types"]


# --------------------------------------------------------------------------- #
# The app in-process: API, pages, safety
# --------------------------------------------------------------------------- #

@pytest.fixture
def client(tmp_path, audit_jsonl):
    d = ReviewDB(tmp_path / "app.db")
    d.load_audit(audit_jsonl)
    app = create_app(d)
    app.config["TESTING"] = True
    return app.test_client()


def test_api_matches_the_documented_shapes(client, flagged):
    assert client.get("/api/health").get_json() == {"status": "ok", "referrals": len(flagged), "decided": 0}
    q = client.get("/api/queue?state=open&limit=5").get_json()
    assert q["total"] == len(flagged) and len(q["items"]) == 5
    assert {"id", "mismatch_types", "category", "urgency", "score", "state"} <= set(q["items"][0])
    r = client.get("/api/referrals/x-script").get_json()
    assert {"record", "text", "ordered", "carried", "history"} <= set(r)
    assert r["text"] == SCRIPT_NOTE and r["ordered"] == "MRI L-spine w/o" and r["history"] == []
    reasons = {x["type"]: x["reason"] for x in r["reasons"]}
    assert reasons["MISSING_CONTRAST"] == ("MRI ordered without contrast; suspected spinal infection needs "
                                           "without and with contrast")
    assert all(".txt" not in s["title"] for rule in r["rules"] for s in rule["sources"])
    assert client.get("/api/referrals/nope").status_code == 404


def test_api_decisions_201_404_422(client):
    ok = client.post("/api/decisions", json={"id": "x-script", "decision": "dismiss", "reason": "EXTRACTION_MISS",
                                             "concept": "FEVER", "reviewer": "ann", "comment": "fine"})
    assert ok.status_code == 201
    body = ok.get_json()
    assert body["id"] == "x-script" and body["reason"] == "EXTRACTION_MISS" and body["decided_at"]
    assert client.post("/api/decisions", json={"id": "nope", "decision": "confirm", "reviewer": "a"}).status_code == 404
    assert client.post("/api/decisions", json={"id": "x-script", "decision": "dismiss",
                                               "reviewer": "a"}).status_code == 422
    assert client.post("/api/decisions", data="{bad json", content_type="application/json").status_code == 422
    assert client.get("/api/health").get_json()["decided"] == 1


def test_queue_page_is_the_twin_of_the_api(client):
    page = client.get("/?state=all&type=MISSING_CONTRAST").get_data(as_text=True)
    api = client.get("/api/queue?state=all&type=MISSING_CONTRAST").get_json()
    import re
    shown = re.findall(r'data-id="([^"]+)"', page)
    assert shown == [i["id"] for i in api["items"]] and shown
    assert '/api/queue?state=all&amp;type=MISSING_CONTRAST' in page


def test_note_text_is_escaped_everywhere(client):
    page = client.get("/referrals/x-script")
    html = page.get_data(as_text=True)
    assert "<script>window.__pwned" not in html and "&lt;script&gt;window.__pwned" in html
    assert "<img src=x" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<mark class=\"st-present\"" in html  # evidence highlighted


def _csrf(html):
    import re
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_form_decision_needs_the_csrf_token(client):
    no_token = client.post("/referrals/x-script/decision", data={"decision": "confirm", "reviewer": "ann"})
    assert no_token.status_code == 400
    token = _csrf(client.get("/referrals/x-script").get_data(as_text=True))
    ok = client.post("/referrals/x-script/decision",
                     data={"decision": "confirm", "reviewer": "ann", "csrf_token": token})
    assert ok.status_code == 303
    assert client.get("/api/referrals/x-script").get_json()["history"][0]["reviewer"] == "ann"


def test_cross_site_posts_are_refused(client):
    token = _csrf(client.get("/referrals/x-script").get_data(as_text=True))
    evil = {"Origin": "http://evil.example"}
    assert client.post("/referrals/x-script/decision", headers=evil,
                       data={"decision": "confirm", "reviewer": "x", "csrf_token": token}).status_code == 403
    assert client.post("/api/decisions", headers=evil,
                       json={"id": "x-script", "decision": "confirm", "reviewer": "x"}).status_code == 403
    # a form-encoded or text/plain body (what a cross-site form can send) is not JSON
    assert client.post("/api/decisions", data='{"id": "x-script", "decision": "confirm", "reviewer": "x"}',
                       content_type="text/plain").status_code == 415
    assert client.get("/api/health").get_json()["decided"] == 0


def test_token_is_required_on_every_request(tmp_path, audit_jsonl):
    d = ReviewDB(tmp_path / "t.db")
    d.load_audit(audit_jsonl)
    c = create_app(d, token="s3cret").test_client()
    for path in ("/api/health", "/api/queue", "/api/referrals/x-script", "/", "/referrals/x-script"):
        assert c.get(path).status_code == 401, path
    assert c.post("/api/decisions", json={"id": "x-script", "decision": "confirm", "reviewer": "x"}).status_code == 401
    assert c.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    # a browser opens ?token= once: the token moves into an HttpOnly cookie
    first = c.get("/?token=s3cret")
    assert first.status_code == 302 and "token=" not in first.headers["Location"]
    assert "HttpOnly" in first.headers["Set-Cookie"]
    assert c.get("/").status_code == 200


def test_binding_beyond_loopback_needs_a_token(tmp_path, capsys):
    from pipeline.cli import main
    assert main(["review", "serve", "--db", str(tmp_path / "x.db"), "--host", "0.0.0.0"]) == 2
    assert "--token" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


# --------------------------------------------------------------------------- #
# Export and the loop into training
# --------------------------------------------------------------------------- #

def test_export_then_train_on_it(tmp_path, audit_jsonl, flagged):
    from pipeline.cli import main
    d = ReviewDB(tmp_path / "e.db")
    d.load_audit(audit_jsonl)
    ids = sorted(flagged)
    for k, rid in enumerate(ids):
        if k % 2:
            d.add_decision({"id": rid, "decision": "confirm", "reviewer": "ann"})
        else:
            d.add_decision({"id": rid, "decision": "dismiss", "reason": "SURGICAL_PLANNING", "reviewer": "bob"})
    out = tmp_path / "labels.csv"
    assert main(["review", "export", "--db", str(tmp_path / "e.db"), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[:7] == ["id", "text", "ordered", "label", "reason", "reviewer", "decided_at"]
    assert "site" in rows[0]
    assert len(rows) == len(ids)
    byid = {r["id"]: r for r in rows}
    assert byid[ids[0]]["label"] == "ok" and byid[ids[0]]["reason"] == "SURGICAL_PLANNING"
    assert byid[ids[1]]["label"] == "mismatch" and byid[ids[1]]["reason"] == "CONFIRMED"
    assert byid["x-script"]["text"] == SCRIPT_NOTE
    assert main(["review", "export", "--db", str(tmp_path / "e.db"), "--out", str(out)]) == 2  # no overwrite
    model = tmp_path / "m.joblib"
    assert main(["train", str(out), "--out", str(model), "--cv", "3"]) == 0
    card = json.loads((tmp_path / "m.joblib.card.json").read_text())
    assert card["training_data"]["rows"] == len(ids)
    buf = io.StringIO()
    assert export_csv(d, buf) == len(ids)


# --------------------------------------------------------------------------- #
# A live server: two reviewers posting at once
# --------------------------------------------------------------------------- #

@pytest.fixture
def live(tmp_path, audit_jsonl):
    from waitress import create_server
    d = ReviewDB(tmp_path / "live.db")
    d.load_audit(audit_jsonl)
    server = create_server(create_app(d, token="tok"), host="127.0.0.1", port=0, threads=8)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.effective_port}", d
    server.close()


def test_two_reviewers_posting_at_once_over_http_lose_nothing(live, flagged):
    import urllib.request
    base, d = live
    ids = sorted(flagged)
    errors = []

    def reviewer(name):
        for k in range(120):
            body = json.dumps({"id": ids[k % len(ids)], "decision": "confirm", "reviewer": name,
                               "comment": str(k)}).encode()
            req = urllib.request.Request(base + "/api/decisions", data=body, method="POST", headers={
                "Content-Type": "application/json", "Authorization": "Bearer tok"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                if resp.status != 201:
                    errors.append(resp.status)

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in ("ann", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    rows = [h for rid in ids for h in d.referral(rid)["history"]]
    assert sorted((h["reviewer"], int(h["comment"])) for h in rows) == sorted(
        (n, k) for n in ("ann", "bob") for k in range(120))


def test_an_unexpected_error_is_logged_without_note_text(tmp_path, audit_jsonl, caplog, monkeypatch):
    d = ReviewDB(tmp_path / "boom.db")
    d.load_audit(audit_jsonl)
    app = create_app(d)

    def boom(_rid):
        raise RuntimeError(SCRIPT_NOTE)  # an error message that quotes the note

    monkeypatch.setattr(d, "referral", boom)
    with caplog.at_level("DEBUG"):
        resp = app.test_client().get("/api/referrals/x-script")
    assert resp.status_code == 500 and resp.get_json() == {"error": "internal error"}
    assert "RuntimeError" in caplog.text and "__pwned" not in caplog.text and "IVDU" not in caplog.text


def test_nested_carried_values_are_kept_but_not_filters(tmp_path):
    rows = [{"id": "n1", "text": "Fever 39, IVDU, LBP, r/o epidural abscess.", "ordered": "MRI L-spine w/o",
             "site": "north", "gold": {"concepts": {"FEVER": "present"}}}]
    d, _ = audited_review_db(rows, tmp_path)
    assert d.referral("n1")["carried"]["gold"] == {"concepts": {"FEVER": "present"}}
    assert d.facets()["columns"] == {"site": ["north"]}
    page = create_app(d).test_client().get("/referrals/n1").get_data(as_text=True)
    assert "site: north" in page and "concepts" not in page.split("<h2>Why")[0]


@pytest.mark.parametrize("url, message", [
    ("nosuchdialect://x/y", "SQLAlchemy"),
    ("postgresql+psycopg://nobody:secretpw@127.0.0.1:1/none", "cannot open the review database"),
])
def test_unusable_database_urls_give_one_line_without_the_password(tmp_path, capsys, url, message):
    from pipeline.cli import main
    assert main(["review", "export", "--db", url, "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and "secretpw" not in err and err.count("\n") == 1


def test_an_audit_without_carried_columns_loads(tmp_path):
    """Only text and order (and a nested gold annotation, which is not a
    filter): nothing to put in referral_values. `make review` on the samples."""
    rows = [{"id": "a1", "text": "Fever 39, IVDU, LBP, r/o epidural abscess.", "ordered": "MRI L-spine w/o"},
            {"id": "a2", "text": "58M h/o prostate ca, new mid back pain.", "ordered": "MRI T-spine w/o",
             "gold": {"concepts": {}}}]
    d, _ = audited_review_db(rows, tmp_path)
    assert d.health()["referrals"] == 2 and d.facets()["columns"] == {}
    assert d.queue("all", filters={"site": "x"})["total"] == 0


def test_cli_serve_loads_the_samples_and_answers(tmp_path):
    """`make review` end to end: audit the samples to JSONL, `spine-audit review
    serve` on a free port, the API answers, Ctrl-C (SIGINT) stops it."""
    import re as _re
    import signal
    import subprocess
    import sys
    import urllib.request
    audit = tmp_path / "samples.jsonl"
    run_audit(SAMPLES, audit, AuditOptions(quiet=True))
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "review", "serve", str(audit), "--db",
                             str(tmp_path / "r.db"), "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "review app:" in line:
                break
        assert any("17 flagged referrals added" in x for x in lines), lines
        url = _re.search(r"http://\S+/", lines[-1]).group(0)
        with urllib.request.urlopen(url + "api/health", timeout=10) as resp:
            assert json.loads(resp.read()) == {"status": "ok", "referrals": 17, "decided": 0}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
