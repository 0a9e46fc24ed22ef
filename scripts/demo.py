"""Print a readable table of an audit CSV (used by `make demo`)."""

import csv
import sys


def main(path):
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    header = f"{'id':<6} {'age':>3} {'recommended':<40} {'ordered':<34} mismatch"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['id']:<6} error: {r['error']}")
            continue
        if r["rec_modality"] == "NONE":
            rec = f"no imaging ({r['rec_category']})"
        elif r["rec_category"] == "FRACTURE_RISK":
            rec = f"{r['rec_modality']} {r['rec_contrast'] or ''} {r['rec_regions']} [{r['rec_urgency']}, fracture risk]"
        else:
            rec = f"{r['rec_modality']} {r['rec_contrast']} {r['rec_regions']} [{r['rec_urgency']}]"
        ordered = (f"{r['ordered_modality']} {r['ordered_contrast'] or ''} {r['ordered_regions']}".strip()
                   if r["ordered_modality"] else ("-" if not r.get("ordered") else "unparsed"))
        mm = r["mismatch_types"].replace("|", ", ") if r["mismatch"] == "true" else ("ok" if r["mismatch"] else "")
        print(f"{r['id']:<6} {r.get('age_years') or '-':>3} {rec:<40.40} {ordered:<34.34} {mm}")


if __name__ == "__main__":
    main(sys.argv[1])
