"""Assertion detection alone on public corpora (NegEx, ConText, BioScope).

Each corpus line gives a sentence, the target concept's character offsets and
a label. The concept span is given, so this measures assertion only, as the
published NegEx and ConText evaluations do. Systems compared in one run:

* ``spine-audit``: the project's sentence splitter, negspacy with its own
  negation, family and hypothetical lists, and windowed following cues
  (referral semantics: "rule out", "r/o", "evaluate for", "versus" do not
  negate);
* ``spine-audit (NegEx conventions)``: the same, with those suspicion cues
  negating as the public corpora annotate them - reported beside, never used
  for referrals;
* ``negspacy en_clinical``: negspacy's stock clinical termset;
* ``NegEx triggers``: the original NegEx trigger list (negex_triggers.txt) in
  negspacy.

BioScope's ``possible`` counts as present (a suspected finding is a reason to
image).
"""

import json
import os
from collections import Counter

from spacy.tokens import Span

from .errors import InputError
from .extract import BENCH_LABEL

REFERRAL_ONLY_DIFFERENCES = ["rule out", "rules out", "r/o", "ro", "evaluate for", "versus", "vs"]


def read_corpus(path, split="test"):
    if not os.path.exists(path):
        raise InputError(f"corpus file not found: {path}")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if split != "all" and row.get("split") != split:
                continue
            label = row.get("label") or row.get("negation")
            row["gold_negated"] = label == "negated"
            rows.append(row)
    return rows


def _negex_trigger_termset(path):
    kinds = {"[PSEU]": "pseudo_negations", "[PREN]": "preceding_negations", "[POST]": "following_negations",
             "[CONJ]": "termination"}
    ts = {v: [] for v in kinds.values()}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = [p for p in line.rstrip("\n").split("\t") if p]
            if len(parts) >= 2 and parts[-1] in kinds:
                ts[kinds[parts[-1]]].append(parts[0].strip())
    return ts


def _target(doc, start, end):
    """The given concept offsets as a token span (None when they do not align)."""
    span = doc.char_span(start, end, alignment_mode="expand")
    return None if span is None else Span(doc, span.start, span.end, label=BENCH_LABEL)


class SpineAssertionSystem:
    """spine-audit's assertion stage run on a given span."""

    def __init__(self, negex_conventions=False):
        from .extract import build_nlp
        self.nlp = build_nlp(extra_negations=REFERRAL_ONLY_DIFFERENCES if negex_conventions else None)
        self.assertion = self.nlp.get_pipe("spine_assertion")
        self.name = "spine-audit (NegEx conventions)" if negex_conventions else "spine-audit"

    def status(self, text, start, end):
        from .extract.components import CONCEPT_KEY
        doc = self.nlp.make_doc(text)
        doc = self.nlp.get_pipe("spine_sentences")(doc)
        target = _target(doc, start, end)
        if target is None:
            return "present"
        doc.spans[CONCEPT_KEY] = [target]
        for name in ("negation", "family", "hypothetical"):
            doc = self.nlp.get_pipe(name)(doc)
        sections = self.assertion._section_assertion(doc)
        cues = self.assertion._following_cues(doc)
        return self.assertion.mention_status(doc.spans[CONCEPT_KEY][0], sections, cues)


class NegspacySystem:
    """Plain negspacy (sentencizer + negex) with a given termset."""

    def __init__(self, name, termset):
        import negspacy.negation  # noqa: F401
        import spacy
        self.name = name
        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        self.neg = self.nlp.add_pipe("negex", config={"neg_termset": termset, "span_keys": ["target"],
                                                      "extension_name": "bench_negex"})

    def status(self, text, start, end):
        doc = self.nlp.make_doc(text)
        doc = self.nlp.get_pipe("sentencizer")(doc)
        target = _target(doc, start, end)
        if target is None:
            return "present"
        doc.spans["target"] = [target]
        doc = self.neg(doc)
        return "negated" if doc.spans["target"][0]._.bench_negex else "present"


def systems(negex_triggers_path=None):
    from negspacy.termsets import termset
    out = [SpineAssertionSystem(False), SpineAssertionSystem(True),
           NegspacySystem("negspacy en_clinical", termset("en_clinical").get_patterns())]
    if negex_triggers_path and os.path.exists(negex_triggers_path):
        out.append(NegspacySystem("NegEx triggers", _negex_trigger_termset(negex_triggers_path)))
    return out


def _scores(golds, preds):
    tp = sum(g and p for g, p in zip(golds, preds))
    fp = sum((not g) and p for g, p in zip(golds, preds))
    fn = sum(g and not p for g, p in zip(golds, preds))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
            "tp": tp, "fp": fp, "fn": fn}


def run_benchmark(path, split="test", negex_triggers_path=None, limit=None):
    """Metrics per system on one corpus file (a dict, JSON-ready)."""
    rows = read_corpus(path, split)
    if limit:
        rows = rows[:limit]
    if not rows:
        raise InputError(f"{os.path.basename(path)} has no rows in split '{split}'")
    if negex_triggers_path is None:
        guess = os.path.join(os.path.dirname(path), "negex_triggers.txt")
        negex_triggers_path = guess if os.path.exists(guess) else os.path.join(
            os.path.dirname(path), "..", "negex", "negex_triggers.txt")
    golds = [r["gold_negated"] for r in rows]
    labels = Counter(r.get("label") or r.get("negation") for r in rows)
    result = {"corpus": os.path.basename(path), "split": split, "n": len(rows), "labels": dict(labels),
              "systems": {}}
    for system in systems(negex_triggers_path):
        statuses = [system.status(r["text"], r["start"], r["end"]) for r in rows]
        preds = [s == "negated" for s in statuses]
        entry = {"n": len(rows), "accuracy": sum(g == p for g, p in zip(golds, preds)) / len(rows),
                 "negated": _scores(golds, preds)}
        if "possible" in labels:
            poss = [s for s, r in zip(statuses, rows) if r.get("label") == "possible"]
            entry["possible"] = {"n": len(poss), "counted_present": sum(s != "negated" for s in poss) / len(poss)}
            # BioScope marks many plainly negated findings ("There is no pneumothorax")
            # as possible; this project counts possible as present, so those score as
            # false negations. The figure without the possible items is shown beside.
            keep = [k for k, r in enumerate(rows) if r.get("label") != "possible"]
            kg, kp = [golds[k] for k in keep], [preds[k] for k in keep]
            entry["excluding_possible"] = {"n": len(keep),
                                           "accuracy": sum(g == p for g, p in zip(kg, kp)) / len(keep),
                                           "negated": _scores(kg, kp)}
        if "experiencer" in rows[0] and isinstance(system, SpineAssertionSystem):
            fam_gold = [r["experiencer"] == "family member" for r in rows]
            fam_pred = [s == "family" for s in statuses]
            entry["experiencer"] = {"accuracy": sum(g == p for g, p in zip(fam_gold, fam_pred)) / len(rows),
                                    "family": _scores(fam_gold, fam_pred)}
            hyp_gold = [r["temporality"] == "not particular" for r in rows]
            hyp_pred = [s == "hypothetical" for s in statuses]
            entry["hypothetical"] = {"accuracy": sum(g == p for g, p in zip(hyp_gold, hyp_pred)) / len(rows),
                                     "hypothetical": _scores(hyp_gold, hyp_pred),
                                     "note": "ConText 'not particular' temporality compared with status "
                                             "hypothetical; historical temporality is not reported by spine-audit"}
        result["systems"][system.name] = entry
    # spine-audit's own figures also at the top level (n, accuracy, negated.*, possible)
    result.update({k: v for k, v in result["systems"]["spine-audit"].items() if k != "n"})
    return result


def format_benchmark(result):
    lines = [f"{result['corpus']} [{result['split']}] n={result['n']} labels={result['labels']}",
             f"  {'system':<34}{'accuracy':>9}{'neg P':>8}{'neg R':>8}{'neg F1':>8}"]
    for name, e in result["systems"].items():
        n = e["negated"]
        lines.append(f"  {name:<34}{e['accuracy']:>9.3f}{n['precision']:>8.3f}{n['recall']:>8.3f}{n['f1']:>8.3f}")
        if "excluding_possible" in e:
            x = e["excluding_possible"]["negated"]
            lines.append(f"  {'  without possible items':<34}{e['excluding_possible']['accuracy']:>9.3f}"
                         f"{x['precision']:>8.3f}{x['recall']:>8.3f}{x['f1']:>8.3f}"
                         f"   (possible counted present: {e['possible']['counted_present']:.3f})")
        if "experiencer" in e:
            lines.append(f"  {'':<34}experiencer acc {e['experiencer']['accuracy']:.3f}, "
                         f"hypothetical acc {e['hypothetical']['accuracy']:.3f}")
    return "\n".join(lines)
