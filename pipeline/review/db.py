"""The review database: referrals from an audit, append-only decisions.

Tables (SQLAlchemy Core, portable between SQLite and PostgreSQL):

* ``meta``: the schema version;
* ``audits``: each audit file loaded (by SHA-256: loading it again adds nothing);
* ``referrals``: one row per flagged referral (keyed by its id): the result
  record, the note and order text, the carried columns, and the queue's sort
  keys (safety first, then urgency, then model score);
* ``referral_values``: the carried columns as (name, value) pairs, so the
  queue can be filtered by site, department ... on any database;
* ``decisions``: append-only; the latest decision of a referral counts.

SQLite runs in WAL mode with a busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE`` (a second writer waits instead of failing),
so reviewers working at once lose nothing. Note text is stored, never logged.
"""

import datetime as _dt
import hashlib
import json
import os

from ..errors import InputError, SpineAuditError
from ..vocab import CONCEPTS, DECISIONS, DISMISS_REASONS, MISMATCH_TYPES, SAFETY_MISMATCH_TYPES, URGENCIES

SCHEMA_VERSION = 1
# Migrations: {version: function(operations)} bringing a database from
# version - 1 to version, written with Alembic's operations (portable DDL,
# SQLite's batch mode included). Version 1 is created from the table
# definitions below.
MIGRATIONS = {}
MAX_ID = 200
MAX_COMMENT = 4000
MAX_REVIEWER = 200


class ReviewError(SpineAuditError):
    """A review request that cannot be served (bad body, unknown id)."""


class NotFound(ReviewError):
    pass


class Invalid(ReviewError):
    pass


def _tables():
    from sqlalchemy import (Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table,
                            Text)
    md = MetaData()
    Table("meta", md, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
    Table("audits", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("source", Text, nullable=False),
          Column("sha256", String(64), nullable=False, unique=True),
          Column("loaded_at", DateTime(timezone=True), nullable=False),
          Column("rows", Integer, nullable=False),
          Column("flagged", Integer, nullable=False))
    Table("referrals", md,
          Column("id", String(MAX_ID), primary_key=True),
          Column("seq", Integer, nullable=False),
          Column("audit_id", Integer, ForeignKey("audits.id"), nullable=False),
          Column("content_sha", String(64), nullable=False),
          Column("record", Text, nullable=False),
          Column("text", Text),
          Column("ordered", Text),
          Column("carried", Text, nullable=False),
          Column("category", String(40)),
          Column("urgency", String(20)),
          Column("types", Text, nullable=False),   # "|TYPE_A|TYPE_B|": LIKE '%|T|%' on any database
          Column("score", Float),
          Column("rank_safety", Integer, nullable=False),
          Column("rank_urgency", Integer, nullable=False),
          Column("rank_score", Float, nullable=False),
          Column("n_types", Integer, nullable=False),
          Index("ix_referrals_queue", "rank_safety", "rank_urgency", "rank_score", "n_types", "seq"))
    Table("referral_values", md,
          Column("referral_id", String(MAX_ID), ForeignKey("referrals.id"), primary_key=True),
          Column("name", String(200), primary_key=True),
          Column("value", Text),
          Index("ix_referral_values_name", "name", "value"))
    Table("decisions", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("referral_id", String(MAX_ID), ForeignKey("referrals.id"), nullable=False, index=True),
          Column("decision", String(10), nullable=False),
          Column("reason", String(40)),
          Column("concept", String(60)),
          Column("comment", Text),
          Column("reviewer", String(MAX_REVIEWER), nullable=False),
          Column("decided_at", DateTime(timezone=True), nullable=False))
    return md


def _now():
    return _dt.datetime.now(_dt.timezone.utc)


def _iso(value):
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns naive datetimes: they were stored in UTC
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.isoformat(timespec="seconds")


def database_url(db):
    """A SQLAlchemy URL, or a file path (SQLite)."""
    if "://" in str(db):
        return str(db)
    return "sqlite:///" + os.path.abspath(str(db))


def queue_ranks(types, urgency, score):
    """Sort keys of the queue (smaller first): the report's severity order."""
    safety = 0 if any(t in SAFETY_MISMATCH_TYPES for t in types) else 1
    urg = URGENCIES.index(urgency) if urgency in URGENCIES else len(URGENCIES)
    return safety, urg, -(score if score is not None else -1.0), -len(types)


class ReviewDB:
    """The review database behind the app, the export and the tests."""

    def __init__(self, db):
        from sqlalchemy import exc as sa_exc
        try:
            self._open(db)
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError):
            raise InputError("the review database URL is not one SQLAlchemy can use (a file path, or e.g. "
                             "postgresql+psycopg://user@host/db)") from None
        except ImportError as exc:
            raise InputError(f"the database driver is not installed ({exc.name}): for PostgreSQL, "
                             "pip install 'spine-audit[postgres]'") from None
        except sa_exc.OperationalError as exc:
            raise InputError(f"cannot open the review database ({type(exc.orig).__name__})") from None

    def _open(self, db):
        from sqlalchemy import create_engine, event
        self.url = database_url(db)
        self.is_sqlite = self.url.startswith("sqlite")
        self.md = _tables()
        self.t = self.md.tables
        if self.is_sqlite:
            path = self.url[len("sqlite:///"):]
            if path and not os.path.isdir(os.path.dirname(os.path.abspath(path)) or "."):
                raise InputError(f"folder of the review database does not exist: {os.path.dirname(path)}")
            # hide_parameters: a database error never quotes the values (note text) in its message
            self.engine = create_engine(self.url, connect_args={"timeout": 60, "check_same_thread": False},
                                        hide_parameters=True)

            @event.listens_for(self.engine, "connect")
            def _on_connect(dbapi_conn, _record):
                dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=60000")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

            @event.listens_for(self.engine, "begin")
            def _on_begin(conn):
                # a write transaction takes the lock up front and waits for it;
                # a deferred one could fail when it upgrades from read to write
                immediate = conn.get_execution_options().get("immediate", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, hide_parameters=True)
        self.migrate()

    # ------------------------------------------------------------------ schema
    def _write(self):
        return self.engine.execution_options(immediate=True).begin()

    def _read_version(self, c):
        from sqlalchemy import inspect, select
        if not inspect(c).has_table("meta"):
            return 0
        meta = self.t["meta"]
        v = c.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        return int(v) if v is not None else 0

    def schema_version(self):
        with self.engine.connect() as c:
            return self._read_version(c)

    def migrate(self):
        """Create the schema, or bring an older one up to SCHEMA_VERSION."""
        from alembic.migration import MigrationContext
        from alembic.operations import Operations
        with self._write() as c:
            version = self._read_version(c)
            if version > SCHEMA_VERSION:
                raise InputError(f"the review database has schema version {version}; this spine-audit knows "
                                 f"up to {SCHEMA_VERSION}: upgrade spine-audit")
            if version == SCHEMA_VERSION:
                return
            if version == 0:
                self.md.create_all(c)
                version = 1
            ops = Operations(MigrationContext.configure(c))
            for v in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[v](ops)
            self._set_meta(c, "schema_version", str(SCHEMA_VERSION))

    def _set_meta(self, c, key, value):
        meta = self.t["meta"]
        from sqlalchemy import select
        if c.execute(select(meta.c.key).where(meta.c.key == key)).first():
            c.execute(meta.update().where(meta.c.key == key).values(value=value))
        else:
            c.execute(meta.insert().values(key=key, value=value))

    # ------------------------------------------------------------------ import
    def load_audit(self, path, batch=500):
        """Load the flagged referrals of an audit output (JSONL or Parquet).

        Returns ``{"added", "updated", "unchanged", "rows", "already_loaded"}``.
        A referral already in the database keeps its decisions; when its
        record changed (a re-run after a rule update) the record is replaced.
        """
        from sqlalchemy import select
        from ..resources import sha256_file
        digest = sha256_file(path)
        audits = self.t["audits"]
        with self.engine.connect() as c:
            if c.execute(select(audits.c.id).where(audits.c.sha256 == digest)).first():
                return {"added": 0, "updated": 0, "unchanged": 0, "rows": 0, "already_loaded": True}
        counts = {"added": 0, "updated": 0, "unchanged": 0, "rows": 0, "already_loaded": False}
        with self._write() as c:
            audit_id = c.execute(audits.insert().values(source=os.path.basename(str(path)), sha256=digest,
                                                        loaded_at=_now(), rows=0, flagged=0)).inserted_primary_key[0]
            seq = c.execute(select(self.t["referrals"].c.seq).order_by(self.t["referrals"].c.seq.desc())
                            .limit(1)).scalar() or 0
            pending = []
            for item in read_audit(path, counts):
                seq += 1
                pending.append(dict(item, seq=seq))
                if len(pending) >= batch:
                    self._upsert(c, pending, audit_id, counts)
                    pending = []
            self._upsert(c, pending, audit_id, counts)
            c.execute(audits.update().where(audits.c.id == audit_id).values(
                rows=counts["rows"], flagged=counts["added"] + counts["updated"] + counts["unchanged"]))
        return counts

    def _upsert(self, c, items, audit_id, counts):
        from sqlalchemy import select
        if not items:
            return
        ref, vals = self.t["referrals"], self.t["referral_values"]
        by_id = {}
        for it in items:
            by_id[it["id"]] = it  # the last row of a repeated id wins within a file
        existing = dict(c.execute(select(ref.c.id, ref.c.content_sha).where(ref.c.id.in_(list(by_id)))).all())
        new, changed = [], []
        for rid, it in by_id.items():
            row = _referral_row(it, audit_id)
            if rid not in existing:
                new.append(row)
            elif existing[rid] != row["content_sha"]:
                changed.append(row)
            else:
                counts["unchanged"] += 1
        if new:
            c.execute(ref.insert(), new)
            values = [v for r in new for v in _value_rows(r)]
            if values:  # an empty list would insert one row of defaults
                c.execute(vals.insert(), values)
            counts["added"] += len(new)
        for row in changed:
            c.execute(ref.update().where(ref.c.id == row["id"]).values(
                **{k: v for k, v in row.items() if k not in ("id", "seq")}))
            c.execute(vals.delete().where(vals.c.referral_id == row["id"]))
            rows = _value_rows(row)
            if rows:
                c.execute(vals.insert(), rows)
            counts["updated"] += 1

    # ------------------------------------------------------------------ reads
    def health(self):
        from sqlalchemy import distinct, func, select
        with self.engine.connect() as c:
            n = c.execute(select(func.count()).select_from(self.t["referrals"])).scalar()
            m = c.execute(select(func.count(distinct(self.t["decisions"].c.referral_id)))).scalar()
        return {"status": "ok", "referrals": int(n), "decided": int(m)}

    def _latest(self):
        from sqlalchemy import func, select
        d = self.t["decisions"]
        return select(d.c.referral_id, func.max(d.c.id).label("last_id")).group_by(d.c.referral_id).subquery()

    def queue(self, state="open", type=None, category=None, filters=None, limit=50, offset=0):  # noqa: A002
        """``{"total", "items"}`` in queue order; ``filters``: carried column -> value."""
        from sqlalchemy import and_, exists, func, select
        if state not in ("open", "decided", "all"):
            raise Invalid("state must be open, decided or all")
        if type is not None and type not in MISMATCH_TYPES:
            raise Invalid(f"unknown mismatch type: {type}")
        limit = max(1, min(int(limit), 1000))
        offset = max(0, int(offset))
        ref, d, vals = self.t["referrals"], self.t["decisions"], self.t["referral_values"]
        latest = self._latest()
        conds = []
        if state == "open":
            conds.append(latest.c.last_id.is_(None))
        elif state == "decided":
            conds.append(latest.c.last_id.is_not(None))
        if type:
            conds.append(ref.c.types.like(f"%|{type}|%"))
        if category:
            conds.append(ref.c.category == category)
        for name, value in (filters or {}).items():
            conds.append(exists().where(and_(vals.c.referral_id == ref.c.id, vals.c.name == name,
                                             vals.c.value == value)))
        joined = ref.outerjoin(latest, latest.c.referral_id == ref.c.id).outerjoin(d, d.c.id == latest.c.last_id)
        where = and_(*conds) if conds else True
        with self.engine.connect() as c:
            total = c.execute(select(func.count()).select_from(joined).where(where)).scalar()
            rows = c.execute(
                select(ref.c.id, ref.c.types, ref.c.category, ref.c.urgency, ref.c.score, d.c.decision,
                       d.c.reason, d.c.reviewer).select_from(joined).where(where)
                .order_by(ref.c.rank_safety, ref.c.rank_urgency, ref.c.rank_score, ref.c.n_types, ref.c.seq)
                .limit(limit).offset(offset)).all()
        items = [{"id": r.id, "mismatch_types": r.types.strip("|").split("|"), "category": r.category,
                  "urgency": r.urgency, "score": r.score, "state": "open" if r.decision is None else "decided",
                  "decision": r.decision, "reason": r.reason, "reviewer": r.reviewer} for r in rows]
        return {"total": int(total), "items": items}

    def next_open(self, after_id=None):
        """The first open referral in queue order other than ``after_id``."""
        for item in self.queue("open", limit=2)["items"]:
            if item["id"] != after_id:
                return item["id"]
        return None

    def facets(self, max_values=50):
        """Filter choices: mismatch types, categories and the carried columns
        with at most ``max_values`` distinct values (site, department ...)."""
        from sqlalchemy import distinct, func, select
        ref, vals = self.t["referrals"], self.t["referral_values"]
        with self.engine.connect() as c:
            cats = sorted(v for v in c.execute(select(ref.c.category).distinct()).scalars() if v)
            types = set()
            for t in c.execute(select(ref.c.types).distinct()).scalars():
                types.update(x for x in t.strip("|").split("|") if x)
            columns = {}
            counts = c.execute(select(vals.c.name, func.count(distinct(vals.c.value))).group_by(vals.c.name)).all()
            for name, n in counts:
                if n <= max_values:
                    columns[name] = sorted(v for v in c.execute(
                        select(vals.c.value).distinct().where(vals.c.name == name)).scalars() if v is not None)
        return {"types": [t for t in MISMATCH_TYPES if t in types], "categories": cats, "columns": columns}

    def referral(self, rid):
        """``{"record", "text", "ordered", "carried", "history"}``; NotFound."""
        from sqlalchemy import select
        ref, d = self.t["referrals"], self.t["decisions"]
        with self.engine.connect() as c:
            row = c.execute(select(ref).where(ref.c.id == str(rid))).first()
            if row is None:
                raise NotFound(f"no referral with id {rid}")
            history = c.execute(select(d).where(d.c.referral_id == row.id).order_by(d.c.id)).all()
        return {"record": json.loads(row.record), "text": row.text, "ordered": row.ordered,
                "carried": json.loads(row.carried), "history": [_decision_dict(h) for h in history]}

    # ------------------------------------------------------------------ writes
    def add_decision(self, body):
        """Append a decision (FORMATS.md body); returns it as stored."""
        clean = validate_decision(body)
        from sqlalchemy import select
        ref, d = self.t["referrals"], self.t["decisions"]
        with self._write() as c:
            if c.execute(select(ref.c.id).where(ref.c.id == clean["referral_id"])).first() is None:
                raise NotFound(f"no referral with id {clean['referral_id']}")
            clean["decided_at"] = _now()
            new_id = c.execute(d.insert().values(**clean)).inserted_primary_key[0]
            row = c.execute(select(d).where(d.c.id == new_id)).first()
        return _decision_dict(row)

    # ------------------------------------------------------------------ export
    def export_rows(self):
        """One row per decided referral (its latest decision), in queue order:
        id, text, ordered, label, reason, reviewer, decided_at, concept,
        comment, then the carried columns."""
        from sqlalchemy import select
        ref, d = self.t["referrals"], self.t["decisions"]
        latest = self._latest()
        q = (select(ref.c.id, ref.c.text, ref.c.ordered, ref.c.carried, d.c.decision, d.c.reason, d.c.reviewer,
                    d.c.decided_at, d.c.concept, d.c.comment)
             .select_from(ref.join(latest, latest.c.referral_id == ref.c.id).join(d, d.c.id == latest.c.last_id))
             .order_by(ref.c.seq))
        with self.engine.connect() as c:
            for r in c.execute(q):
                row = {"id": r.id, "text": r.text, "ordered": r.ordered,
                       "label": "mismatch" if r.decision == "confirm" else "ok",
                       "reason": r.reason or ("CONFIRMED" if r.decision == "confirm" else ""),
                       "reviewer": r.reviewer, "decided_at": _iso(r.decided_at), "concept": r.concept or "",
                       "comment": r.comment or ""}
                for k, v in json.loads(r.carried).items():
                    row.setdefault(k, v)
                yield row

    def dispose(self):
        self.engine.dispose()


def _decision_dict(row):
    return {"decision_id": row.id, "id": row.referral_id, "decision": row.decision, "reason": row.reason,
            "concept": row.concept, "comment": row.comment, "reviewer": row.reviewer,
            "decided_at": _iso(row.decided_at)}


def validate_decision(body):
    """The stored fields of a decision body, or Invalid with what is wrong."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    unknown = sorted(set(body) - {"id", "decision", "reason", "comment", "reviewer", "concept"})
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown)}")
    rid, decision = body.get("id"), body.get("decision")
    if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "" or len(str(rid)) > MAX_ID:
        raise Invalid("id must be a referral id")
    if decision not in DECISIONS:
        raise Invalid("decision must be confirm or dismiss")
    reason, concept = body.get("reason") or None, body.get("concept") or None
    if decision == "dismiss":
        if reason not in DISMISS_REASONS:
            raise Invalid(f"a dismissal needs a reason: one of {', '.join(DISMISS_REASONS)}")
    elif reason not in (None, "CONFIRMED"):
        raise Invalid("a confirmation takes no reason")
    if concept is not None and (reason != "EXTRACTION_MISS" or concept not in CONCEPTS):
        raise Invalid("concept is for EXTRACTION_MISS dismissals and must be a concept name")
    reviewer = body.get("reviewer")
    if not isinstance(reviewer, str) or not reviewer.strip() or len(reviewer) > MAX_REVIEWER:
        raise Invalid("reviewer must be a name")
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise Invalid(f"comment must be text of at most {MAX_COMMENT} characters")
    return {"referral_id": str(rid), "decision": decision, "reason": reason if decision == "dismiss" else None,
            "concept": concept, "comment": comment or None, "reviewer": reviewer.strip()}


# ---------------------------------------------------------------------- audit files

def _referral_row(it, audit_id):
    rec = it["record"]
    mm = rec.get("mismatch") or {}
    types = list(mm.get("types") or [])
    r = rec.get("recommendation") or {}
    score = mm.get("score")
    safety, urg, rank_score, n_types = queue_ranks(types, r.get("urgency"), score)
    payload = json.dumps({"r": rec, "t": it["text"], "o": it["ordered"], "c": it["carried"]}, sort_keys=True,
                         default=str)
    return {"id": it["id"], "seq": it["seq"], "audit_id": audit_id,
            "content_sha": hashlib.sha256(payload.encode("utf-8")).hexdigest(),
            "record": json.dumps(rec, default=str), "text": it["text"], "ordered": it["ordered"],
            "carried": json.dumps(it["carried"], default=str), "category": r.get("category"),
            "urgency": r.get("urgency"), "types": "|" + "|".join(types) + "|", "score": score,
            "rank_safety": safety, "rank_urgency": urg, "rank_score": rank_score, "n_types": -n_types}


def _value_rows(row):
    """Filterable carried values: non-blank scalars only (a nested value such
    as a gold annotation is kept in ``carried`` but is not a filter)."""
    return [{"referral_id": row["id"], "name": str(k)[:200], "value": str(v)}
            for k, v in json.loads(row["carried"]).items() if v is not None and not isinstance(v, (dict, list))]


RECORD_KEYS = ("id", "status", "error", "concepts", "evidence", "duration_weeks", "regions", "age_years",
               "recommendation", "ordered", "mismatch")


def read_audit(path, counts):
    """Flagged referrals of an audit output: dicts with id, record, text,
    ordered (raw order text) and carried columns. ``counts["rows"]`` counts
    every row read."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".jsonl":
        rows = _jsonl_records(path)
    elif ext == ".parquet":
        rows = _parquet_records(path)
    else:
        raise InputError(f"the review app loads an audit output in .jsonl or .parquet, not '{ext or path}'")
    for rec, extra in rows:
        counts["rows"] += 1
        mm = rec.get("mismatch") or {}
        if rec.get("status") != "ok" or not mm.get("types") or rec.get("id") is None:
            continue
        text = extra.pop("text", None)
        ordered = (rec.get("ordered") or {}).get("raw")
        extra.pop("ordered", None)
        yield {"id": str(rec["id"])[:MAX_ID], "record": rec, "text": text if isinstance(text, str) else None,
               "ordered": ordered, "carried": extra}


def _jsonl_records(path):
    with open(path, encoding="utf-8") as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise InputError(f"{os.path.basename(str(path))} line {k} is not JSON: is it an audit "
                                 "output (spine-audit audit ... --out FILE.jsonl)?") from None
            if not isinstance(obj, dict) or "recommendation" not in obj or "mismatch" not in obj:
                raise InputError(f"{os.path.basename(str(path))} line {k} is not a spine-audit result record")
            rec = {k2: obj.get(k2) for k2 in RECORD_KEYS}
            extra = {k2: v for k2, v in obj.items() if k2 not in RECORD_KEYS}
            yield rec, extra


def _split(v):
    return [x for x in str(v).split("|") if x] if v not in (None, "") and v == v else []


def _parquet_records(path):
    """Result records rebuilt from the flat Parquet columns (FORMATS.md); the
    evidence comes from the ``evidence`` column that ``--keep-text`` writes.
    Alternatives and citations are recomputed from the rules when the rule
    ids agree with the stored ones (the same rule file)."""
    import pyarrow.parquet as pq

    from ..rules import recommend
    from ..tables import FLAT_COLUMNS
    pf = pq.ParquetFile(path)
    names = set(pf.schema_arrow.names)
    if not {"mismatch_types", "rec_category", "status"} <= names:
        raise InputError(f"{os.path.basename(str(path))} is not a spine-audit audit output (no mismatch_types "
                         "column)")
    for batch in pf.iter_batches(batch_size=2000):
        for row in batch.to_pylist():
            concepts = {}
            for status in ("present", "negated", "family", "hypothetical"):
                for c in _split(row.get(f"concepts_{status}")):
                    concepts.setdefault(c, status)
            rec = {"id": row.get("id"), "status": row.get("status"), "error": row.get("error"),
                   "concepts": concepts,
                   "evidence": json.loads(row["evidence"]) if row.get("evidence") else [],
                   "duration_weeks": row.get("duration_weeks"), "regions": _split(row.get("regions")),
                   "age_years": row.get("age_years"), "recommendation": None, "ordered": None,
                   "mismatch": {"is_mismatch": row.get("mismatch"), "types": _split(row.get("mismatch_types")),
                                "score": row.get("mismatch_score")}}
            if row.get("status") == "ok" and row.get("rec_category"):
                again = recommend(concepts, rec["duration_weeks"], rec["regions"], rec["age_years"])
                same = again["rule_ids"] == _split(row.get("rec_rule_ids"))
                rec["recommendation"] = {
                    "category": row.get("rec_category"), "scenarios": _split(row.get("rec_scenarios")),
                    "modality": row.get("rec_modality"), "contrast": row.get("rec_contrast"),
                    "regions": _split(row.get("rec_regions")), "urgency": row.get("rec_urgency"),
                    "flags": _split(row.get("rec_flags")),
                    "alternatives": again["alternatives"] if same else [],
                    "rule_ids": _split(row.get("rec_rule_ids")), "citations": again["citations"] if same else []}
                rec["ordered"] = {"raw": row.get("ordered"), "parsed": row.get("ordered_parsed"),
                                  "modality": row.get("ordered_modality"), "contrast": row.get("ordered_contrast"),
                                  "regions": _split(row.get("ordered_regions"))}
            extra = {k: v for k, v in row.items() if k not in FLAT_COLUMNS and k != "evidence"}
            yield rec, extra
