"""Gradescope: the ``autograder.zip`` that runs these same checks there, and its results.json.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build the
image, and for each submission runs ``run_autograder`` with the student's files in
``/autograder/submission``; it reads ``/autograder/results/results.json``. The bundle holds
the grader's source, the assignment's rubric (its checks and drivers) and its template
(the given code the checks import); never the reference solutions or the grader's own
tests. ``run_autograder`` calls ``python -m grader._platforms.gradescope``, which grades the one
submission with local workers (as root there, so each worker is isolated as on any
grading machine) and writes Gradescope's format: only the fields its specification
documents, hidden tests carrying the rubric's visibility, the explanation in each
test's output.

What students see there (Gradescope's autograder specification): the top-level ``output``
always; each test's name, output, score, max_score and status when its visibility lets
them (``hidden`` never, ``after_due_date`` and ``after_published`` from then on); the
top-level ``score`` only while no test is hidden from them; stdout never
(``stdout_visibility`` hidden). So the top-level output is made from the visible tests
alone (``grader._reports.shown``: each problem's visible totals and how many more tests count,
never their points or results), the score stays the grade (every test), and where tests
are not visible the run's ``execution_time`` (which their time is part of) is left out;
stdout, the staff's, has the full totals and the time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
import sys
import zipfile
from pathlib import Path

from .._authoring import mistakes as _mistakes
from .._course.layout import Course
from .._exceptions import ConfigError
from .._course.intake import single
from .._course.models import GradescopeResults, GradescopeTest, Result
from .._reports.shown import ShownProblem, later_sentence, shown_problems

log = logging.getLogger(__name__)

_SETUP = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source: a venv with the pinned
# dependencies and the grader (not editable: workers must not see this folder).
set -euo pipefail
cd "$(dirname "$0")"
PY=""
for c in python3.13 python3.12 python3.11 python3; do
  if command -v "$c" >/dev/null && "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY=$(command -v "$c"); break
  fi
done
if [ -z "$PY" ]; then  # Gradescope's Ubuntu 22.04 image has 3.10: take Ubuntu's 3.11
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv
  PY=$(command -v python3.11)
fi
"$PY" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -q --upgrade pip
/autograder/venv/bin/python -m pip install -q -r course/requirements.txt
/autograder/venv/bin/python -m pip install -q --no-deps ./course
chmod -R a+rX /autograder/venv  # workers run as other users and must run the interpreter
"""

_RUN = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT and GRADER_PYTHON let a
# local stand-in of the /autograder tree run it too (the grader's own tests do).
set -u
ROOT=${AUTOGRADER_ROOT:-/autograder}
PY=${GRADER_PYTHON:-$ROOT/venv/bin/python}
export GRADER_COURSE="$ROOT/source/course"
mkdir -p "$ROOT/results"
cd "$ROOT"
exec "$PY" -m grader._platforms.gradescope __ASSIGNMENT__ --root "$ROOT"
"""


def _course_files(course: Course, assignment: str) -> list[tuple[Path, str]]:
    """(file, name in the bundle) for what the bundle's course needs to grade ``assignment``."""
    a = course.assignment(assignment)
    package = Path(__file__).resolve().parents[1]  # grader/
    out: list[tuple[Path, str]] = []

    def tree(folder: Path, name: str, leave_out: tuple[str, ...] = ()) -> None:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if rel.parts[0] in leave_out:
                continue
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                out.append((path, f"course/{name}/{rel.as_posix()}"))

    tree(package, "grader")
    # the known mistakes hold right-but-different solutions too: they never leave the course
    tree(a.rubric_dir, f"rubrics/{assignment}", leave_out=(_mistakes.FILE, _mistakes.FOLDER))
    tree(a.template_dir, f"student_template/{assignment}")
    # a template derived from the reference's solution markers: the derived text, never the reference
    out += [(path, f"course/student_template/{assignment}/{name}") for name, path in a.derived_templates().items()]
    project = package.parent  # the grader's checkout: how to install it
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        if not (project / name).is_file():
            raise ConfigError(f"cannot build the Gradescope bundle: {project / name} is missing "
                              "(build it from a checkout of the grader, where `make setup` was run)")
        out.append((project / name, f"course/{name}"))
    return out


def _add(z: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def build(assignment: str, out: Path, *, course: Course | None = None) -> Path:
    """Write Gradescope's ``autograder.zip`` for ``assignment`` to ``out`` (a folder that
    exists gets ``autograder-ASSIGNMENT.zip`` in it, as ``cp`` does); return the zip's path.
    The zip is written beside its place and moved there whole: a failure leaves nothing."""
    course = course or Course.locate()
    files = _course_files(course, assignment)
    if out.is_dir():
        out = out / f"autograder-{assignment}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w") as z:
            _add(z, "setup.sh", _SETUP.encode(), executable=True)
            _add(z, "run_autograder", _RUN.replace("__ASSIGNMENT__", assignment).encode(), executable=True)
            for src, name in files:
                _add(z, name, src.read_bytes())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def to_gradescope(result: Result) -> GradescopeResults:
    """Gradescope's results.json for one graded submission. The visible tests are numbered
    1, 2, ... in rubric order and the others after them, so no gap among the numbers a student
    sees tells where a hidden test sits."""
    order = sorted(result.tests, key=lambda t: t.visibility != "visible")  # (a stable sort: rubric order within each)
    number = {id(t): i for i, t in enumerate(order, 1)}
    tests = [
        GradescopeTest(
            score=t.score, max_score=t.max_score, status=t.status, name=t.name, number=str(number[id(t)]),
            output=t.output if t.outcome == "passed" or not t.output else f"[{t.outcome}] {t.output}",
            tags=[t.problem], visibility=t.visibility, extra_data={"outcome": t.outcome, "test": t.test},
        )
        for t in result.tests
    ]  # fmt: skip
    not_shown = sum(t.visibility != "visible" for t in result.tests)
    return GradescopeResults(
        score=result.score,  # the grade: Gradescope hides it from students while a test is hidden from them
        execution_time=None if not_shown else result.execution_time,
        output=student_output(result),
        tests=tests,
        extra_data={"assignment": result.assignment, "seed": result.seed, "device": result.device, "isolation": result.isolation},
    )


def _problem_line(p: ShownProblem) -> str:
    if not p.not_shown:
        return f"{p.title}: {p.score:g}/{p.max_score:g}"
    more = f"+ {p.not_shown} more {'test' if p.not_shown == 1 else 'tests'} not shown here"
    if not p.listed:
        return f"{p.title}: no visible tests ({more})"
    return f"{p.title}: {p.score:g}/{p.max_score:g} on the visible tests ({more})"


def student_output(result: Result) -> str:
    """results.json's top-level ``output``, which every student sees at once: each problem's
    totals over its visible tests, how many more tests count (nothing else of them), where
    and by what it was graded."""
    problems = shown_problems(result)
    lines = [_problem_line(p) for p in problems]
    not_shown = sum(p.not_shown for p in problems)
    if not_shown:
        lines.append("These totals count only the visible tests. " + later_sentence(not_shown))
    return "\n".join(lines) + f"\n(graded on the {result.device.upper()}, grader {result.grader_version})"


def staff_lines(result: Result) -> list[str]:
    """What run_autograder prints (Gradescope's stdout: the staff's alone): every test, each
    problem's full totals, the grade and the run's time."""
    lines = [f"{t.status:>7}  {t.score:g}/{t.max_score:g}  {t.name}" + ("" if t.visibility == "visible" else f"  [{t.visibility}]")
             for t in result.tests]
    lines += [f"problem {p.id}: {p.score:g}/{p.max_score:g} (every test)" for p in result.problems]
    lines.append(f"score {result.score:g}/{result.max_score:g} in {result.execution_time:.1f} s")
    return lines


def _student(root: Path) -> str:
    """The first submitter's email from Gradescope's submission_metadata.json, if any."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text())
        users = meta.get("users") or []
        return str(users[0].get("email") or users[0].get("name") or "student")
    except (OSError, ValueError, IndexError, AttributeError, TypeError):
        return "student"


def run(assignment: str, root: Path, *, course: Course | None = None, seed: int | None = None) -> tuple[Result, GradescopeResults]:
    """Grade ``root/submission`` and write ``root/results/results.json`` (Gradescope's layout);
    return the result and what was written."""
    from .._course.files import atomic_write
    from .._grading.api import grade_one

    course = course or Course.locate()
    a = course.assignment(assignment)
    submission = root / "submission"
    sub = single(submission, a.student_files, student=_student(root), recursive=True)
    hide = [p.resolve() for p in (submission, root / "results", root / "source") if p.is_dir()]
    result = grade_one(a, sub, mode="grade", seed=seed, hide=hide)
    results = to_gradescope(result)
    if sub.notes:
        results.output += "\nAbout your files: " + "; ".join(sub.notes)
    atomic_write(root / "results" / "results.json", results.model_dump_json(indent=2, exclude_none=True))
    return result, results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grader._platforms.gradescope", description="Grade one Gradescope submission.")
    ap.add_argument("assignment")
    ap.add_argument("--root", type=Path, default=Path("/autograder"))
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result, _ = run(args.assignment, args.root, seed=args.seed)
    except ConfigError as exc:  # Gradescope shows this output to the course staff
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    for line in staff_lines(result):  # stdout: the staff's alone (stdout_visibility hidden)
        print(line)
    print(f"results.json written to {args.root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
