"""What diagnosis (issue 31) costs a batch, and what it names on a class made of known mistakes.

    .venv/bin/python benchmarks/diagnosis.py                 # 40 mfdnn-hw5 students, backprop and momentum
    .venv/bin/python benchmarks/diagnosis.py --students 100 --jobs 2

The class: the reference, a wrong backprop no known mistake reproduces (the loss's 1/2
forgotten), and every known mistake of backprop and momentum (rubrics/mfdnn-hw5/mistakes.toml,
not extended), in turn. The same class is graded twice with the same seed, by one
``grader grade`` command each (``--no-diagnosis``, then with diagnosis, in alternating order
over ``--rounds``), on the two problems the hints are on; the extra cost is the difference
of the best wall times, as a share of the plain batch's. Both must give the same scores.

It then says, for each student, what was named: a copy of a mistake with a hint should be
named with it alone (right), a copy of another mistake or a right answer with nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import build_class, load_mistakes  # noqa: E402

from grader._course.layout import Course  # noqa: E402

SEED = 20261207
PROBLEMS = ("backprop", "momentum")


def make_class(course: Course, n: int, folder: Path) -> dict[str, str]:
    """``n`` students -> what they are a copy of (a mistake's id, "reference" or "unknown")."""
    a = course.assignment("mfdnn-hw5")
    reference = (a.reference_dir / "backprop.py").read_text()
    kinds: list[tuple[str, dict[str, str]]] = [("reference", {}),
                                               ("unknown", {"backprop.py": reference.replace("    delta = y - Y\n",
                                                                                             "    delta = 2 * (y - Y)\n")})]
    kinds += [(m.id, {m.file: m.text(a)}) for m in load_mistakes("mfdnn-hw5") if m.problem in PROBLEMS and not m.extended]
    students = {f"s{i:03d}": kinds[i % len(kinds)] for i in range(n)}
    build_class(course, "mfdnn-hw5", folder, {s: files for s, (_, files) in students.items()})
    return {s: kind for s, (kind, _) in students.items()}


def grade(folder: Path, out: Path, jobs: int, diagnosis: bool) -> tuple[float, dict[str, dict]]:
    args = [sys.executable, "-m", "grader", "grade", "mfdnn-hw5", str(folder), "--out", str(out), "--seed", str(SEED),
            "--regrade-all", "--jobs", str(jobs), *(a for p in PROBLEMS for a in ("--problem", p)),
            "--diagnosis" if diagnosis else "--no-diagnosis"]
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"grader grade failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return took, {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    course = Course.locate(ROOT)
    hinted = {m.id for m in load_mistakes("mfdnn-hw5") if m.diagnoses}
    with tempfile.TemporaryDirectory(prefix="grader-bench-diagnosis-") as tmp:
        folder = Path(tmp) / "class"
        kinds = make_class(course, args.students, folder)
        times: dict[bool, list[float]] = {False: [], True: []}
        results: dict[bool, dict[str, dict]] = {}
        for r in range(args.rounds):
            for diagnosis in ((False, True) if r % 2 == 0 else (True, False)):
                took, results[diagnosis] = grade(folder, Path(tmp) / f"out-{diagnosis}", args.jobs, diagnosis)
                times[diagnosis].append(took)
                print(f"round {r + 1}: {'with' if diagnosis else 'without'} diagnosis: {took:.1f} s", flush=True)
    plain, diag = results[False], results[True]
    assert {s: r["score"] for s, r in plain.items()} == {s: r["score"] for s, r in diag.items()}, "diagnosis changed a score"
    best_plain, best_diag = min(times[False]), min(times[True])
    print(f"\n{args.students} students, {args.jobs} jobs, problems {', '.join(PROBLEMS)}; {len(hinted)} mistakes with hints")
    print(f"without diagnosis: {best_plain:.1f} s, with: {best_diag:.1f} s (best of {args.rounds}): "
          f"{100 * (best_diag - best_plain) / best_plain:+.1f}%")
    right = wrong = missed = quiet = 0
    for s, kind in sorted(kinds.items()):
        named = sorted({m for p in diag[s]["problems"] for m in p.get("diagnosis", [])})
        if kind in hinted:
            right += named == [kind]
            wrong += bool(set(named) - {kind})
            missed += kind not in named
        else:
            quiet += not named
            wrong += bool(named)
        if named and named != [kind]:
            print(f"  {s} ({kind}): named {named}")
    copies = sum(k in hinted for k in kinds.values())
    print(f"copies of a hinted mistake: {copies}, named right (alone) {right}, missed {missed}; "
          f"others (right, unknown, unhinted mistakes): {len(kinds) - copies}, named nothing {quiet}; named wrong: {wrong}")


if __name__ == "__main__":
    main()
