"""Self-contained HTML report for radiology QA reviewers.

One file, no network, no CDN: inline CSS, inline SVG-free bar charts, and a
few lines of inline JavaScript for filtering. Every piece of note text is
HTML-escaped, so a note that contains ``<script>`` renders as text.
"""

import csv
import heapq
import html
import io
import json
import urllib.parse
from collections import Counter

from .describe import mismatch_reasons, protocol_text, rule_details
from .vocab import SAFETY_MISMATCH_TYPES, URGENCIES

MAX_FLAGGED = 2000  # referrals shown in detail; the counts cover every row
MAX_ERRORS = 500    # rows with errors listed (ids and messages; never note text)
MAX_SPELLINGS = 10_000  # distinct unparsed order spellings counted (bounded memory)
SHOW_SPELLINGS = 200
STATUS_CLASS = {"present": "st-present", "negated": "st-negated", "family": "st-family",
                "hypothetical": "st-hypothetical"}


def compact_record(rec, text, ordered_raw, carried=None):
    """What the report needs of one row (small unless the row is flagged);
    ``carried``: the --group-by / --by-month columns, shown beside it."""
    mm = rec.get("mismatch") or {}
    flagged = rec.get("status") == "ok" and bool(mm.get("types"))
    if not flagged:
        small = {"flagged": False}
        if rec.get("status") == "error":
            small["error"] = {"id": None if rec.get("id") is None else str(rec["id"]), "message": rec.get("error")}
        elif rec.get("ordered") and not rec["ordered"].get("parsed"):
            small["unparsed"] = str(rec["ordered"].get("raw"))[:200]
        return small
    r = rec["recommendation"]
    return {
        "flagged": True, "id": rec["id"], "text": text if isinstance(text, str) else "",
        "evidence": [{k: e[k] for k in ("concept", "start", "end", "status")} for e in rec["evidence"]],
        "types": mm["types"], "score": mm.get("score"),
        "category": r["category"], "urgency": r["urgency"],
        "recommended": {k: r[k] for k in ("modality", "contrast", "regions", "flags", "alternatives")},
        "ordered": rec["ordered"], "rule_ids": r["rule_ids"], "citations": r["citations"],
        "reasons": mismatch_reasons(rec),
        "concepts": rec["concepts"], "duration_weeks": rec["duration_weeks"], "age_years": rec.get("age_years"),
        "carried": {k: (None if v is None else str(v)) for k, v in (carried or {}).items()},
    }


def severity_key(item):
    """Smaller sorts first: safety types, emergent, then higher model score."""
    safety = any(t in SAFETY_MISMATCH_TYPES for t in item["types"])
    urgency = URGENCIES.index(item["urgency"]) if item["urgency"] in URGENCIES else len(URGENCIES)
    score = item.get("score")
    return (0 if safety else 1, urgency, -(score if score is not None else -1), -len(item["types"]))


def _esc(x):
    return html.escape("" if x is None else str(x), quote=True)


def highlight(text, evidence):
    """Note text with evidence spans marked by status; everything escaped."""
    out, pos = [], 0
    for ev in sorted(evidence, key=lambda e: (e["start"], -(e["end"] - e["start"]))):
        s, e = ev["start"], ev["end"]
        if s < pos or e > len(text):
            continue  # overlapping or out of range: keep the first, longest mark
        out.append(_esc(text[pos:s]))
        cls = STATUS_CLASS.get(ev["status"], "")
        out.append(f'<mark class="{cls}" title="{_esc(ev["concept"])}: {_esc(ev["status"])}">'
                   f'{_esc(text[s:e])}</mark>')
        pos = e
    out.append(_esc(text[pos:]))
    return "".join(out)


def _breakdown_table(rows):
    """Mismatch rate per group (--group-by / --by-month), with its interval."""
    if not rows:
        return ""
    cols = sorted({k for r in rows for k in r["group"]})
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = "".join(f"<td>{_esc(r['group'].get(c) if r['group'].get(c) is not None else '(blank)')}</td>"
                        for c in cols)
        rate = "" if r["mismatch_rate"] is None else (
            f"{100 * r['mismatch_rate']:.1f}% [{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}]")
        types = ", ".join(f"{t} {n}" for t, n in r["mismatch_types"].items())
        body.append(f"<tr class='group'>{cells}<td>{r['orders_compared']:,}</td><td>{r['mismatches']:,}</td>"
                    f"<td>{_esc(rate)}</td><td>{_esc(types)}</td></tr>")
    return ("<h2>Mismatch rate by group</h2><p class='muted'>Orders compared, mismatches and the mismatch "
            "rate with its 95% Wilson interval, per group.</p><table id='groups'><thead><tr>" + head
            + "<th>compared</th><th>mismatches</th><th>rate (95% CI)</th><th>by type</th></tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


def _bars(counts, total, label):
    """One bar per key, its length proportional to its share of ``total``
    (100% = the full track), so bars compare across charts."""
    if not counts:
        return f"<p class='muted'>No {label}.</p>"
    rows = []
    for key, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        pct = 100 * n / total if total else 0
        rows.append(f"<div class='bar-row'><span class='bar-label'>{_esc(key)}</span>"
                    f"<span class='track'><span class='bar' style='width:{max(0.5, min(100.0, pct)):.1f}%'></span>"
                    f"</span><span class='bar-n'>{n:,} ({pct:.1f}%)</span></div>")
    return "\n".join(rows)


def flagged_csv(flagged):
    """The flagged list as CSV text (no note text): what a reviewer filters in a spreadsheet."""
    from .tables import extra_columns, neutralise
    carried = extra_columns(r.get("carried") or {} for r in flagged)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "mismatch_types", "reasons", "category", "urgency", "score", "ordered_raw", "ordered",
                "recommended", "rule_ids"] + carried)
    for r in flagged:
        w.writerow([neutralise(x) for x in [
            r["id"], "|".join(r["types"]), " / ".join(x["reason"] for x in r.get("reasons") or []), r["category"],
            r["urgency"], "" if r.get("score") is None else r["score"], (r["ordered"] or {}).get("raw") or "",
            protocol_text(r["ordered"]), protocol_text(r["recommended"]), "|".join(r["rule_ids"])]
            + [(r.get("carried") or {}).get(c) or "" for c in carried]])
    return buf.getvalue()


def _problems(errors, n_errors, spellings, n_unparsed):
    """Rows with errors (id and message) and the order spellings the parser
    did not read, most frequent first (add them to orders.yaml)."""
    parts = ["<h2>Rows with errors</h2>"]
    if not n_errors:
        parts.append("<p class='muted'>None.</p>")
    else:
        parts.append(f"<p class='muted'>{n_errors:,} rows; showing {len(errors):,}. Every row still has an output "
                     "row with status <code>error</code>.</p><table id='errors'><thead><tr><th>id</th><th>error</th>"
                     "</tr></thead><tbody>"
                     + "".join(f"<tr><td>{_esc(e['id'])}</td><td>{_esc(e['message'])}</td></tr>" for e in errors)
                     + "</tbody></table>")
    parts.append("<h2>Unparsed orders</h2>")
    if not n_unparsed:
        parts.append("<p class='muted'>None: every order was read.</p>")
    else:
        top = spellings.most_common(SHOW_SPELLINGS)
        parts.append(f"<p class='muted'>{n_unparsed:,} orders were not read, so they were not compared. Their "
                     "spellings, most frequent first: add the common ones to the order vocabulary "
                     "(<code>orders.yaml</code>).</p><table id='unparsed'><thead><tr><th>order as written</th>"
                     "<th>rows</th></tr></thead><tbody>"
                     + "".join(f"<tr><td>{_esc(k)}</td><td>{n:,}</td></tr>" for k, n in top) + "</tbody></table>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1d2330;max-width:1200px}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d7dbe3;border-radius:6px;padding:.6rem 1rem}
.card b{display:block;font-size:1.3rem}.muted{color:#6b7385}
.bar-row{display:flex;align-items:center;gap:.5rem;margin:.15rem 0}.bar-label{width:16rem;font-size:.85rem}
.track{display:inline-block;width:200px;height:.8rem;background:#eef1f7;border-radius:2px}
.bar{display:block;height:.8rem;background:#3b6fd8;border-radius:2px}.bar-n{font-size:.8rem;color:#444}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:1rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e3e6ec;padding:.35rem;text-align:left;
vertical-align:top;font-size:.88rem}
.tag{display:inline-block;background:#eef1f7;border-radius:3px;padding:0 .3rem;margin:0 .15rem .15rem 0;font-size:.78rem}
.tag.safety{background:#fde2e1;color:#8a1c14}.urg-EMERGENT{color:#b0170c;font-weight:600}
.note{white-space:pre-wrap;background:#fafbfc;border:1px solid #e3e6ec;padding:.5rem;border-radius:4px}
mark{padding:0 .1rem;border-radius:2px}.st-present{background:#ffe08a}.st-negated{background:#d5e8d4;
text-decoration:line-through}.st-family{background:#dae8fc}.st-hypothetical{background:#e1d5e7;font-style:italic}
.side{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}.legend mark{margin-right:.5rem}
details summary{cursor:pointer}.filters{margin:.5rem 0}.filters select{margin-right:1rem}
"""

_JS = """
(function(){
  var t=document.getElementById('f-type'),c=document.getElementById('f-cat'),n=document.getElementById('f-n');
  function apply(){
    var tv=t.value,cv=c.value,shown=0;
    document.querySelectorAll('tr.flagged').forEach(function(r){
      var ok=(!tv||(' '+r.getAttribute('data-types')+' ').indexOf(' '+tv+' ')>=0)&&(!cv||r.getAttribute('data-category')===cv);
      r.style.display=ok?'':'none'; var d=document.getElementById('d-'+r.id.slice(2)); if(d){d.style.display=ok?'':'none';}
      if(ok){shown++;}
    });
    n.textContent=shown;
  }
  t.addEventListener('change',apply);c.addEventListener('change',apply);apply();
})();
"""


def write_report(rows, summary, path, max_flagged=MAX_FLAGGED):
    """Write the report from compact rows (an iterable) and the run summary."""
    n_flagged = 0
    errors, spellings = [], Counter()
    n_errors = n_unparsed = 0

    def flagged_rows():
        nonlocal n_flagged, n_errors, n_unparsed
        for seq, row in enumerate(rows):
            if row.get("flagged"):
                n_flagged += 1
                yield severity_key(row), seq, row
            elif "error" in row:
                n_errors += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(row["error"])
            elif "unparsed" in row:
                n_unparsed += 1
                key = " ".join(row["unparsed"].split())
                if key in spellings or len(spellings) < MAX_SPELLINGS:
                    spellings[key] += 1

    # the most severe max_flagged rows, in severity then input order (bounded memory)
    flagged = [row for _, _, row in heapq.nsmallest(max_flagged, flagged_rows(), key=lambda t: t[:2])]
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(flagged, summary, n_flagged, problems=(errors, n_errors, spellings, n_unparsed)))


def _rule_item(d):
    sources = "".join(
        f"<li>{_esc(c['title'])}{_esc(', variant ' + str(c['variant'])) if c.get('variant') else ''}"
        f"{_esc(': “' + c['quote'] + '”') if c.get('quote') else ''}</li>" for c in d["sources"])
    return (f"<li>{_esc(d['title'])} <span class='muted'>({_esc(d['id'])})</span>"
            + (f"<ul>{sources}</ul>" if sources else "") + "</li>")


def render(flagged, s, n_flagged=None, problems=None):
    n_flagged = len(flagged) if n_flagged is None else n_flagged
    compared = s.get("orders_compared", 0)
    types = sorted({t for r in flagged for t in r["types"]})
    cats = sorted({r["category"] for r in flagged})
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>spine-audit QA report</title>", f"<style>{_CSS}</style></head><body>",
        f"<h1>spine-audit QA report</h1><p class='muted'>{_esc(s.get('input'))}: "
        f"{s.get('rows', 0):,} referrals. Guideline recommendations follow the rule file shipped with "
        "spine-audit; each flagged referral lists the rules and sources behind it.</p>",
        "<div class='cards'>",
        f"<div class='card'><b>{s.get('rows', 0):,}</b>referrals</div>",
        f"<div class='card'><b>{compared:,}</b>orders compared</div>",
        f"<div class='card'><b>{s.get('mismatches', 0):,}</b>mismatches"
        + (f" ({100 * s.get('mismatches', 0) / compared:.1f}%)" if compared else "") + "</div>",
        f"<div class='card'><b>{s.get('orders_unparsed', 0):,}</b>unparsed orders</div>",
        f"<div class='card'><b>{s.get('errors', 0):,}</b>rows with errors</div>",
        "</div>",
        "<div class='charts'>",
        f"<section><h2>Mismatch rate by type</h2>{_bars(s.get('mismatch_types', {}), compared, 'mismatches')}</section>",
        f"<section><h2>Mismatches by category</h2>{_bars(s.get('mismatch_by_category', {}), compared, 'mismatches')}</section>",
        f"<section><h2>Mismatches by urgency</h2>{_bars(s.get('mismatch_by_urgency', {}), compared, 'mismatches')}</section>",
        "</div>",
        _breakdown_table(s.get("breakdown")),
        "<h2>Flagged referrals</h2>",
        f"<p class='muted'>Sorted by severity: safety types (gadolinium, MRI safety, contrast only) first, "
        f"then emergent, urgent and routine; then by model score when a model was used. "
        f"Showing {len(flagged):,} of {n_flagged:,}. "
        f"<a id='csv-download' download='flagged_referrals.csv' href='data:text/csv;charset=utf-8,"
        f"{_esc(urllib.parse.quote(flagged_csv(flagged)))}'>Download this list as CSV</a> (no note text).</p>",
        "<p class='legend'>Evidence: <mark class='st-present'>present</mark><mark class='st-negated'>negated</mark>"
        "<mark class='st-family'>family</mark><mark class='st-hypothetical'>hypothetical</mark></p>",
        "<div class='filters'><label>Mismatch type <select id='f-type'><option value=''>all</option>"
        + "".join(f"<option value='{_esc(t)}'>{_esc(t)}</option>" for t in types)
        + "</select></label><label>Category <select id='f-cat'><option value=''>all</option>"
        + "".join(f"<option value='{_esc(c)}'>{_esc(c)}</option>" for c in cats)
        + "</select></label> <span id='f-n'></span> shown</div>",
        "<table id='flagged'><thead><tr><th>#</th><th>id</th><th>age</th><th>mismatch</th><th>category</th><th>urgency</th>"
        "<th>score</th><th>ordered</th><th>recommended</th></tr></thead><tbody>",
    ]
    for k, r in enumerate(flagged):
        tags = "".join(f"<span class='tag{' safety' if t in SAFETY_MISMATCH_TYPES else ''}'>{_esc(t)}</span>"
                       for t in r["types"])
        score = "" if r.get("score") is None else f"{r['score']:.2f}"
        parts.append(
            f"<tr class='flagged' id='r-{k}' data-types='{_esc(' '.join(r['types']))}' "
            f"data-category='{_esc(r['category'])}'><td>{k + 1}</td><td>{_esc(r['id'])}"
            + "".join(f"<br><span class='muted'>{_esc(c)}: {_esc(v)}</span>" for c, v in (r.get('carried') or {}).items())
            + "</td>"
            f"<td>{_esc(r.get('age_years'))}</td><td>{tags}</td>"
            f"<td>{_esc(r['category'])}</td><td class='urg-{_esc(r['urgency'])}'>{_esc(r['urgency'])}</td>"
            f"<td>{score}</td><td>{_esc(protocol_text(r['ordered']))}</td><td>{_esc(protocol_text(r['recommended']))}</td></tr>")
        alts = ", ".join(f"{a['modality']}/{a['contrast'] or '-'}" for a in r["recommended"]["alternatives"]) or "none"
        flags = ", ".join(r["recommended"]["flags"]) or "none"
        parts.append(
            f"<tr id='d-{k}'><td></td><td colspan='8'><details><summary>note, evidence and rules</summary>"
            f"<div class='note'>{highlight(r['text'], r['evidence'])}</div>"
            f"<div class='side'><div><b>Ordered</b><br>{_esc(r['ordered'].get('raw'))}<br>"
            f"{_esc(protocol_text(r['ordered']))}</div><div><b>Recommended</b><br>{_esc(protocol_text(r['recommended']))}"
            f"<br>flags: {_esc(flags)}<br>also acceptable: {_esc(alts)}</div></div>"
            + "<p><b>Why it was flagged</b></p><ul class='reasons'>"
            + "".join(f"<li>{_esc(x['reason'])}</li>" for x in r.get("reasons") or [])
            + "</ul><p><b>Rules and sources</b></p><ol class='rules'>"
            + "".join(_rule_item(d) for d in rule_details(r["rule_ids"]))
            + "</ol></details></td></tr>")
    parts.append("</tbody></table>")
    if problems is not None:
        parts.append(_problems(*problems))
    parts.append(f"<script type='application/json' id='summary'>{_esc(json.dumps(s))}</script>")
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts)
