"""Optional mismatch model: how likely is a flagged order a true mismatch?

A scikit-learn ``Pipeline`` whose first step is one ``ColumnTransformer`` over
a feature frame built from the referral text and the rule-based result
record (concept statuses, recommendation, mismatch types, parsed order):

* TF-IDF of the text, word 1-2-grams and character 3-5-grams,
* one-hot concept statuses, recommendation fields and parsed order fields,
* multi-hot mismatch types and flags, and the rules' yes/no,

followed by a sigmoid-calibrated logistic regression. Training and scoring
build the feature frame with the same function (``feature_frame``) and the
fitted pipeline does every learned transformation, so they preprocess alike.

A model file is a joblib pickle: loading it runs code. It is saved with a
model card (``<model>.card.json``: library versions, training data hash and
size, features, cross-validated metrics, creation time). ``load_model``
refuses a file whose SHA-256 differs from its card or whose library versions
differ from the running ones. Load only models from a trusted source.
"""

import datetime as _dt
import hashlib
import json
import os
import platform
from functools import lru_cache

from .errors import InputError, ModelError
from .resources import sha256_file
from .vocab import CONCEPTS, FLAGS, MISMATCH_TYPES, REGIONS

CARD_SUFFIX = ".card.json"
SEED = 20261121
CUE_REASONS = ("SURGICAL_PLANNING", "ONCOLOGY_FOLLOW_UP", "SPECIALIST_FOLLOW_UP", "PATIENT_FACTOR",
               "DOCUMENTED_ELSEWHERE")
CATEGORICAL = (
    [f"c_{c}" for c in CONCEPTS]
    + ["rec_category", "rec_modality", "rec_contrast", "rec_urgency", "ord_modality", "ord_contrast"]
)
BINARY = (
    [f"mm_{t}" for t in MISMATCH_TYPES] + [f"flag_{f}" for f in FLAGS]
    + [f"ord_{r}" for r in REGIONS] + ["rec_complete", "rules_mismatch", "ord_parsed"]
)
# What a reviewer's decision depends on besides the text: a documented reason
# (present or negated), which flag it would explain, and flag combinations.
CUES = [f"cue_{r}" for r in CUE_REASONS]
CUE_X_TYPE = [f"x_{r}_{t}" for r in CUE_REASONS for t in MISMATCH_TYPES]
TYPE_PAIRS = [f"pair_{a}_{b}" for i, a in enumerate(MISMATCH_TYPES) for b in MISMATCH_TYPES[i + 1:]]

# Feature sets compared by cross-validation (scripts/model_selection.py); the
# chosen one is the default and is written into every model card.
FEATURE_SETS = {
    "text+rules": {"words": True, "chars": True, "cues": False, "cue_x_type": False, "pairs": False},
    "text+rules+cues": {"words": True, "chars": True, "cues": True, "cue_x_type": False, "pairs": False},
    "text+rules+cues+interactions": {"words": True, "chars": True, "cues": True, "cue_x_type": True,
                                     "pairs": True},
    "rules+cues+interactions": {"words": False, "chars": False, "cues": True, "cue_x_type": True,
                                "pairs": True},
    "words+rules+cues+interactions": {"words": True, "chars": False, "cues": True, "cue_x_type": True,
                                      "pairs": True},
}
DEFAULT_FEATURES = "text+rules+cues+interactions"


def feature_frame(records, texts, orders, cues=True):
    """The model's input frame: one row per record (text plus rule outputs
    plus the reason cues of the text). ``cues=False`` skips the cue pass (a
    second spaCy pipeline) for a model whose feature set does not read them:
    the cue columns are then "absent" and 0, and that model never selects them."""
    import pandas as pd

    if cues:
        from .reasons import reason_cues
        cues_per_text = reason_cues(texts)
    else:
        cues_per_text = [{}] * len(records)
    rows = []
    for rec, text, _order, cues in zip(records, texts, orders, cues_per_text):
        ok = rec.get("status") == "ok"
        concepts = (rec.get("concepts") or {}) if ok else {}
        r = (rec.get("recommendation") or {}) if ok else {}
        o = (rec.get("ordered") or {}) if ok else {}
        mm = (rec.get("mismatch") or {}) if ok else {}
        types = mm.get("types") or []
        row = {"text": text if isinstance(text, str) else ""}
        for c in CONCEPTS:
            row[f"c_{c}"] = concepts.get(c, "absent")
        for k in ("category", "modality", "contrast", "urgency"):
            row[f"rec_{k}"] = str(r.get(k))
        row["ord_modality"] = str(o.get("modality"))
        row["ord_contrast"] = str(o.get("contrast"))
        for t in MISMATCH_TYPES:
            row[f"mm_{t}"] = int(t in types)
        for f in FLAGS:
            row[f"flag_{f}"] = int(f in (r.get("flags") or []))
        for g in REGIONS:
            row[f"ord_{g}"] = int(g in (o.get("regions") or []))
        row["rec_complete"] = int("COMPLETE" in (r.get("regions") or []))
        row["rules_mismatch"] = int(bool(types))
        row["ord_parsed"] = int(bool(o.get("parsed")))
        for reason in CUE_REASONS:
            status = cues.get(reason, "absent")
            row[f"cue_{reason}"] = status
            for t in MISMATCH_TYPES:
                row[f"x_{reason}_{t}"] = int(status == "present" and t in types)
        for i, a in enumerate(MISMATCH_TYPES):
            for b in MISMATCH_TYPES[i + 1:]:
                row[f"pair_{a}_{b}"] = int(a in types and b in types)
        rows.append(row)
    return pd.DataFrame(rows, columns=["text"] + CATEGORICAL + BINARY + CUES + CUE_X_TYPE + TYPE_PAIRS)


def build_pipeline(n_samples, seed=SEED, features=DEFAULT_FEATURES, C=1.0):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    fs = FEATURE_SETS[features]
    parts = []
    if fs["words"]:
        parts.append(("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True),
                      "text"))
    if fs["chars"]:
        parts.append(("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True,
                                               max_features=20000), "text"))
    parts.append(("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL + (CUES if fs["cues"] else [])))
    parts.append(("binary", "passthrough", BINARY + (CUE_X_TYPE if fs["cue_x_type"] else [])
                  + (TYPE_PAIRS if fs["pairs"] else [])))
    base = LogisticRegression(C=C, max_iter=2000, class_weight="balanced", random_state=seed)
    calib_folds = 3 if n_samples >= 30 else 2
    return Pipeline([("features", ColumnTransformer(parts)),
                     ("classifier", CalibratedClassifierCV(base, method="sigmoid", cv=calib_folds))])


# --------------------------------------------------------------------------- #
# Labelled data
# --------------------------------------------------------------------------- #

# Label spellings read from a reviewed CSV/Parquet: 1 = true mismatch (the
# reviewer confirmed the flag), 0 = ok (dismissed). Anything else, blank
# included, is an unreviewed row and is skipped.
LABEL_VALUES = {
    "mismatch": 1, "ok": 0, "1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0, "yes": 1, "no": 0,
    "y": 1, "n": 0, "t": 1, "f": 0, "confirmed": 1, "dismissed": 0, "confirm": 1, "dismiss": 0,
}


def read_labelled(path, text_col="text", order_col="ordered", label_col="label"):
    """(texts, orders, labels) from gold JSONL or a reviewed CSV/Parquet export."""
    import pandas as pd
    ext = os.path.splitext(str(path))[1].lower()
    if not os.path.exists(path):
        raise InputError(f"labelled file not found: {path}")
    texts, orders, labels = [], [], []
    if ext == ".jsonl":
        from .evaluate import read_gold
        for row in read_gold(path):
            mm = row["gold"].get("mismatch_types")
            if mm is None or not row.get("ordered"):
                continue  # no order, no label
            texts.append(row["text"])
            orders.append(row["ordered"])
            labels.append(int(bool(mm)))
    elif ext in (".csv", ".parquet"):
        df = pd.read_csv(path, dtype=str, keep_default_na=False) if ext == ".csv" else pd.read_parquet(path)
        for col in (text_col, label_col):
            if col not in df.columns:
                raise InputError(f"{os.path.basename(path)} has no '{col}' column; columns are: "
                                 f"{', '.join(map(str, df.columns))}")
        for _, row in df.iterrows():
            lab = LABEL_VALUES.get(str(row[label_col]).strip().lower())
            if lab is None:
                continue  # unreviewed row
            texts.append(row[text_col])
            orders.append(row[order_col] if order_col in df.columns else None)
            labels.append(lab)
    else:
        raise InputError(f"unknown labelled format '{ext}': use .jsonl, .csv or .parquet")
    if len(set(labels)) < 2:
        raise InputError("the labelled data needs both mismatch and ok examples")
    return texts, orders, labels


# --------------------------------------------------------------------------- #
# Training, cross-validation, persistence
# --------------------------------------------------------------------------- #

def _metrics(y, p):
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
    return {"roc_auc": float(roc_auc_score(y, p)), "average_precision": float(average_precision_score(y, p)),
            "brier": float(brier_score_loss(y, p))}


def cross_validate(X, y, folds=5, seed=SEED, features=DEFAULT_FEATURES, C=1.0):
    """Out-of-fold scores of the model and of the rules alone, on the same folds."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold
    y = np.asarray(y)
    folds = max(2, min(folds, int(np.bincount(y).min())))
    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y):
        model = build_pipeline(len(train), seed, features, C)
        model.fit(X.iloc[train], y[train])
        oof[test] = model.predict_proba(X.iloc[test])[:, 1]
    rules = X["rules_mismatch"].to_numpy().astype(float)
    return {"folds": folds, "model": _metrics(y, oof), "rules_only": _metrics(y, rules),
            "n": int(len(y)), "positives": int(y.sum())}


def _versions():
    import joblib
    import numpy
    import sklearn

    from . import __version__
    return {"spine_audit": __version__, "scikit_learn": sklearn.__version__, "joblib": joblib.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}


def train(labelled_paths, out_path, folds=5, seed=SEED, force=False, text_col="text", order_col="ordered",
          label_col="label", features=DEFAULT_FEATURES, C=1.0, description=None):
    """Fit the model on one or more labelled files, save it and its card."""
    import joblib
    import numpy as np

    from .record import analyze_many
    if os.path.exists(out_path) and not force:
        raise ModelError(f"{out_path} exists; use --force to overwrite")
    texts, orders, labels, data_hash = [], [], [], hashlib.sha256()
    for path in labelled_paths:
        t, o, y = read_labelled(path, text_col, order_col, label_col)
        texts += t
        orders += o
        labels += y
        with open(path, "rb") as f:
            data_hash.update(f.read())
    records = list(analyze_many((i, t, o) for i, (t, o) in enumerate(zip(texts, orders))))
    X = feature_frame(records, texts, orders, cues=FEATURE_SETS[features]["cues"])
    y = np.asarray(labels)
    cv = cross_validate(X, y, folds, seed, features, C)
    model = build_pipeline(len(y), seed, features, C)
    model.fit(X, y)
    tmp = out_path + ".tmp"
    joblib.dump(model, tmp)
    os.replace(tmp, out_path)
    card = {
        "model_file": os.path.basename(out_path),
        "sha256": sha256_file(out_path),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "training_data": {"files": [os.path.basename(p) for p in labelled_paths], "sha256": data_hash.hexdigest(),
                          "rows": int(len(y)), "positives": int(y.sum())},
        "features": {"set": features, **FEATURE_SETS[features],
                     "text": [n for n, on in (("tfidf word 1-2-grams", FEATURE_SETS[features]["words"]),
                                              ("tfidf char_wb 3-5-grams", FEATURE_SETS[features]["chars"])) if on],
                     "reason_cues": "review_cues.yaml, present or negated (negspacy)" if FEATURE_SETS[features]["cues"]
                     else None},
        "estimator": f"LogisticRegression(C={C}, class_weight=balanced) calibrated with sigmoid (CalibratedClassifierCV)",
        "seed": seed,
        "description": description,
        "cross_validation": cv,
        "warning": "A joblib model file runs code when loaded: load only files from a trusted source.",
    }
    with open(out_path + CARD_SUFFIX, "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2)
    return card


class MismatchModel:
    def __init__(self, pipeline, card):
        self.pipeline = pipeline
        self.card = card

    def uses_cues(self):
        """Whether this model's feature set reads the reason cues (a card
        written before they existed names no feature set: it does not)."""
        fs = FEATURE_SETS.get((self.card.get("features") or {}).get("set"))
        return bool(fs and fs["cues"])

    def score(self, records, texts, orders):
        X = feature_frame(records, texts, orders, cues=self.uses_cues())
        return self.pipeline.predict_proba(X)[:, 1]

    def score_records(self, records, texts, orders):
        """Fill ``mismatch.score`` of every record that has a compared order."""
        idx = [k for k, r in enumerate(records) if r.get("status") == "ok" and r.get("mismatch")
               and r["mismatch"].get("types") is not None]
        if not idx:
            return records
        probs = self.score([records[k] for k in idx], [texts[k] for k in idx], [orders[k] for k in idx])
        for k, p in zip(idx, probs):
            records[k]["mismatch"]["score"] = round(float(p), 6)
        return records


def load_model(path):
    """Load a model after checking its card: SHA-256 and library versions."""
    import joblib
    card_path = str(path) + CARD_SUFFIX
    if not os.path.exists(path):
        raise ModelError(f"model file not found: {path}")
    if not os.path.exists(card_path):
        raise ModelError(f"model card not found: {card_path} (refusing to load a model without one)")
    try:
        with open(card_path, encoding="utf-8") as f:
            card = json.load(f)
    except ValueError:
        raise ModelError(f"model card {card_path} is not valid JSON") from None
    digest = sha256_file(path)
    if digest != card.get("sha256"):
        raise ModelError(f"{os.path.basename(str(path))} does not match the SHA-256 in its card; refusing to load")
    running = _versions()
    for lib in ("spine_audit", "scikit_learn", "joblib"):
        want = (card.get("versions") or {}).get(lib)
        if want != running[lib]:
            raise ModelError(f"model was trained with {lib} {want}, this is {running[lib]}; retrain it "
                             "(make train) or install the matching version")
    return MismatchModel(joblib.load(path), card)


@lru_cache(maxsize=2)
def load_model_cached(path):
    return load_model(path)
