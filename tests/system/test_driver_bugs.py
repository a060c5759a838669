"""Issue 15, item 11: a driver bug is the grader's, not the student's.

A toy course (one problem) in tmp_path, graded and validated through the real worker: a
driver function that returns what cannot be sent back is reported as the grader's own
failure naming the driver and the function, never as the student's error; and
``grader validate`` finds, by reading the files, a check that calls a driver function the
driver does not define (or with arguments it does not take), naming both files.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import run_cli
from grader._course.layout import Assignment, Course

RUBRIC = """
assignment = "toy-hw"
title = "Toy"
[[problems]]
id = "triple"
title = "Triple"
file = "triple.py"
points = 2
[[problems.tests]]
name = "test_value"
title = "triple(n) is 3 n"
points = 1
[[problems.tests]]
name = "test_broken_reply"
title = "a check whose driver replies with a set"
points = 1
"""

TESTS = '''
def test_value(submission):
    assert submission.call("value", n=4)["value"] == 12

def test_broken_reply(submission):
    assert submission.call("as_a_set", n=4)["value"] == [12]
'''

DRIVER = '''
from typing import Any, Callable

from grader.driver import WrongAnswer, plain


def value(student, n, device):
    return {"value": plain(student.triple(n), "what triple returned")}


def as_a_set(student, n, device):
    return {"value": {plain(student.triple(n), "what triple returned")}}  # the bug: a set cannot be sent
'''

REFERENCE = "def triple(n):\n    return 3 * n\n"
TEMPLATE = 'def triple(n):\n    raise NotImplementedError("write triple(n)")\n'


def toy_course(root: Path, tests: str = TESTS, driver: str = DRIVER) -> Course:
    files = {
        "rubrics/toy-hw/rubric.toml": RUBRIC,
        "rubrics/toy-hw/test_triple.py": tests,
        "rubrics/toy-hw/drivers/triple.py": driver,
        "reference/toy-hw/triple.py": REFERENCE,
        "student_template/toy-hw/triple.py": TEMPLATE,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return Course.locate(root)


def test_a_reply_that_cannot_be_sent_is_the_grader_failing_not_the_student(tmp_path: Path) -> None:
    from grader import grade

    course = toy_course(tmp_path / "course")
    subs = tmp_path / "subs"
    (subs / "ann").mkdir(parents=True)
    (subs / "ann" / "triple.py").write_text(REFERENCE)  # a right answer
    (result,) = grade("toy-hw", subs, tmp_path / "out", course=course, seed=1)
    tests = {t.test: t for t in result.tests}
    assert tests["test_value"].outcome == "passed", tests["test_value"].output
    broken = tests["test_broken_reply"]
    assert broken.outcome == "error" and broken.score == 0, broken
    assert "The grader itself failed on this test; this is not a verdict on your code" in broken.output, broken.output
    assert "rubrics/toy-hw/drivers/triple.py" in broken.output, broken.output  # the driver, by its file
    assert "as_a_set()" in broken.output and "holds a set" in broken.output, broken.output  # ... and its function
    assert "your code returned" not in broken.output  # (before: "what your code returned holds a set": the student's)


def test_validate_reports_a_driver_bug_found_at_run_time_as_the_graders(tmp_path: Path) -> None:
    from grader import validate

    ref, tpl = validate("toy-hw", course=toy_course(tmp_path / "course"), seed=1, mistakes=False)
    assert not ref.ok
    (problem,) = ref.problems
    assert problem.startswith("triple: a check whose driver replies with a set: error"), problem
    assert "drivers/triple.py" in problem and "as_a_set()" in problem and "grader itself failed" in problem, problem
    assert tpl.ok, tpl.problems  # the template's stub raises first: NotImplementedError, the student's


def test_validate_reads_the_checks_for_driver_functions_that_do_not_exist(tmp_path: Path) -> None:
    """Found by reading the test module and the driver (ast), before any student's code runs."""
    from grader._course.driver_calls import driver_call_problems

    tests = TESTS.replace('"as_a_set", n=4', '"as_a_sett", n=4') + '''
def helper(run, fn):
    return run.call(fn, n=1)  # a name given by a variable: left to the run-time check

def more(submission):  # (a helper, not a test: every use is read, wherever it is)
    submission.call("value", m=4)   # no such parameter
    submission.call("value")        # n missing
    submission.call("value", **{"n": 1})  # not known here: not reported
    submission.prepare("timed", n=1)
'''
    course = toy_course(tmp_path / "course", tests=tests)
    problems = driver_call_problems(Assignment("toy-hw", course.root))
    assert problems == [
        "rubrics/toy-hw/test_triple.py:6: call('as_a_sett') names a function the driver rubrics/toy-hw/drivers/triple.py "
        "does not define (its functions: as_a_set, value)",
        "rubrics/toy-hw/test_triple.py:12: call('value'): the driver rubrics/toy-hw/drivers/triple.py's value() "
        "takes no argument 'm'",
        "rubrics/toy-hw/test_triple.py:13: call('value'): the driver rubrics/toy-hw/drivers/triple.py's value() "
        "needs 'n', which this call does not give",
        "rubrics/toy-hw/test_triple.py:15: prepare('timed') names a function the driver rubrics/toy-hw/drivers/triple.py "
        "does not define (its functions: as_a_set, value)",
    ], problems

    # A driver that binds names in ways a reading cannot follow: only the run time can tell.
    dynamic = toy_course(tmp_path / "dynamic", tests=tests, driver=DRIVER + "\nglobals()['as_a_sett'] = as_a_set\n")
    assert not [p for p in driver_call_problems(Assignment("toy-hw", dynamic.root)) if "does not define" in p]

    # The rubric does not load (issue 16, item 4: an authoring error when the rubric loads,
    # never a student's): `grader validate`, `grade` and `check` all stop on it, naming the files.
    for command in (["validate", "toy-hw"], ["check", "toy-hw", str(tmp_path)]):
        proc = run_cli(*command, "--course", tmp_path / "course")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "authoring errors in its checks" in proc.stderr, proc.stderr
        assert ("rubrics/toy-hw/test_triple.py:6: call('as_a_sett') names a function the driver "
                "rubrics/toy-hw/drivers/triple.py does not define") in proc.stderr, proc.stderr


def test_the_course_s_own_checks_call_only_functions_their_drivers_define() -> None:
    from conftest import ROOT
    from grader._course.driver_calls import driver_call_problems

    course = Course.locate(ROOT)
    for a in course.assignment_ids():
        assert driver_call_problems(course.assignment(a)) == [], a
