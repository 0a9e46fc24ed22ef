"""Choose the mismatch model's feature set and regularisation by cross-validation.

    python scripts/model_selection.py ../shared/data/reviewed/reviewed_dev.csv

Prints, for every feature set in ``pipeline.model.FEATURE_SETS`` and every C,
the cross-validated ROC AUC, average precision and Brier score (same folds,
same seed), beside the rules alone. Nothing is chosen by reading rows: the
winner is the row with the best ROC AUC, and it becomes
``DEFAULT_FEATURES`` / the ``make train-review`` settings by hand.
"""

import argparse
import sys

import numpy as np


def main(argv=None):
    from pipeline.model import FEATURE_SETS, cross_validate, feature_frame, read_labelled
    from pipeline.record import analyze_many

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labelled", nargs="+")
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--C", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    args = ap.parse_args(argv)
    texts, orders, labels = [], [], []
    for path in args.labelled:
        t, o, y = read_labelled(path)
        texts += t
        orders += o
        labels += y
    records = list(analyze_many((i, t, o) for i, (t, o) in enumerate(zip(texts, orders))))
    X = feature_frame(records, texts, orders)
    y = np.asarray(labels)
    print(f"{len(y)} rows, {int(y.sum())} confirmed mismatches; {args.cv}-fold CV")
    print(f"{'feature set':<32}{'C':>6}{'ROC AUC':>9}{'avg prec':>10}{'Brier':>8}")
    best = None
    for name in FEATURE_SETS:
        for C in args.C:
            cv = cross_validate(X, y, args.cv, features=name, C=C)
            m = cv["model"]
            print(f"{name:<32}{C:>6}{m['roc_auc']:>9.3f}{m['average_precision']:>10.3f}{m['brier']:>8.3f}")
            if best is None or m["roc_auc"] > best[2]:
                best = (name, C, m["roc_auc"])
    r = cv["rules_only"]
    print(f"{'rules alone':<38}{r['roc_auc']:>9.3f}{r['average_precision']:>10.3f}{r['brier']:>8.3f}")
    # the data README's keyword baseline: 0 if a reason-like word occurs, else 1
    from sklearn.metrics import average_precision_score, roc_auc_score
    words = ("planning", "pre-op", "restaging", "follow-up", "claustrophob")
    kw = np.array([0.0 if any(w in str(t).lower() for w in words) else 1.0 for t in texts])
    print(f"{'keyword list (data README)':<38}{roc_auc_score(y, kw):>9.3f}{average_precision_score(y, kw):>10.3f}")
    print(f"best: {best[0]} C={best[1]} (ROC AUC {best[2]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
