"""Regenerate the tables of docs/scenarios.md that say what each scenario's story builds in:
each gap as the scenario is, with each mechanism removed, and its share before the event
(`sim.claims`).

Run: `python scripts/scenario_claims.py [--seeds 200] [--scenario NAME ...] [--check]`
(about five minutes on one core at 200 seeds). With --check nothing is written: the exit code is
1 if a table differs from the rerun.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.claims import blocks_in, compare, markdown_table, replace_blocks, scenario_claims

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"


def main(argv: list[str] | None = None) -> int:
    catalogue = scenario_claims()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="seeds 0 .. N-1 (default 200)")
    parser.add_argument("--scenario", action="append", choices=sorted(catalogue))
    parser.add_argument("--doc", type=Path, default=DOC, help="the document to update")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    tables = {}
    for name in args.scenario or list(catalogue):
        tables[name] = markdown_table(compare(catalogue[name], args.seeds))
        print(f"## {name} (event: {catalogue[name].event})\n{tables[name]}\n", flush=True)
    text = args.doc.read_text(encoding="utf-8")  # read once the tables are computed
    if args.check:
        present = blocks_in(text)
        stale = [n for n, t in tables.items() if present.get(n) != (args.seeds, t)]
        if stale:
            print(f"differs from the rerun: {', '.join(stale)}", file=sys.stderr)
        return 1 if stale else 0
    args.doc.write_text(replace_blocks(text, tables, args.seeds), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
