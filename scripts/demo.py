"""Print a readable table of an audit CSV (used by `make demo`)."""

import csv
import sys


def _join(*parts):
    return " ".join(p for p in parts if p)


def main(path):
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    header = f"{'id':<6} {'age':>3} {'category':<24} {'recommended':<40} {'ordered':<32} mismatch"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['id']:<6} error: {r['error']}")
            continue
        if r["rec_modality"] == "NONE":
            rec = "no imaging"
        else:
            rec = _join(r["rec_modality"], r["rec_contrast"], r["rec_regions"], f"[{r['rec_urgency']}]")
        ordered = (_join(r["ordered_modality"], r["ordered_contrast"], r["ordered_regions"])
                   if r["ordered_modality"] else ("-" if not r.get("ordered") else "unparsed"))
        mm = r["mismatch_types"].replace("|", ", ") if r["mismatch"] == "true" else ("ok" if r["mismatch"] else "")
        age = r.get("age_years") or "-"
        print(f"{r['id']:<6} {age:>3} {r['rec_category']:<24.24} {rec:<40.40} {ordered:<32.32} {mm}")


if __name__ == "__main__":
    main(sys.argv[1])
