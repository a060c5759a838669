"""Once a student's code runs out of time in a test, the problem's later tests share one more
test's limit (issue 29, point 4): code that loops forever costs about two limits per problem,
not one per test, and code that is slow in one test only still passes the others."""

from __future__ import annotations

import textwrap
from pathlib import Path

from grader._course.intake import Submission
from grader._course.layout import Course
from grader._grading.api import run_plan
from grader._grading.plugin import Plan
from grader._sandbox.inprocess import InProcessRunner

LIMIT = 1.0
TESTS = ["test_one", "test_two", "test_three", "test_four"]

CHECKS = '''
from grader.checks import that
from grader.fixtures import Submission

def answer_is(submission: Submission, k: int) -> None:
    got = submission.function("answer", context=f"answer({k})")(k)
    that(got == k, f"answer({k}) should be {k}, got {got!r}")
''' + "".join(f'''
def {name}(submission: Submission) -> None:
    answer_is(submission, {k})
''' for k, name in enumerate(TESTS, start=1))

STUDENTS = {
    "right": "def answer(k):\n    return k\n",
    # a hang in the first test only: the later tests are fast and pass within the shared limit
    "slow_once": "import time\n\ndef answer(k):\n    if k == 1:\n        time.sleep(600)\n    return k\n",
    "forever": "import time\n\ndef answer(k):\n    time.sleep(600)\n    return k\n",
}


def _course(root: Path) -> Course:
    root.mkdir(parents=True)
    (root / "course.toml").write_text('title = "Timeouts"\n')
    rubric = root / "rubrics" / "hw"
    rubric.mkdir(parents=True)
    tests = "".join(f'''
[[problems.tests]]
name = "{name}"
title = "answer({k}) is {k}"
points = 1
timeout = {LIMIT}
''' for k, name in enumerate(TESTS, start=1))
    (rubric / "rubric.toml").write_text(textwrap.dedent(f'''\
        assignment = "hw"
        title = "Homework"

        [[problems]]
        id = "wait"
        title = "Answer in time"
        file = "wait.py"
        points = {len(TESTS)}
        ''') + tests)
    (rubric / "test_wait.py").write_text(CHECKS)
    for part, text in (("reference", STUDENTS["right"]), ("student_template", "def answer(k):\n    raise NotImplementedError\n")):
        (root / part / "hw").mkdir(parents=True)
        (root / part / "hw" / "wait.py").write_text(text)
    return Course.locate(root)


def test_a_problem_that_timed_out_shares_one_more_limit_among_its_later_tests(tmp_path: Path) -> None:
    course = _course(tmp_path / "course")
    a = course.assignment("hw")
    subs = []
    for student, text in STUDENTS.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "wait.py").write_text(text)
        subs.append(Submission(student=student, files={"wait.py": tmp_path / "class" / student / "wait.py"}))
    runner = InProcessRunner()
    try:
        results = {r.student: r for r in run_plan(Plan(assignment=a, submissions=subs, runner=runner, seed=1))}
    finally:
        runner.close()
    outcomes = {s: {t.test: (t.outcome, t.output) for t in r.tests} for s, r in results.items()}

    assert {t: o for t, (o, _) in outcomes["right"].items()} == dict.fromkeys(TESTS, "passed")
    # slow in one test only: that test is a timeout, the others pass (one more limit is plenty for them)
    assert {t: o for t, (o, _) in outcomes["slow_once"].items()} == {**dict.fromkeys(TESTS, "passed"), "test_one": "timeout"}
    forever = outcomes["forever"]
    assert {t: o for t, (o, _) in forever.items()} == dict.fromkeys(TESTS, "timeout"), forever
    assert "test_one" in forever["test_two"][1] and "one more test's limit" in forever["test_two"][1], forever["test_two"]
    for name in ("test_three", "test_four"):  # nothing left: not run at all, and the message says why
        assert forever[name][1].startswith("Not run: your code ran out of time in test_one"), forever[name]
    assert results["forever"].score == 0 and results["slow_once"].score == len(TESTS) - 1
    # forever's four tests used two limits of its code's time (test_one's, then the shared one), not four
    used = sum(t.duration for t in results["forever"].tests)
    assert 2 * LIMIT - 0.1 <= used <= 2 * LIMIT + 0.5, [(t.test, t.duration) for t in results["forever"].tests]
