"""The review web app (Flask): a queue of flagged referrals, one referral
page with its evidence, reasons and rules, and a decision form.

Every page has a JSON twin under ``/api`` (FORMATS.md "Review service"); both
call the same ``ReviewDB`` methods and ``referral_view``. Safety:

* a token (``--token`` / ``SPINE_AUDIT_REVIEW_TOKEN``), when set, is required on
  every request: ``Authorization: Bearer T`` for scripts; a browser opens
  ``/?token=T`` once and gets an HttpOnly, SameSite=Strict cookie;
* HTML forms carry a CSRF token (Flask-WTF); the JSON API accepts only
  ``application/json`` bodies (a cross-site page cannot send one without a
  CORS preflight, which this app never grants) and refuses a foreign Origin;
* templates autoescape everything; note text goes through ``report.highlight``,
  which escapes it; no request body or note text is ever logged;
* a Content-Security-Policy allows only the app's own script and style files.
"""

import csv
import hmac
import io
import os
import secrets
from urllib.parse import urlsplit

from .db import Invalid, NotFound

TOKEN_COOKIE = "spine_review_token"
REVIEWER_COOKIE = "spine_reviewer"
TOKEN_ENV = "SPINE_AUDIT_REVIEW_TOKEN"
PAGE_SIZE = 50
EXPORT_COLUMNS = ("id", "text", "ordered", "label", "reason", "reviewer", "decided_at", "concept", "comment")


def referral_view(db, rid):
    """The referral with what a reviewer needs: FORMATS.md fields plus
    ``reasons`` (plain language), ``rules`` (titles and sources), the
    protocols in words and the latest decision."""
    from ..describe import mismatch_reasons, protocol_text, rule_details
    out = db.referral(rid)
    rec = out["record"]
    r = rec.get("recommendation") or {}
    out["reasons"] = mismatch_reasons(rec)
    out["rules"] = rule_details(r.get("rule_ids"))
    out["protocols"] = {"ordered": protocol_text(rec.get("ordered")), "recommended": protocol_text(r)}
    out["latest"] = out["history"][-1] if out["history"] else None
    return out


def export_csv(db, out):
    """Write the decisions (latest per referral) as CSV to a text stream;
    returns the number of rows. Cells that would start a spreadsheet formula
    are neutralised like the audit's CSV output."""
    from ..tables import extra_columns, neutralise
    rows = list(db.export_rows())
    carried = extra_columns(rows, EXPORT_COLUMNS)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(list(EXPORT_COLUMNS) + carried)
    for row in rows:
        w.writerow([neutralise("" if row.get(c) is None else row.get(c)) for c in list(EXPORT_COLUMNS) + carried])
    return len(rows)


def create_app(db, token=None, secret_key=None):
    """The Flask app over a ``ReviewDB``; ``token``: required on every request."""
    from flask import Flask, abort, jsonify, make_response, redirect, render_template, request, url_for
    from flask_wtf.csrf import CSRFError, CSRFProtect
    from markupsafe import Markup

    from ..describe import protocol_text
    from ..report import STATUS_CLASS, highlight
    from ..vocab import CONCEPTS, DISMISS_REASONS, SAFETY_MISMATCH_TYPES

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),
        WTF_CSRF_TIME_LIMIT=None,            # a review session can last all day
        WTF_CSRF_SSL_STRICT=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.json.sort_keys = False  # keep the documented field order
    csrf = CSRFProtect(app)
    app.extensions["review_db"] = db

    def api_error(status, message):
        resp = jsonify({"error": message})
        resp.status_code = status
        return resp

    def wants_json():
        return request.path.startswith("/api/")

    @app.before_request
    def check_token():
        if not token:
            return None
        auth = request.headers.get("Authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies.get(TOKEN_COOKIE, "")
        query = request.args.get("token")
        if query is not None and request.method == "GET" and hmac.compare_digest(query.encode(), token.encode()):
            # a browser's first visit: keep the token in a cookie, drop it from the address
            args = {k: v for k, v in request.args.items() if k != "token"}
            resp = redirect(url_for(request.endpoint, **(request.view_args or {}), **args))
            resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return resp
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            if wants_json():
                return api_error(401, "a token is required: Authorization: Bearer TOKEN")
            return make_response("A token is required: open this address with ?token=TOKEN once.", 401)
        return None

    @app.before_request
    def check_origin():
        """A POST whose Origin is another site is refused, on pages and API alike."""
        if request.method != "POST":
            return None
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            return api_error(403, "cross-site request refused") if wants_json() else \
                make_response("Cross-site request refused.", 403)
        if origin == "null":
            return make_response("Cross-site request refused.", 403)
        return None

    @app.after_request
    def headers(resp):
        resp.headers["Content-Security-Policy"] = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                                   "img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                                   "base-uri 'none'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        # same-origin, not no-referrer: with no-referrer a browser sends
        # "Origin: null" on the app's own form posts, which check_origin refuses
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return make_response(f"Refused: {exc.description}", 400)

    @app.errorhandler(404)
    def not_found(_exc):
        return api_error(404, "not found") if wants_json() else make_response("Not found.", 404)

    @app.errorhandler(Exception)
    def unexpected(exc):
        """Anything unexpected: a generic answer, and a log line with the
        exception type only (a message could quote note text)."""
        from werkzeug.exceptions import HTTPException
        if isinstance(exc, HTTPException):
            return exc
        app.logger.error("review app: unexpected %s on %s %s", type(exc).__name__, request.method,
                         request.url_rule.rule if request.url_rule else "?")
        return api_error(500, "internal error") if wants_json() else make_response("Internal error.", 500)

    @app.errorhandler(413)
    def too_large(_exc):
        return api_error(413, "request body too large")

    # ------------------------------------------------------------------ helpers
    def queue_args(args):
        filters = {k[2:]: v for k, v in args.items() if k.startswith("f.") and v != ""}
        try:
            limit = int(args.get("limit", PAGE_SIZE))
            offset = int(args.get("offset", 0))
        except ValueError:
            raise Invalid("limit and offset must be whole numbers") from None
        return dict(state=args.get("state", "open") or "open", type=args.get("type") or None,
                    category=args.get("category") or None, filters=filters, limit=limit, offset=offset)

    # ------------------------------------------------------------------ JSON API
    @app.get("/api/health")
    def api_health():
        return jsonify(db.health())

    @app.get("/api/queue")
    def api_queue():
        try:
            return jsonify(db.queue(**queue_args(request.args)))
        except Invalid as exc:
            return api_error(422, str(exc))

    @app.get("/api/facets")
    def api_facets():
        return jsonify(db.facets())

    @app.get("/api/referrals/<path:rid>")
    def api_referral(rid):
        try:
            return jsonify(referral_view(db, rid))
        except NotFound as exc:
            return api_error(404, str(exc))

    @csrf.exempt
    @app.post("/api/decisions")
    def api_decide():
        if not request.is_json:
            return api_error(415, "the body must be application/json")
        body = request.get_json(silent=True)
        if body is None:
            return api_error(422, "the body is not valid JSON")
        try:
            stored = db.add_decision(body)
        except NotFound as exc:
            return api_error(404, str(exc))
        except Invalid as exc:
            return api_error(422, str(exc))
        resp = jsonify(stored)
        resp.status_code = 201
        return resp

    @app.get("/api/export.csv")
    def api_export():
        buf = io.StringIO()
        export_csv(db, buf)
        resp = make_response(buf.getvalue())
        resp.headers["Content-Type"] = "text/csv; charset=utf-8"
        resp.headers["Content-Disposition"] = "attachment; filename=review_labels.csv"
        return resp

    # ------------------------------------------------------------------ pages
    @app.get("/")
    def queue_page():
        try:
            qa = queue_args(request.args)
            result = db.queue(**qa)
        except Invalid as exc:
            return make_response(f"Bad filter: {exc}", 422)
        api_url = url_for("api_queue", **request.args)
        return render_template("queue.html", q=qa, result=result, facets=db.facets(), health=db.health(),
                               safety=SAFETY_MISMATCH_TYPES, api_url=api_url, page_size=qa["limit"],
                               args=request.args)

    @app.get("/referrals/<path:rid>")
    def referral_page(rid):
        try:
            view = referral_view(db, rid)
        except NotFound:
            abort(404)
        rec = view["record"]
        note = Markup(highlight(view["text"], rec.get("evidence") or [])) if view["text"] else None
        nxt = db.next_open(after_id=str(rid))
        shown = {k: (v if len(str(v)) <= 120 else str(v)[:117] + "...") for k, v in view["carried"].items()
                 if not isinstance(v, (dict, list))}
        return render_template("referral.html", v=view, rec=rec, note=note, rid=str(rid), next_id=nxt, shown=shown,
                               reasons=DISMISS_REASONS, concepts=CONCEPTS, safety=SAFETY_MISMATCH_TYPES,
                               status_class=STATUS_CLASS, protocol_text=protocol_text,
                               reviewer=request.cookies.get(REVIEWER_COOKIE, ""),
                               saved=request.args.get("saved"), error=request.args.get("error"))

    @app.post("/referrals/<path:rid>/decision")
    def decide_page(rid):
        f = request.form
        dismiss = f.get("decision") == "dismiss"
        body = {"id": rid, "decision": f.get("decision"), "reviewer": f.get("reviewer", ""),
                "reason": (f.get("reason") or None) if dismiss else None, "comment": f.get("comment") or None,
                "concept": (f.get("concept") or None) if dismiss and f.get("reason") == "EXTRACTION_MISS" else None}
        try:
            db.add_decision(body)
        except NotFound:
            abort(404)
        except Invalid as exc:
            return redirect(url_for("referral_page", rid=rid, error=str(exc)))
        nxt = db.next_open(after_id=str(rid))
        target = url_for("referral_page", rid=nxt, saved=rid) if nxt else url_for("queue_page", saved=rid)
        resp = redirect(target, code=303)
        resp.set_cookie(REVIEWER_COOKIE, body["reviewer"].strip()[:200], httponly=True, samesite="Strict")
        return resp

    return app


def check_bind(host, token):
    """Binding beyond this machine needs a token."""
    from ..errors import InputError
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        raise InputError(f"binding to {host} exposes the review data beyond this machine: set --token "
                         f"(or {TOKEN_ENV})")


def serve(db, host="127.0.0.1", port=8000, token=None, threads=8, on_ready=None):
    """Serve the app with waitress until interrupted."""
    from waitress import create_server
    check_bind(host, token)
    server = create_server(create_app(db, token=token), host=host, port=port, threads=threads)
    if on_ready:
        on_ready(server)
    try:
        server.run()
    finally:
        server.close()


def token_from_env(token):
    return token or os.environ.get(TOKEN_ENV) or None
