"""What grading through Slurm costs on top of grading here, per student and per task.

    .venv/bin/python benchmarks/slurm_overhead.py [--students 24] [--per-task 4] [--assignment mfdnn-hw5]

Needs a Slurm cluster this user can submit to (``bash .ci/slurm-cluster start`` makes one on
this host, as root). The same generated class (``grade_class.py``'s mix of the reference, the
template and the known mistakes) is graded three ways, one core per task as Slurm gives it:

- local, ``--jobs 1``: one process grading one student at a time, the per-student floor;
  with ``--one-node`` the Slurm runs below also run one task at a time (on node n1,
  ``--exclusive``), so that their wall time differs from it only by what Slurm adds;
- ``--slurm --students-per-task N``: the class in tasks of N students;
- ``--slurm --students-per-task 1``: a task per student, where the per-task cost shows most.

It checks that all three give the same scores (same seed), and reads each task's record
(``OUT/.slurm/<run>/task-*.json``: submitted, started, ended) for the scheduling cost: from
sbatch to the first task's start, and (with ``--one-node``) the gap between one task's end
and the next one's start; and for a task's fixed cost: its run time less its students' own
grading time (``execution_time`` in result.json), that is the grader's start, its zygote's
torch import, the course's checks collected.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from grade_class import make_class  # noqa: E402

from grader._course.layout import Course  # noqa: E402

SEED = 20261203


def grade(src: Path, out: Path, assignment: str, *extra: str) -> float:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", assignment, str(src), "--out", str(out), "--seed", str(SEED), *extra],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "GRADER_SLURM_POLL": "1"})  # fmt: skip
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"grader grade {' '.join(extra)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}


def tasks(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob(".slurm/*/task-*.json"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=24)
    ap.add_argument("--per-task", type=int, default=4)
    ap.add_argument("--assignment", default="mfdnn-hw5")
    ap.add_argument("--one-node", action="store_true",
                    help="tasks one at a time on node n1 (exclusive), as --jobs 1 grades one student at a time: "
                         "the difference in wall time is then what Slurm and the tasks' starts add")
    args = ap.parse_args()
    course = Course.locate(ROOT)
    nodes = subprocess.run(["sinfo", "--noheader", "--format", "%D"], capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory(prefix="slurm-bench-") as tmp:
        src = Path(tmp) / "class"
        make_class(course, args.assignment, args.students, src)
        one_at_a_time = ["--sbatch-option=--nodelist=n1", "--sbatch-option=--exclusive"] if args.one_node else []
        runs = {"local, --jobs 1": (Path(tmp) / "local", ["--jobs", "1"]),
                f"--slurm, {args.per_task} per task": (Path(tmp) / "chunks", ["--slurm", "--students-per-task", str(args.per_task), *one_at_a_time]),
                "--slurm, 1 per task": (Path(tmp) / "single", ["--slurm", "--students-per-task", "1", *one_at_a_time])}
        walls = {name: grade(src, out, args.assignment, *extra) for name, (out, extra) in runs.items()}
        outs = {name: out for name, (out, _) in runs.items()}
        scores = {name: {s: r["score"] for s, r in results(out).items()} for name, out in outs.items()}
        first = next(iter(scores.values()))
        assert all(s == first for s in scores.values()), "the three runs disagree on a score"
        local = walls["local, --jobs 1"]
        print(f"{args.students} students of {args.assignment}, cluster of {sum(map(int, nodes or ['0']))} node(s) x 1 core per task; "
              f"same scores in all three runs; {time.strftime('%Y-%m-%d')}")
        print(f"{'run':<24} {'wall s':>8} {'s/student':>10} {'tasks':>6} {'first start s':>14} {'gap s (median)':>15} {'task fixed s (median)':>22}")
        for name, out in outs.items():
            ts = sorted(tasks(out), key=lambda t: t["started"])
            own = {s: r["execution_time"] for s, r in results(out).items()}
            first = ts[0]["started"] - ts[0]["submitted"] if ts else float("nan")
            # one task at a time: what Slurm took between a task's end and the next one's start
            gaps = [b["started"] - max(a["ended"], b["submitted"]) for a, b in zip(ts, ts[1:])] if args.one_node else []
            fixed = [t["ended"] - t["started"] - sum(own.get(s, 0.0) for s in t["students"]) for t in ts]
            print(f"{name:<24} {walls[name]:>8.1f} {walls[name] / args.students:>10.2f} {len(ts) or '-':>6} {first:>14.2f} "
                  f"{statistics.median(gaps) if gaps else float('nan'):>15.2f} {statistics.median(fixed) if fixed else float('nan'):>22.2f}")
        print(f"local per student: {local / args.students:.2f} s of wall time (one at a time)")


if __name__ == "__main__":
    main()
