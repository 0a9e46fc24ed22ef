"""Error analysis on the development sets (run by `make errors`).

Runs the extractor on the shared dev set, the bundled samples and the real
clinician-written dev notes, and writes every disagreement grouped by concept
and kind of miss to out/errors.md (readable) and out/errors.jsonl (one item
per line). Prints the summary tables. The files quote note text.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT = [SHARED / "dev" / "referrals_dev.jsonl", ROOT / "data" / "samples" / "referrals_samples.jsonl",
           SHARED / "real" / "real_dev.jsonl"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold", nargs="*", help="gold JSONL files (default: dev, samples, real_dev)")
    ap.add_argument("--out", default=str(ROOT / "out" / "errors"), help="output path without extension")
    args = ap.parse_args(argv)
    from pipeline.error_analysis import analyse_files, format_markdown
    paths = [Path(p) for p in args.gold] or [p for p in DEFAULT if p.exists()]
    result = analyse_files(paths)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    md = format_markdown(result)
    out.with_suffix(".md").write_text(md, encoding="utf-8")
    with open(out.with_suffix(".jsonl"), "w", encoding="utf-8") as f:
        for it in result["items"]:
            f.write(json.dumps(it) + "\n")
    # the summary tables only (no note text) on the terminal
    sys.stdout.write(md.split("## Concept errors, grouped")[0])
    sys.stdout.write(f"\nwrote {out.with_suffix('.md')} and {out.with_suffix('.jsonl')} (they quote note text)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
