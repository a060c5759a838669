"""The Python API behind the CLI: grade a class, self-check one folder, validate an assignment."""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable, Literal

import pytest

from ._course import Assignment, Course
from ._exceptions import ConfigError
from ._feedback import write_feedback
from ._intake import Submission, single, take_in
from ._summary import load_results, render_summary
from ._models import Result, TestResult
from ._plugin import GraderPlugin, Plan
from ._sandbox import Limits, LocalRunner, Runner

log = logging.getLogger(__name__)

try:
    GRADER_VERSION = version("dl-grader")
except PackageNotFoundError:  # running from a checkout without installing
    GRADER_VERSION = "0+unknown"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``path`` so that a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Progress:
    """Callbacks the CLI uses to show progress; the library itself only logs."""

    on_test: Callable[[str, TestResult], None] = lambda student, test: None
    on_result: Callable[[Result], None] = lambda result: None
    on_intake: Callable[[list[str]], None] = lambda lines: None
    on_resume: Callable[[int, int], None] = lambda done, total: None  # already graded, in all


def run_plan(plan: Plan) -> list[Result]:
    """Run one pytest session over the plan's submissions; return their results in order."""
    a = plan.assignment
    problems = [p for p in a.rubric.problems if plan.problems is None or p.id in plan.problems]
    if not problems:
        raise ConfigError(f"none of the problems {sorted(plan.problems or [])} is in {a.id} (it has {[p.id for p in a.rubric.problems]})")
    if not plan.submissions:
        return []
    args = [str(a.test_module(p)) for p in problems] + [
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        "-p", "no:stepwise",
        "--capture=no",
        "--noconftest",
        "--import-mode=importlib",
        "--rootdir", str(a.rubric_dir),
        "-c", os.devnull,
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]  # fmt: skip
    plugin = GraderPlugin(plan)
    code = pytest.main(args, plugins=[plugin])
    if plan.config_error:
        raise ConfigError(plan.config_error)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise ConfigError(f"grading {a.id} stopped: pytest exited with {code!r}")
    return plan.results


def _stamp(result: Result) -> Result:
    return result.model_copy(update={"grader_version": GRADER_VERSION, "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def grade(
    assignment: str,
    submissions_dir: Path,
    out_dir: Path,
    *,
    course: Course | None = None,
    problems: set[str] | None = None,
    seed: int | None = None,
    runner: Runner | None = None,
    device: str = "cpu",
    limits: Limits | None = None,
    memory_mb: int | None = None,
    regrade: set[str] | None = None,
    regrade_all: bool = False,
    progress: Progress = Progress(),
) -> list[Result]:
    """Grade every submission in ``submissions_dir``; write result.json and feedback.html per
    student and gradebook.csv into ``out_dir``. Each student's files are written as soon as
    their grading ends, so an interruption loses only the student being graded, and the same
    call resumes: a student whose result.json is already there (for these problems) is not
    graded again, unless named in ``regrade`` or ``regrade_all``."""
    course = course or Course.locate()
    a = course.assignment(assignment)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="grader-intake-"))
    try:
        intake = take_in(submissions_dir, a.student_files, scratch)
        subs = intake.submissions
        atomic_write(out_dir / "intake.txt", "\n".join(intake.summary()) + "\n")
        progress.on_intake(intake.summary())
        for sub in subs:
            for note in sub.notes:
                log.info("%s: %s", sub.student, note)
            if sub.problem:
                log.warning("%s: %s", sub.student, sub.problem)
        titles = {p.id: p.title for p in a.rubric.problems}
        unknown = sorted((regrade or set()) - {s.student for s in subs})
        if unknown:
            raise ConfigError(f"--regrade {' '.join(unknown)}: no such student in {submissions_dir}")
        wanted = {p.id for p in a.rubric.problems if problems is None or p.id in problems}
        done = {} if regrade_all else _finished(out_dir, a.id, wanted, [s.student for s in subs if s.student not in (regrade or set())])
        progress.on_resume(len(done), len(subs))
        todo = [s for s in subs if s.student not in done]

        def write(result: Result) -> None:
            result = _stamp(result)
            folder = out_dir / result.student
            write_feedback(result, folder / "feedback.html", problem_titles=titles)
            atomic_write(folder / "result.json", result.model_dump_json(indent=2))  # last: it marks the student done
            progress.on_result(result)

        plan = Plan(
            assignment=a,
            submissions=todo,
            runner=runner or LocalRunner(),
            mode="grade",
            problems=problems,
            seed=secrets.randbits(31) if seed is None else seed,
            device=device,
            limits=limits or Limits(),
            memory_mb=memory_mb,
            hide=[submissions_dir.resolve(), out_dir.resolve(), scratch],
            on_result=write,
            on_test=progress.on_test,
        )
        results = run_plan(plan) if todo else []
        results = sorted([*done.values(), *results], key=lambda r: r.student)
        atomic_write(out_dir / "gradebook.csv", gradebook(a, results))
        if results:
            atomic_write(out_dir / "summary.html", render_summary(results))
        return results
    finally:
        close = getattr(runner, "close", None)
        if close is not None:  # containers go, also when the batch was interrupted
            close()
        shutil.rmtree(scratch, ignore_errors=True)


def _finished(out_dir: Path, assignment: str, wanted: set[str], students: list[str]) -> dict[str, Result]:
    """The students of this batch already graded in ``out_dir``: a result.json that reads,
    of this assignment, covering the problems asked for now."""
    done = {}
    for student in students:
        path = out_dir / student / "result.json"
        try:
            r = Result.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if r.assignment == assignment and r.mode == "grade" and wanted <= {p.id for p in r.problems}:
            done[student] = r
    return done


def gradebook(a: Assignment | None, results: list[Result]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    ids = [p.id for p in a.rubric.problems] if a else list(dict.fromkeys(p.id for r in results for p in r.problems))
    w.writerow(["student", *ids, "score", "max_score"])
    for r in sorted(results, key=lambda r: r.student):
        by = {p.id: p.score for p in r.problems}
        w.writerow([r.student, *(by.get(i, "") for i in ids), r.score, r.max_score])
    return buf.getvalue()


def report(out_dir: Path) -> list[Result]:
    """Re-make every page of an output folder from its stored result.json files (no grading):
    each student's feedback.html, gradebook.csv and summary.html."""
    results = load_results(out_dir)
    for r in results:
        write_feedback(r, out_dir / r.student / "feedback.html")
    atomic_write(out_dir / "gradebook.csv", gradebook(None, results))
    atomic_write(out_dir / "summary.html", render_summary(results))
    return results


def check(
    assignment: str,
    folder: Path,
    *,
    course: Course | None = None,
    seed: int | None = None,
    device: str = "cpu",
    progress: Progress = Progress(),
    feedback: Path | None = None,
) -> Result:
    """A student's self-check: the public tests on their folder; feedback.html written beside it."""
    course = course or Course.locate()
    a = course.assignment(assignment)
    sub = single(folder, a.student_files, student=folder.resolve().name or "me")
    plan = Plan(
        assignment=a,
        submissions=[sub],
        runner=LocalRunner(),
        mode="check",
        seed=secrets.randbits(31) if seed is None else seed,
        device=device,
        on_test=progress.on_test,
    )
    (result,) = run_plan(plan)
    result = _stamp(result)
    write_feedback(result, feedback or folder / "feedback.html", problem_titles={p.id: p.title for p in a.rubric.problems})
    return result


@dataclass(frozen=True)
class Validation:
    assignment: str
    which: Literal["reference", "template"]
    result: Result
    problems: list[str]  # what is wrong; empty when valid

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(assignment: str, *, course: Course | None = None, seed: int | None = None, progress: Progress = Progress()) -> list[Validation]:
    """The reference must score full marks on every test; the untouched template must score
    zero on every test, each with an outcome other than an internal grader error."""
    course = course or Course.locate()
    a = course.assignment(assignment)
    subs = [
        Submission("reference", {f: a.reference_dir / f for f in a.student_files if (a.reference_dir / f).is_file()}),
        Submission("template", {f: a.template_dir / f for f in a.student_files}),
    ]
    plan = Plan(
        assignment=a,
        submissions=subs,
        runner=LocalRunner(),
        mode="grade",
        seed=secrets.randbits(31) if seed is None else seed,
        on_test=progress.on_test,
    )
    results = {r.student: r for r in run_plan(plan)}
    out = []
    ref, tpl = results["reference"], results["template"]
    out.append(Validation(a.id, "reference", ref, [
        f"{t.name}: {t.outcome}\n{t.output}" for t in ref.tests if t.outcome != "passed"
    ] + ([f"missing reference file {f}" for f in a.student_files if f not in subs[0].files])))
    out.append(Validation(a.id, "template", tpl, [
        f"{t.name}: {t.outcome} (the untouched template must not score)" for t in tpl.tests if t.score > 0
    ] + [f"{t.name}: the grader failed internally:\n{t.output}" for t in tpl.tests if "grader itself failed" in t.output]))
    return out
