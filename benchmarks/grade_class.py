"""Grade a generated class two ways and print what each costs per submission.

    .venv/bin/python benchmarks/grade_class.py                 # 200 mfdnn-hw5 + 20 mfdnn-hw7, local runner
    .venv/bin/python benchmarks/grade_class.py --hw5 200 --hw7 0 --runner docker

The class mixes right and wrong submissions: the reference, the untouched template and
every known mistake of ``tests/mistakes/<assignment>.toml``, in turn.

- "ours": one ``grader grade`` command over the whole class, as an instructor runs it
  (one pytest session per job, workers forked from a pre-imported zygote, ``--jobs``
  default: one per core).
- "naive": what graders commonly do: for each submission a fresh interpreter and a fresh
  pytest session (``grader.grade`` on a folder holding that one student), every worker
  started from scratch (``LocalRunner(zygote=False)``), one submission at a time. It is
  slow, so it runs on ``--naive`` submissions spread over the class (default 12 per
  assignment) and its per-submission cost is their mean; it must give the same scores as
  "ours" on them (same seed), which this script checks.

"own code" is what the submissions' calls took inside their workers (``student_time`` in
result.json: the student's code with the problem's driver around it; a call that hangs or crashes counts whole),
the floor any grader pays.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import build_class, load_mistakes  # noqa: E402  (the known mistakes the suite grades)

from grader._course.layout import Course  # noqa: E402

SEED = 20261201


def make_class(course: Course, assignment: str, n: int, folder: Path) -> list[str]:
    """``n`` student folders: reference, template, then each known mistake, in turn."""
    a = course.assignment(assignment)
    kinds: list[tuple[str, dict[str, str]]] = [("reference", {}), ("template", {f: (a.template_dir / f).read_text() for f in a.student_files})]
    kinds += [(m.id, {m.file: m.text(a)}) for m in load_mistakes(assignment) if not m.extended]
    students = {f"s{i:03d}-{kinds[i % len(kinds)][0]}": kinds[i % len(kinds)][1] for i in range(n)}
    build_class(course, assignment, folder, students)
    return list(students)


def scores(out: Path) -> dict[str, tuple[float, float]]:
    got = {}
    for p in out.glob("*/result.json"):
        r = json.loads(p.read_text())
        got[r["student"]] = (r["score"], r["student_time"])
    return got


def ours(assignment: str, folder: Path, out: Path, runner: str, jobs: int | None) -> float:
    cmd = [sys.executable, "-m", "grader", "grade", assignment, str(folder), "--out", str(out), "--seed", str(SEED),
           "--runner", runner]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"grader grade failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return wall


_NAIVE = """
import sys
from pathlib import Path
from grader._grading.api import grade
from grader._sandbox.local import LocalRunner
grade(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), seed=int(sys.argv[4]), runner=LocalRunner(zygote=False), jobs=1)
"""


def naive(assignment: str, folder: Path, out: Path, names: list[str]) -> float:
    """Each submission alone: a fresh interpreter, a fresh pytest session, fresh workers."""
    total = 0.0
    for name in names:
        one = out.parent / "naive-in" / name
        one.mkdir(parents=True)
        shutil.copytree(folder / name, one / name)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _NAIVE, assignment, str(one), str(out), str(SEED)],
                              cwd=ROOT, capture_output=True, text=True)
        total += time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(f"naive grading of {name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hw5", type=int, default=200, help="mfdnn-hw5 submissions (default 200)")
    ap.add_argument("--hw7", type=int, default=20, help="mfdnn-hw7 submissions (default 20)")
    ap.add_argument("--naive", type=int, default=12, help="submissions per assignment graded the naive way (default 12)")
    ap.add_argument("--runner", choices=["local", "docker"], default="local")
    ap.add_argument("--jobs", type=int, default=None, help="--jobs for ours (default: the grader's)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the class and outputs in this folder")
    args = ap.parse_args()
    course = Course.locate(ROOT)
    work = args.keep or Path(tempfile.mkdtemp(prefix="grader-bench-"))
    print(f"{os.cpu_count()} cores; runner {args.runner}; seed {SEED}; work in {work}")
    rows = []
    try:
        for assignment, n in (("mfdnn-hw5", args.hw5), ("mfdnn-hw7", args.hw7)):
            if n <= 0:
                continue
            folder = work / assignment / "class"
            names = make_class(course, assignment, n, folder)
            wall = ours(assignment, folder, work / assignment / "ours", args.runner, args.jobs)
            got = scores(work / assignment / "ours")
            own = sum(t for _, t in got.values())
            k = min(args.naive, n)
            sample = [names[round(i * (n - 1) / max(k - 1, 1))] for i in range(k)] if k else []
            naive_wall = naive(assignment, folder, work / assignment / "naive", sample) if sample else 0.0
            theirs = scores(work / assignment / "naive")
            differ = [s for s in sample if theirs.get(s, (None,))[0] != got.get(s, (None,))[0]]
            if differ:
                sys.exit(f"{assignment}: the naive way scored {differ} differently: "
                         + ", ".join(f"{s}: ours {got.get(s)} naive {theirs.get(s)}" for s in differ))
            rows.append((assignment, n, wall, own, k, naive_wall))
            naive_said = f"naive: {naive_wall / k:.2f} s each over {k}, same scores" if k else "naive: not run"
            print(f"{assignment}: {n} graded in {wall:.1f} s ({wall / n:.2f} s each; own code {own:.1f} s in all, "
                  f"{wall / max(own, 1e-9):.2f}x of it); {naive_said}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"| assignment | submissions | ours ({args.runner}): s per submission | own code: s per submission | ours / own code | naive: s per submission | naive / ours |")
    print("|---|---|---|---|---|---|---|")
    for assignment, n, wall, own, k, naive_wall in rows:
        naive_cells = f"{naive_wall / k:.2f} (over {k}) | {naive_wall / k / (wall / n):.1f}x" if k else "not run | -"
        print(f"| {assignment} | {n} | {wall / n:.2f} | {own / n:.2f} | {wall / max(own, 1e-9):.2f}x | {naive_cells} |")


if __name__ == "__main__":
    main()
