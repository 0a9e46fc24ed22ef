"""Write notebooks/1.0-evaluation.ipynb (without outputs) from the cells below.

The notebook is code kept under review: edit the cells here, run this script,
commit the result. `make notebooks` executes it headlessly.
"""

from pathlib import Path

import nbformat

CELLS = [
    ("md", """# 1.0 Evaluation of spine-audit

This notebook scores the installed `pipeline` package on

1. the shared gold-annotated development referrals (`../shared/data/dev/`), which the
   lexicons were tuned on: an upper bound, not an estimate for new notes;
2. the public assertion corpora (NegEx, ConText, BioScope), **test** splits, where the
   concept span is given and only assertion is measured, beside two baselines.

It prints no note text. Set `SPINE_AUDIT_NB_LIMIT` to score only the first N lines of
each corpus (the test suite does, to stay fast)."""),
    ("code", """import os
from pathlib import Path

%matplotlib inline
import matplotlib.pyplot as plt

import pipeline
from pipeline.benchmark import run_benchmark
from pipeline.evaluate import evaluate_file

SHARED = Path(os.environ.get("SPINE_AUDIT_SHARED", "../../shared")).resolve()
LIMIT = int(os.environ["SPINE_AUDIT_NB_LIMIT"]) if os.environ.get("SPINE_AUDIT_NB_LIMIT") else None
print("spine-audit", pipeline.__version__, "| shared data:", SHARED)"""),
    ("md", "## Development referrals"),
    ("code", """metrics, rows, records = evaluate_file(SHARED / "data/dev/referrals_dev.jsonl", bootstrap=200)
for name, value in metrics["headline"].items():
    lo, hi = metrics["headline_ci95"][name]
    print(f"{name:<24} {value:.3f}  95% CI [{lo:.3f}, {hi:.3f}]")"""),
    ("code", """per = metrics["concepts"]["per_concept"]
names = list(per)
fig, ax = plt.subplots(figsize=(7, 0.28 * len(names) + 1))
ax.barh(names, [per[n]["f1"] for n in names], color="#3b6fd8")
ax.set_xlim(0, 1.05); ax.set_xlabel("F1 (status present, document level)"); ax.invert_yaxis()
ax.set_title("Per-concept F1, dev set (tuning data)")
plt.tight_layout(); plt.show()"""),
    ("code", """a = metrics["assertion"]
labels = a["labels"]
matrix = [[a["confusion"][g][p] for p in labels] for g in labels]
fig, ax = plt.subplots(figsize=(5, 4))
ax.imshow(matrix, cmap="Blues")
ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right"); ax.set_yticks(range(len(labels)), labels)
for i, row in enumerate(matrix):
    for j, v in enumerate(row):
        ax.text(j, i, v, ha="center", va="center")
ax.set_xlabel("predicted"); ax.set_ylabel("gold"); ax.set_title(f"Assertion, accuracy {a['accuracy']:.3f}")
plt.tight_layout(); plt.show()"""),
    ("md", "## Public assertion corpora (test splits)"),
    ("code", """corpora = {"NegEx": SHARED / "data/negex/negex.jsonl", "ConText": SHARED / "data/negex/context.jsonl",
           "BioScope": SHARED / "data/bioscope/bioscope_clinical.jsonl"}
results = {name: run_benchmark(str(path), split="test", limit=LIMIT) for name, path in corpora.items()}
for name, res in results.items():
    for system, e in res["systems"].items():
        print(f"{name:<9}{system:<34} n={e['n']:<5} accuracy {e['accuracy']:.3f}  negation F1 {e['negated']['f1']:.3f}")"""),
    ("code", """systems = list(next(iter(results.values()))["systems"])
fig, ax = plt.subplots(figsize=(8, 3.5))
width = 0.8 / len(systems)
for k, system in enumerate(systems):
    ax.bar([i + k * width for i in range(len(results))],
           [res["systems"][system]["negated"]["f1"] for res in results.values()], width, label=system)
ax.set_xticks([i + 0.4 - width / 2 for i in range(len(results))], list(results))
ax.set_ylim(0, 1.05); ax.set_ylabel("negation F1"); ax.legend(fontsize=8, loc="lower right")
ax.set_title("Negation F1 on test splits (BioScope: possible counted present)")
plt.tight_layout(); plt.show()"""),
    ("md", """BioScope's prepared labels mark many plainly negated findings ("There is no
pneumothorax") as `possible`; counting `possible` as present (this project's rule: a
suspicion is a reason to image) turns those into false negations. The figure without the
`possible` items is shown beside it, rather than weakening the referral rules."""),
    ("code", """bio = results["BioScope"]["systems"]["spine-audit"]
print("BioScope, possible counted present: F1", round(bio["negated"]["f1"], 3))
print("BioScope, without possible items:   F1", round(bio["excluding_possible"]["negated"]["f1"], 3))"""),
]


def main():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                for kind, src in CELLS]
    out = Path(__file__).resolve().parents[1] / "notebooks" / "1.0-evaluation.ipynb"
    nbformat.write(nb, out)
    print("wrote", out)


if __name__ == "__main__":
    main()
