"""A call that ran out of time is not run again with no more time (issue 29, point 4): the
same function on the same inputs, in a later test of the same problem (its hidden tests
too), is a timeout at once, saying where it ran out; with more time it runs again; other
calls run as ever. A submission that loops forever on the inputs several tests share costs
one limit for them, not one per test, and no verdict of code that finishes changes."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from grader._course.intake import Submission
from grader._course.layout import Course
from grader._grading.api import run_plan
from grader._grading.plugin import Plan
from grader._sandbox.inprocess import InProcessRunner

# test name: (the k it calls answer with, its limit in seconds, its visibility)
TESTS = {
    "test_one": (1, 1.0, "visible"),
    "test_two": (1, 1.0, "visible"),  # the same call as test_one's, the same time
    "test_three": (3, 1.0, "visible"),  # another call
    "test_four": (1, 3.0, "hidden"),  # test_one's call with more time: run again
    "test_five": (1, 1.0, "hidden"),  # test_one's call, the same time, in the hidden tests' worker
}

STUDENTS = {
    "right": "def answer(k):\n    return k\n",
    # 2 s on answer(1), more than 1 s but less than 3 s: a timeout where it has 1 s, right where it has 3
    "slow_on_one": "import time\n\ndef answer(k):\n    if k == 1:\n        time.sleep(2)\n    return k\n",
    "forever": "import time\n\ndef answer(k):\n    time.sleep(600)\n    return k\n",
    # right, but its first call in a process takes 2 s (a cache to fill): a call that ran out
    # of time cold is run again where the worker is warm (found by attack)
    "warms_up": "import time\n\nwarm = []\n\ndef answer(k):\n    if not warm:\n        time.sleep(2)\n        warm.append(1)\n    return k\n",
}


def _checks(visibility: str) -> str:
    text = "from grader.checks import that\nfrom grader.fixtures import Submission\n"
    for name, (k, _, shown) in TESTS.items():
        if shown == visibility:
            text += f'''

def {name}(submission: Submission) -> None:
    got = submission.function("answer", context="answer({k})")({k})
    that(got == {k}, f"answer({k}) should be {k}, got {{got!r}}")
'''
    return text


def _course(root: Path) -> Course:
    rubric = root / "rubrics" / "hw"
    (rubric / "hidden").mkdir(parents=True)
    (root / "course.toml").write_text('title = "Timeouts"\n')
    tests = "".join(f'''
[[problems.tests]]
name = "{name}"
title = "answer({k}) is {k}"
points = 1
timeout = {limit}
visibility = "{shown}"
''' for name, (k, limit, shown) in TESTS.items())
    (rubric / "rubric.toml").write_text(textwrap.dedent(f'''\
        assignment = "hw"
        title = "Homework"

        [[problems]]
        id = "wait"
        title = "Answer in time"
        file = "wait.py"
        points = {len(TESTS)}
        ''') + tests)
    (rubric / "test_wait.py").write_text(_checks("visible"))
    (rubric / "hidden" / "test_wait.py").write_text(_checks("hidden"))
    for part, text in (("reference", STUDENTS["right"]), ("student_template", "def answer(k):\n    raise NotImplementedError\n")):
        (root / part / "hw").mkdir(parents=True)
        (root / part / "hw" / "wait.py").write_text(text)
    return Course.locate(root)


def test_a_call_that_ran_out_of_time_is_not_run_again_without_more_time(tmp_path: Path) -> None:
    a = _course(tmp_path / "course").assignment("hw")
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
    said = {s: {t.test: (t.outcome, t.output) for t in r.tests} for s, r in results.items()}
    outcomes = {s: {t: o for t, (o, _) in tests.items()} for s, tests in said.items()}

    assert outcomes["right"] == dict.fromkeys(TESTS, "passed")
    # the same verdicts as when every test waits its own limit out
    assert outcomes["slow_on_one"] == {"test_one": "timeout", "test_two": "timeout", "test_three": "passed",
                                       "test_four": "passed", "test_five": "timeout"}
    assert outcomes["forever"] == dict.fromkeys(TESTS, "timeout")
    assert outcomes["warms_up"] == {"test_one": "timeout", "test_two": "timeout", "test_three": "timeout",
                                    "test_four": "passed", "test_five": "passed"}
    # not run again, each the first call of a fresh worker as the one that ran out: where it
    # ran out last, with the most time (a hidden test is not named)
    for student, name, where in (("slow_on_one", "test_two", "test_one with 1 s"), ("forever", "test_two", "test_one with 1 s"),
                                 ("forever", "test_five", "a hidden test with 3 s"), ("warms_up", "test_two", "test_one with 1 s")):
        text = said[student][name][1]
        assert text.startswith(f"answer(1): Not run again: the same call, on the same inputs, ran out of time in {where} "), text
        assert "did not finish within" in text and "this test has no more time for it (1 s)" in text, text
    # run again: with more time, another call, or after another call in the same worker (its state is another)
    for student, name in (("forever", "test_four"), ("forever", "test_three"), ("slow_on_one", "test_five"), ("warms_up", "test_five")):
        assert "Not run again" not in said[student][name][1], (student, name, said[student][name])
    # a call not run again is charged what it was when it ran out, as if waited out (the
    # submission's total time counts it: found by attack)
    used = {t.test: t.duration for t in results["forever"].tests}
    assert 0.9 <= used["test_two"] <= 1.0 and 0.9 <= used["test_five"] <= 1.0, used


def test_an_import_that_ran_out_of_a_test_s_wall_time_is_not_waited_for_again(tmp_path: Path, monkeypatch: Any) -> None:
    """An import that never ends is stopped at a test's wall-clock bound (shorter than the
    import's own): it is not started again for a later test with no more wall time, its hidden
    tests included; every test is a timeout, as when each waited (found by attack: a file that
    sleeps at the top cost every test of a problem its wall-clock bound)."""
    from grader._grading import runs

    monkeypatch.setattr(runs, "wall_backstop", lambda limit: limit)  # (30 s at the least otherwise)
    course = _course(tmp_path / "course")
    rubric = tmp_path / "course" / "rubrics" / "hw" / "rubric.toml"
    rubric.write_text(rubric.read_text().replace('points = 5\n', 'points = 5\nimport_timeout = 20\n', 1))
    a = Course.locate(tmp_path / "course").assignment("hw")
    assert a.rubric.problem("wait").import_timeout == 20 and course
    folder = tmp_path / "class" / "asleep"
    folder.mkdir(parents=True)
    (folder / "wait.py").write_text("import time\ntime.sleep(600)\n\ndef answer(k):\n    return k\n")
    runner = InProcessRunner()
    try:
        [result] = run_plan(Plan(assignment=a, submissions=[Submission(student="asleep", files={"wait.py": folder / "wait.py"})],
                                 runner=runner, seed=1))
    finally:
        runner.close()
    said = {t.test: (t.outcome, t.output) for t in result.tests}
    assert {t: o for t, (o, _) in said.items()} == dict.fromkeys(TESTS, "timeout"), said
    assert "still importing wait.py" in said["test_one"][1], said["test_one"]
    # not started again (the message is said before any worker starts): 1 s of wall time each, as test_one had ...
    for name, where in (("test_two", "1 s of wall-clock time in test_one"), ("test_three", "1 s of wall-clock time in test_one"),
                        ("test_five", "3 s of wall-clock time in a hidden test")):  # (... or test_four, hidden, had)
        assert said[name][1].startswith(f"Not run again: importing wait.py had not finished after {where}, "), said[name]
    assert "still importing wait.py" in said["test_four"][1]  # 3 s: more time, so it was tried again


def test_the_same_call_means_the_same_inputs_their_types_and_layout_too() -> None:
    """What a call asked (``_asked``) tells apart inputs a student's code may treat apart: a
    transposed view from a contiguous tensor of the same values, a tuple from a list, True
    from 1, -0.0 from 0.0, keys of different types; a copy of the same tensor is the same."""
    import torch

    from grader._grading.runs import _asked

    sym = torch.arange(4.0).reshape(2, 2)
    sym = sym + sym.t()

    def asked(x: Any) -> str:
        return _asked({"op": "function", "name": "f"}, {"args": [x], "kwargs": {}})

    for one, other in ((sym, sym.t()), ([1, 2], (1, 2)), (1, True), (torch.tensor(0.0), torch.tensor(-0.0)),
                       ({1: 2}, {"1": 2}), (torch.ones(2), torch.ones(2, dtype=torch.float64)),
                       (torch.ones(2), torch.ones(2).requires_grad_()), ([[1], [2]], [[1, 2]]),
                       ([[1, 2], [3]], [[1], [2, 3]]), ([1, 10], [11, 0]), ([1, 10.5], [11, 0.5]), ([], [[]])):
        assert asked(one) != asked(other), (one, other)
    # (found by attack: the values were fed without their structure, so these were one call)
    assert _asked({"op": "function", "name": "f"}, {"args": [sym]}) != _asked({"op": "function", "name": "f"}, {"args": [sym, []]})
    assert _asked({"op": "function", "name": "f"}, {"args": [sym]}) != _asked({"op": "function", "name": "f"}, {"args": [[sym]]})
    assert asked({0: sym, "lr": 0.1}) != asked({"0": sym, "lr": 0.1})  # keys of mixed types: hashed, not a TypeError
    assert asked(sym) == asked(sym.clone())
    assert _asked({"op": "function", "name": "f"}, {"args": [1]}) != _asked({"op": "function", "name": "g"}, {"args": [1]})
