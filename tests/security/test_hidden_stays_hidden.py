"""Hidden stays hidden wherever a student looks (issue 27): the feedback page, `grader check`'s
terminal and the fields of Gradescope's results.json that Gradescope shows students are made
from visible tests only. No hidden test's name, title, message, note, outcome or points, and
no total or time that counts one, reaches them; the instructor's outputs keep everything.

A small course of its own (built here) has a problem with visible and hidden tests and a
problem with hidden tests only, in all three hiding visibilities, with points no visible
number can be mistaken for. Two students are graded for real (the plugin, the CLI, the
Gradescope entry point): one passes every visible test and fails every hidden one, the
other the reverse. Every student-visible output is read for what marks a hidden test; then
each result is turned into its opposite on the hidden tests alone (outcomes, messages,
points and durations) and every student-visible output must stay the same, byte for byte.

What a student may know: how many more tests count toward the grade (the README: "hidden
ones are counted, not shown"); nothing else of them.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import AbstractSet, Any

import click
import pytest

from conftest import run_cli
from grader._reports.feedback import render_feedback
from grader._platforms.gradescope import to_gradescope
from grader._course.models import Result

A = "hh"
# Points no visible number equals: a hidden test's points, a total counting one.
VISIBLE_POINTS = {"test_small": 1.25, "test_wide": 2.25}  # 3.5 in all
HIDDEN = {  # test -> (problem, visibility, points, title)
    "test_hidden_cube": ("double", "hidden", 3.25, "HIDDEN-TITLE-cube doubles a 2x3x4 tensor"),
    "test_hidden_later": ("double", "after_due_date", 5.75, "HIDDEN-TITLE-later doubles a 4-D tensor"),
    "test_hidden_negate": ("negate", "after_published", 6.25, "HIDDEN-TITLE-negate negates a tensor"),
}
# Totals that count hidden tests: double's 12.5, the assignment's 18.75, the hidden 15.25.
TOTALS_WITH_HIDDEN = ["12.5", "18.75", "15.25"]
HIDDEN_VISIBILITIES = frozenset({"hidden", "after_due_date", "after_published"})
STATES = {  # Gradescope's visibilities shown to a student: before the due date, after it, once published
    "before the due date": {"visible"},
    "after the due date": {"visible", "after_due_date"},
    "once published": {"visible", "after_due_date", "after_published"},
}

RUBRIC = f'''
assignment = "{A}"
title = "Hidden stays hidden"

[[problems]]
id = "double"
title = "Double a tensor"
file = "double.py"
points = 12.5

[[problems.tests]]
name = "test_small"
title = "doubles a 3x4 float32 tensor"
points = 1.25
timeout = 30

[[problems.tests]]
name = "test_wide"
title = "doubles a 2x7 float64 tensor"
points = 2.25
timeout = 30
''' + "".join(f'''
[[problems.tests]]
name = "{name}"
title = "{title}"
points = {points}
visibility = "{vis}"
timeout = 30
''' for name, (problem, vis, points, title) in HIDDEN.items() if problem == "double") + '''
[[problems]]
id = "negate"
title = "Negate a tensor"
file = "negate.py"
points = 6.25
''' + "".join(f'''
[[problems.tests]]
name = "{name}"
title = "{title}"
points = {points}
visibility = "{vis}"
timeout = 30
''' for name, (problem, vis, points, title) in HIDDEN.items() if problem == "negate")

PUBLIC_DOUBLE = '''
import torch
from grader.checks import Tolerance, close
from grader.fixtures import Generator, Submission


def matches(submission: Submission, x: torch.Tensor, what: str) -> None:
    got = submission.function("double", context=what)(x)
    close(got, 2 * x, what=f"double(x) {what}", tol=Tolerance.default(x.dtype))


def test_small(submission: Submission, generator: Generator) -> None:
    matches(submission, torch.randn(3, 4, generator=generator()), "on a 3x4 float32 tensor")


def test_wide(submission: Submission, generator: Generator) -> None:
    matches(submission, torch.randn(2, 7, generator=generator(), dtype=torch.float64), "on a 2x7 float64 tensor")
'''

HIDDEN_DOUBLE = '''
import torch
from grader.checks import note
from grader.fixtures import Generator, Submission
from grader import public_checks

public = public_checks(__file__)


def test_hidden_cube(submission: Submission, generator: Generator) -> None:
    public.matches(submission, torch.randn(2, 3, 4, generator=generator()), "HIDDEN-MSG-cube on a 2x3x4 tensor")
    note("HIDDEN-NOTE-cube: 24 entries matched")


def test_hidden_later(submission: Submission, generator: Generator) -> None:
    public.matches(submission, torch.randn(2, 2, 3, 2, generator=generator()), "HIDDEN-MSG-later on a 4-D tensor")
    note("HIDDEN-NOTE-later: 24 entries matched")
'''

HIDDEN_NEGATE = '''
import torch
from grader.checks import Tolerance, close, note
from grader.fixtures import Generator, Submission


def test_hidden_negate(submission: Submission, generator: Generator) -> None:
    x = torch.randn(5, 3, generator=generator())
    got = submission.function("negate", context="HIDDEN-MSG-negate on a 5x3 tensor")(x)
    close(got, -x, what="HIDDEN-MSG-negate negate(x)", tol=Tolerance.default(x.dtype))
    note("HIDDEN-NOTE-negate: 15 entries matched")
'''

STUDENTS = {
    # every visible test passes, every hidden one fails (and prints, which nobody may read)
    "vis_pass": {
        "double.py": "def double(x):\n    if x.dim() <= 2:\n        return 2 * x\n"
                     "    print('HIDDEN-PRINT from double')\n    return 3 * x\n",
        "negate.py": "def negate(x):\n    print('HIDDEN-PRINT from negate')\n    return x\n",
    },
    # the reverse: every visible test fails, every hidden one passes
    "hid_pass": {
        "double.py": "def double(x):\n    if x.dim() <= 2:\n        return x + 1\n    return 2 * x\n",
        "negate.py": "def negate(x):\n    return -x\n",
    },
}


def _secrets(shown: AbstractSet[str] = frozenset({"visible"})) -> list[str]:
    """What marks a hidden test a student is not shown (``shown``: the visibilities shown now)."""
    out: list[str] = list(TOTALS_WITH_HIDDEN) + ["HIDDEN-PRINT"]
    for name, (_, vis, points, title) in HIDDEN.items():
        if vis not in shown:
            key = name.removeprefix("test_hidden_")
            out += [name, title, f"HIDDEN-TITLE-{key}", f"HIDDEN-MSG-{key}", f"HIDDEN-NOTE-{key}", f"{points:g}"]
    return out


def _leaks(text: str, shown: AbstractSet[str] = frozenset({"visible"})) -> list[str]:
    return [s for s in _secrets(shown) if s in text]


def _page(page: str) -> str:
    """The page's HTML but its style sheet (the same for every page: its font sizes are no totals)."""
    return re.sub(r"<style>.*?</style>", "", page, flags=re.S)


def _page_text(page: str) -> str:
    body = page.split("<body", 1)[1]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def gradescope_student_view(raw: dict[str, Any], shown: AbstractSet[str]) -> str:
    """What a student sees of a results.json, per Gradescope's autograder specification:
    nothing if the submission's own visibility is not shown yet; else the top-level output,
    and each test whose visibility is shown now (its name, number, tags, output, score,
    max_score, status); the total score only where no test is hidden from them ("If test
    cases are hidden, students will not be able to see their total score"); stdout only when
    stdout_visibility shows it. ``execution_time`` is counted as shown (the specification
    does not say it is not); ``extra_data`` is stored, never shown."""
    top = raw.get("visibility", "visible")
    if top not in shown:
        return ""
    tests = raw.get("tests", [])
    listed = [t for t in tests if t.get("visibility", top) in shown]
    lines = [raw.get("output", "")]
    if len(listed) == len(tests) and "score" in raw:
        lines.append(f"total score {raw['score']:g}")
    if "execution_time" in raw:
        lines.append(f"run time {raw['execution_time']}")
    for t in listed:
        lines += [str(t.get("number", "")), t.get("name", ""), " ".join(t.get("tags", [])), t.get("output", ""),
                  f"{t.get('score', 0):g} / {t.get('max_score', 0):g}", t.get("status", "")]
    if raw.get("stdout_visibility", "hidden") in shown:
        lines.append("<stdout shown>")
    return "\n".join(lines)


def opposite_on_hidden(r: Result, which: AbstractSet[str]) -> Result:
    """``r`` with the result of every test whose visibility is in ``which`` turned over:
    outcome, status, score, message, points and duration; the totals and the run's time
    follow. Its other tests are untouched."""
    tests = []
    for t in r.tests:
        if t.visibility not in which:
            tests.append(t)
            continue
        passes = t.outcome != "passed"
        max_score = 2 * t.max_score + 1
        tests.append(t.model_copy(update={
            "outcome": "passed" if passes else "timeout", "status": "passed" if passes else "failed",
            "max_score": max_score, "score": max_score if passes else 0.0,
            "output": "OTHER-NOTE" if passes else "OTHER-MSG: ran out of time", "duration": t.duration + 61.0,
        }))  # fmt: skip
    problems = [p.model_copy(update={"score": sum(t.score for t in tests if t.problem == p.id),
                                     "max_score": sum(t.max_score for t in tests if t.problem == p.id)})
                for p in r.problems]
    hidden = sum(t.visibility in which for t in r.tests)
    return r.model_copy(update={"tests": tests, "problems": problems, "score": sum(t.score for t in tests),
                                "max_score": sum(t.max_score for t in tests),
                                "execution_time": r.execution_time + 61.0 * hidden,
                                "student_time": r.student_time + 61.0 * hidden})


# ------------------------------------------------------------------ setup ----


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hidden-course")
    (root / "course.toml").write_text('title = "A course with hidden tests"\n')
    rubric = root / "rubrics" / A
    (rubric / "hidden").mkdir(parents=True)
    (rubric / "rubric.toml").write_text(RUBRIC)
    (rubric / "test_double.py").write_text(PUBLIC_DOUBLE)
    (rubric / "test_negate.py").write_text('"""negate has hidden checks only."""\n')
    (rubric / "hidden" / "test_double.py").write_text(HIDDEN_DOUBLE)
    (rubric / "hidden" / "test_negate.py").write_text(HIDDEN_NEGATE)
    template = root / "student_template" / A
    template.mkdir(parents=True)
    (template / "double.py").write_text("def double(x):\n    raise NotImplementedError\n")
    (template / "negate.py").write_text("def negate(x):\n    raise NotImplementedError\n")
    (root / "reference" / A).mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def graded(course: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`grader grade` of both students: their pages and result.json files."""
    classroom = tmp_path_factory.mktemp("class")
    for student, files in STUDENTS.items():
        (classroom / student).mkdir()
        for name, text in files.items():
            (classroom / student / name).write_text(text)
    out = tmp_path_factory.mktemp("graded")
    proc = run_cli("grade", A, classroom, "--out", out, "--course", course, "--seed", "5", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _result(graded: Path, student: str) -> Result:
    return Result.load(graded / student / "result.json")


# -------------------------------------------------------- the real runs ----


def test_the_grade_is_complete_for_the_instructor(graded: Path) -> None:
    """The control: the hidden tests ran and count, so a student output that said nothing
    of them would say it because it was made without them."""
    vis, hid = _result(graded, "vis_pass"), _result(graded, "hid_pass")
    assert (vis.score, hid.score, vis.max_score) == (3.5, 15.25, 18.75)
    assert {t.test: t.outcome for t in vis.tests if t.visibility != "visible"} == dict.fromkeys(HIDDEN, "failed")
    assert {t.test: t.outcome for t in hid.tests if t.visibility != "visible"} == dict.fromkeys(HIDDEN, "passed")
    assert all(t.outcome == "passed" for t in vis.tests if t.visibility == "visible")
    assert all(t.outcome == "failed" for t in hid.tests if t.visibility == "visible")
    assert any("HIDDEN-MSG-cube" in t.output for t in vis.tests) and any("HIDDEN-NOTE-cube" in t.output for t in hid.tests)
    assert [(p.id, p.score, p.max_score) for p in vis.problems] == [("double", 3.5, 12.5), ("negate", 0.0, 6.25)]
    assert "vis_pass,3.5,0.0,3.5,18.75" in (graded / "gradebook.csv").read_text()
    assert "hid_pass,9.0,6.25,15.25,18.75" in (graded / "gradebook.csv").read_text()


@pytest.mark.parametrize("student", list(STUDENTS))
def test_the_feedback_page_shows_visible_tests_and_a_count(graded: Path, student: str) -> None:
    page = _page((graded / student / "feedback.html").read_text())
    text = _page_text(page)
    assert not _leaks(page) and not _leaks(text), _leaks(page + text)
    got = "3.5" if student == "vis_pass" else "0"
    assert f"{got} / 3.5 points" in text  # the page's total and double's: its visible tests
    assert "Negate a tensor" in text and "0 / 0 points" in text  # a problem with hidden tests only
    assert "2 more tests count toward your grade; their results are not shown here." in text  # double
    assert "1 more test counts toward your grade; its result is not shown here." in text  # negate
    assert "3 more tests count toward your grade" in text  # the page's note


@pytest.mark.parametrize("student", list(STUDENTS))
def test_gradescope_shows_students_visible_totals_only(course: Path, tmp_path: Path, student: str) -> None:
    root = tmp_path / "autograder"
    for name, text in STUDENTS[student].items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    env = {**os.environ, "GRADER_COURSE": str(course)}
    proc = subprocess.run([sys.executable, "-m", "grader._platforms.gradescope", A, "--root", str(root), "--seed", "5"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raw = json.loads((root / "results" / "results.json").read_text())
    for state, shown in STATES.items():
        view = gradescope_student_view(raw, shown)
        assert not _leaks(view, shown), (state, _leaks(view, shown), view)
    got = "3.5" if student == "vis_pass" else "0"
    assert f"Double a tensor: {got}/3.5 on the visible tests (+ 2 more tests not shown here)" in raw["output"]
    assert "Negate a tensor: no visible tests (+ 1 more test not shown here)" in raw["output"]
    assert "3 more tests count toward your grade" in raw["output"]
    # the instructor's: the grade counts every test, the staff's stdout has the full totals
    assert raw["score"] == (3.5 if student == "vis_pass" else 15.25)
    assert raw["stdout_visibility"] == "hidden"
    assert "problem double: " + ("3.5/12.5" if student == "vis_pass" else "9/12.5") in proc.stdout


@pytest.mark.parametrize("student", list(STUDENTS))
def test_grader_check_says_nothing_of_hidden_tests(course: Path, tmp_path: Path, student: str) -> None:
    folder = tmp_path / student
    folder.mkdir()
    for name, text in STUDENTS[student].items():
        (folder / name).write_text(text)
    proc = run_cli("check", A, folder, "--course", course, "--seed", "5")
    assert proc.returncode == (0 if student == "vis_pass" else 1), proc.stdout + proc.stderr
    assert not _leaks(proc.stdout + proc.stderr), _leaks(proc.stdout + proc.stderr)
    got = "3.5" if student == "vis_pass" else "0"
    assert f"Public tests: {got}/3.5." in proc.stdout
    page = _page((folder / "feedback.html").read_text())
    assert not _leaks(page) and not _leaks(_page_text(page))


# ------------------------------------ the hidden results turned over ----


@pytest.mark.parametrize("student", list(STUDENTS))
def test_turning_the_hidden_results_over_changes_nothing_a_student_sees(graded: Path, student: str) -> None:
    """Every student-visible output is a function of the tests shown alone: the result and its
    opposite on the tests not shown (outcomes, messages, points, durations, and so every total
    and the run's time) give the same bytes: the page, what Gradescope shows before the due
    date, after it and once published, and `grader check`'s table."""
    real = _result(graded, student)
    other = opposite_on_hidden(real, HIDDEN_VISIBILITIES)
    assert (other.score, other.max_score, other.execution_time) != (real.score, real.max_score, real.execution_time)
    titles = {"double": "Double a tensor", "negate": "Negate a tensor"}
    page = render_feedback(real, problem_titles=titles, audience="student")
    assert page == render_feedback(other, problem_titles=titles, audience="student"), "the page changed"
    for state, shown in STATES.items():
        turned = opposite_on_hidden(real, HIDDEN_VISIBILITIES - shown)
        a, b = (gradescope_student_view(json.loads(to_gradescope(r).model_dump_json(exclude_none=True)), shown)
                for r in (real, turned))
        assert a == b, f"{state}: what Gradescope shows changed with the results of tests not shown"
    from grader.cli import check_table  # (a self-check runs no hidden test; were one in its result, nothing of it is told)

    assert [click.unstyle(line) for line in check_table(real)] == [click.unstyle(line) for line in check_table(other)]
    # the control: the instructor's page does show them
    assert render_feedback(real, problem_titles=titles, audience="instructor") != \
        render_feedback(other, problem_titles=titles, audience="instructor")


def test_the_student_page_time_is_that_of_the_tests_it_shows(graded: Path) -> None:
    """A hidden test that ran out of time makes the run long: the page's time says nothing of it."""
    real = _result(graded, "vis_pass")
    slow = opposite_on_hidden(real, HIDDEN_VISIBILITIES).model_copy(update={"execution_time": 3725.0})
    text = _page_text(render_feedback(slow, audience="student"))
    assert "1 h 02 min" not in text and "Time of the tests shown" in text
    assert "1 h 02 min" in _page_text(render_feedback(slow, audience="instructor"))


def test_gradescope_numbers_the_visible_tests_without_gaps(graded: Path) -> None:
    """The numbers a student sees run 1, 2, ... (a gap showed where a hidden test sat: found by
    a tester who had not read this module); the hidden ones come after, in rubric order."""
    from grader._platforms.gradescope import to_gradescope

    r = _result(graded, "vis_pass")
    hidden = [t for t in r.tests if t.visibility != "visible"]
    r = r.model_copy(update={"tests": [hidden[0]] + [t for t in r.tests if t is not hidden[0]]})  # a hidden test first
    raw = json.loads(to_gradescope(r).model_dump_json(exclude_none=True))
    number = {t["name"]: int(t["number"]) for t in raw["tests"]}
    visible = [number[t.name] for t in r.tests if t.visibility == "visible"]
    others = [number[t.name] for t in r.tests if t.visibility != "visible"]
    assert visible == list(range(1, len(visible) + 1))
    assert others == list(range(len(visible) + 1, len(r.tests) + 1))
