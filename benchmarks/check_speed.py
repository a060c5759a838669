"""How long a student's self-check takes (issue 16, point 7: at most 5 s for mfdnn-hw5).

Runs ``grader check mfdnn-hw5`` as a student does, in a fresh process each time, on the
two files of the sample student ``examples/mfdnn-hw5/erin`` (right answers) (backprop.py, momentum.py;
the other problems are missing, as in that folder), and prints the wall time of each run,
the median and the best. ``--burn`` runs a busy loop on every core beside it (a loaded
laptop); the verdicts must be the same either way, which this script checks.

    .venv/bin/python benchmarks/check_speed.py [--runs 7] [--burn]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _burn() -> None:
    while True:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--burn", action="store_true", help="a busy loop on every core beside the checks")
    ap.add_argument("--student", default="examples/mfdnn-hw5/erin")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="check-speed-"))
    for f in (ROOT / args.student).glob("*.py"):
        shutil.copyfile(f, folder / f.name)
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(os.cpu_count() or 1)] if args.burn else []
    for b in burners:
        b.start()
    times, verdicts = [], set()
    try:
        for i in range(args.runs):
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "grader", "check", "mfdnn-hw5", str(folder)], cwd=ROOT,
                                  capture_output=True, text=True)
            times.append(time.perf_counter() - started)
            table = tuple(re.findall(r"^(PASS|FAIL|ERROR|TIMEOUT|MISSING|SKIP)\s+(.*?)\s+(\S+/\S+)$", proc.stdout, re.M))
            verdicts.add(table)
            print(f"run {i + 1}: {times[-1]:.2f} s (exit {proc.returncode})", flush=True)
    finally:
        for b in burners:
            b.terminate()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"grader check mfdnn-hw5 on {args.student} ({', '.join(sorted(p.name for p in (ROOT / args.student).glob('*.py')))}), "
          f"{os.cpu_count()} cores{', busy loops on every core' if args.burn else ', idle'}: "
          f"median {statistics.median(times):.2f} s, best {min(times):.2f} s, worst {max(times):.2f} s over {len(times)} runs")
    if len(verdicts) != 1:
        sys.exit(f"the verdicts differed between runs: {verdicts}")
    print("verdicts: the same in every run")


if __name__ == "__main__":
    main()
