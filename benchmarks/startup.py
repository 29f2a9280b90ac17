"""How soon a command answers (issue 22: under 0.5 s for `--help` and `explain`).

Run: `python benchmarks/startup.py [--repeats 7]`. Times, interleaved, each command started as
a user would (`python -m sim ...`, a fresh interpreter every time) and a bare `python -c pass`
(the interpreter's own start), and prints the medians with the target. On a loaded machine
every time grows; the bare interpreter's median says by how much. Each command's CPU time (user
+ system, of the child process) is printed too: load inflates it far less than wall time (at
load 16-20 on 2 cores the bare interpreter took 0.77 s and `explain` 8.9 s of wall time,
against 0.028 s and 0.36 s at load 8), so a CPU time well under the target with a wall time
over it says "measure again on a quiet machine".
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5
EXPLAIN = ["bakery_gluten_free"]
COMMANDS = {
    "python (bare interpreter)": [sys.executable, "-c", "pass"],
    "python -m sim --help": [sys.executable, "-m", "sim", "--help"],
    "python -m sim explain bakery_gluten_free": [sys.executable, "-m", "sim", "explain", *EXPLAIN],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    load = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():  # interleaved: load affects all alike
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"{'command':45s} {'median s':>9s} {'CPU s':>7s} {'target s':>9s}  met")
    for name, values in times.items():
        median = statistics.median(values)
        target = "" if name.startswith("python (") else f"{TARGET_S:9.2f}"
        met = "" if not target else ("yes" if median <= TARGET_S else "no")
        print(f"{name:45s} {median:9.3f} {statistics.median(cpu[name]):7.3f} {target:>9s}  {met}")
    print(f"load average (1 min) at start / end: {load:.1f} / {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
