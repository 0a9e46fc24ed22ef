"""Rendering of evaluation metrics: terminal text, JSON, Markdown, HTML.

Pure formatting of the dict returned by ``pipeline.evaluate``; no pipeline
work happens here. The HTML report is self-contained (inline CSS and SVG).
"""

import html
import json
import os

from .errors import OutputError


def _pct(x):
    return f"{100 * x:.1f}"


def _ci(metrics, name):
    ci = (metrics.get("headline_ci95") or {}).get(name)
    return f" [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else ""


def headline_rows(m):
    return [
        ("concept micro-F1 (present)", m["headline"]["concept_micro_f1"], _ci(m, "concept_micro_f1")),
        ("assertion accuracy", m["headline"]["assertion_accuracy"], _ci(m, "assertion_accuracy")),
        ("recommendation modality+contrast+regions", m["headline"]["recommendation_exact"],
         _ci(m, "recommendation_exact")),
        ("mismatch detection F1", m["headline"]["mismatch_f1"], _ci(m, "mismatch_f1")),
    ]


def format_text(m):
    lines = [f"documents: {m['n_documents']}", "", "headline (95% bootstrap CI)"]
    for name, value, ci in headline_rows(m):
        lines.append(f"  {name:<44}{_pct(value):>6}{ci}")
    c = m["concepts"]
    lines += ["", f"concepts: micro P/R/F1 {_pct(c['micro']['precision'])}/{_pct(c['micro']['recall'])}/"
              f"{_pct(c['micro']['f1'])}   macro F1 {_pct(c['macro']['f1'])}",
              f"  {'concept':<34}{'P':>7}{'R':>7}{'F1':>7}{'support':>9}"]
    for cid, v in c["per_concept"].items():
        lines.append(f"  {cid:<34}{_pct(v['precision']):>7}{_pct(v['recall']):>7}{_pct(v['f1']):>7}{v['support']:>9}")
    a = m["assertion"]
    lines += ["", f"assertion accuracy {_pct(a['accuracy'])} over {a['n']} gold mentions (rows gold, columns predicted)",
              "  " + " " * 14 + "".join(f"{p[:12]:>13}" for p in a["labels"])]
    for g in a["labels"]:
        lines.append(f"  {g[:14]:<14}" + "".join(f"{a['confusion'][g][p]:>13}" for p in a["labels"]))
    r = m["recommendation"]
    lines += ["", "recommendation accuracy: " + ", ".join(
        f"{k} {_pct(v['accuracy'])}" for k, v in r.items()),
        f"duration (within 0.5 wk) {_pct(m['duration']['accuracy'])}   regions {_pct(m['regions']['accuracy'])}"
        + (f"   age (exact) {_pct(m['age']['accuracy'])} (n={m['age']['n']})" if m.get("age", {}).get("n") else "")
        + f"   order parse {_pct(m['order_parse']['accuracy'])} (n={m['order_parse']['n']})"]
    d = m["mismatch"]["detection"]
    lines.append(f"mismatch detection P/R/F1 {_pct(d['precision'])}/{_pct(d['recall'])}/{_pct(d['f1'])} "
                 f"(tp {d['tp']}, fp {d['fp']}, fn {d['fn']}); exact type lists "
                 f"{_pct(m['mismatch']['exact_types']['accuracy'])}")
    for t, v in m["mismatch"]["per_type"].items():
        lines.append(f"  {t:<28} P {_pct(v['precision']):>6} R {_pct(v['recall']):>6} F1 {_pct(v['f1']):>6}"
                     f"  support {v['support']}")
    if "rules_on_gold" in m:
        g = m["rules_on_gold"]
        lines.append(f"rules on gold concepts {_pct(g['recommendation']['accuracy'])}, parser on gold orders "
                     f"{_pct(g['order_parse']['accuracy'])}, compare on gold inputs {_pct(g['mismatch']['accuracy'])}")
    return "\n".join(lines)


def _svg_data_uri(svg):
    import base64
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _svg_heatmap(a, cell=46):
    labels = a["labels"]
    top = max(1, max(a["confusion"][g][p] for g in labels for p in labels))
    pad = 95
    parts = []
    for i, g in enumerate(labels):
        parts.append(f"<text x='0' y='{pad + i * cell + cell // 2 + 4}' font-size='11'>{html.escape(g)}</text>")
        for j, p in enumerate(labels):
            v = a["confusion"][g][p]
            shade = int(255 - 200 * v / top)
            parts.append(f"<rect x='{pad + j * cell}' y='{pad + i * cell}' width='{cell - 2}' height='{cell - 2}' "
                         f"fill='rgb({shade},{shade},255)'/><text x='{pad + j * cell + 8}' "
                         f"y='{pad + i * cell + cell // 2 + 4}' font-size='11'>{v}</text>")
    for j, p in enumerate(labels):
        parts.append(f"<text x='{pad + j * cell + 4}' y='{pad - 8}' font-size='10' "
                     f"transform='rotate(-35 {pad + j * cell + 4} {pad - 8})'>{html.escape(p)}</text>")
    size = pad + cell * len(labels) + 5
    return f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}'>{''.join(parts)}</svg>"


def format_markdown(m, source=None):
    out = [f"# spine-audit evaluation{f': {os.path.basename(source)}' if source else ''}", "",
           f"{m['n_documents']} documents.", "",
           f"![per-concept F1]({_svg_data_uri(_svg_bars([(c, v['f1']) for c, v in m['concepts']['per_concept'].items()]))})",
           "", f"![assertion confusion matrix]({_svg_data_uri(_svg_heatmap(m['assertion']))})", "",
           "| measure | value (%) | 95% CI |", "|---|---:|---|"]
    for name, value, ci in headline_rows(m):
        out.append(f"| {name} | {_pct(value)} | {ci.strip()} |")
    out += ["", "## Concepts (document level, status present)", "",
            "| concept | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for cid, v in m["concepts"]["per_concept"].items():
        out.append(f"| {cid} | {_pct(v['precision'])} | {_pct(v['recall'])} | {_pct(v['f1'])} | {v['support']} |")
    a = m["assertion"]
    out += ["", f"## Assertion (accuracy {_pct(a['accuracy'])}, n = {a['n']})", "",
            "| gold \\ predicted | " + " | ".join(a["labels"]) + " |", "|---|" + "---:|" * len(a["labels"])]
    for g in a["labels"]:
        out.append(f"| {g} | " + " | ".join(str(a["confusion"][g][p]) for p in a["labels"]) + " |")
    out += ["", "## Recommendation, duration, regions, orders", "", "| field | accuracy (%) | n |", "|---|---:|---:|"]
    for k, v in m["recommendation"].items():
        out.append(f"| recommendation.{k} | {_pct(v['accuracy'])} | {v['n']} |")
    for k in ("duration", "regions", "age", "order_parse"):
        out.append(f"| {k} | {_pct(m[k]['accuracy'])} | {m[k]['n']} |")
    if "spans" in m:
        out += ["", f"## Spans ({m['spans']['n_documents']} documents with span-level gold)", "",
                "| match | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        for k in ("exact", "overlap"):
            v = m["spans"][k]
            out.append(f"| {k} | {_pct(v['precision'])} | {_pct(v['recall'])} | {_pct(v['f1'])} | {v['support']} |")
    out += ["", "## Mismatch", "", "| type | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    d = m["mismatch"]["detection"]
    out.append(f"| any mismatch | {_pct(d['precision'])} | {_pct(d['recall'])} | {_pct(d['f1'])} | {d['support']} |")
    for t, v in m["mismatch"]["per_type"].items():
        out.append(f"| {t} | {_pct(v['precision'])} | {_pct(v['recall'])} | {_pct(v['f1'])} | {v['support']} |")
    return "\n".join(out) + "\n"


def _svg_bars(items, width=560, bar_h=16):
    """Horizontal bar chart (values in 0..1) as inline SVG."""
    h = bar_h * len(items) + 10
    rows = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * bar_h
        w = max(1, int((width - 320) * value))
        rows.append(f"<text x='0' y='{y + 12}' font-size='11'>{html.escape(label)}</text>"
                    f"<rect x='250' y='{y + 2}' width='{w}' height='{bar_h - 4}' fill='#3b6fd8'/>"
                    f"<text x='{255 + w}' y='{y + 12}' font-size='11'>{_pct(value)}</text>")
    return f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h}'>{''.join(rows)}</svg>"


def format_html(m, source=None):
    import re
    md = format_markdown(m, source)
    body = []
    table = []

    def flush():
        if table:
            head, rows = table[0], table[2:]
            body.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c.strip())}</th>" for c in head.strip("|").split("|"))
                        + "</tr></thead><tbody>" + "".join(
                            "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in r.strip("|").split("|")) + "</tr>"
                            for r in rows) + "</tbody></table>")
            table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("!["):
            continue  # the images are drawn inline below
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    flush()
    chart = _svg_bars([(c, v["f1"]) for c, v in m["concepts"]["per_concept"].items()])
    chart += "<h2>Assertion confusion matrix</h2>" + _svg_heatmap(m["assertion"])
    chart = re.sub(r"xmlns='[^']*'", "", chart)  # inline SVG needs no namespace URL
    css = ("body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:1000px}table{border-collapse:collapse;"
           "margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;font-size:.85rem;text-align:right}"
           "td:first-child,th:first-child{text-align:left}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>spine-audit evaluation</title>"
            f"<style>{css}</style></head><body>{''.join(body[:3])}<h2>Per-concept F1</h2>{chart}"
            f"{''.join(body[3:])}</body></html>")


def write_report(metrics, path, source=None):
    ext = os.path.splitext(path)[1].lower()
    if ext == ".json":
        text = json.dumps(metrics, indent=2)
    elif ext == ".md":
        text = format_markdown(metrics, source)
    elif ext == ".html":
        text = format_html(metrics, source)
    else:
        raise OutputError(f"unknown report format '{ext}': use .json, .md or .html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
