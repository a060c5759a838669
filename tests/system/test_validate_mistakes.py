"""`grader validate` grades the known mistakes of an assignment (issue 16, item 5): each must
fail exactly the checks it names, and every check must be failed by one. A toy course in
tmp_path, validated through the real worker, as an instructor runs it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import run_cli
from grader import ConfigError
from grader._authoring import mistakes as _mistakes
from grader._course.layout import Course

RUBRIC = """
assignment = "toy-hw"
title = "Toy"
[[problems]]
id = "triple"
title = "Triple"
file = "triple.py"
points = 3
[[problems.tests]]
name = "test_small"
title = "triple(n) for small n"
points = 1
[[problems.tests]]
name = "test_negative"
title = "triple(n) for negative n"
points = 1
[[problems.tests]]
name = "test_int"
title = "triple returns an int"
points = 1
"""

CHECKS = '''
from grader.checks import that

def test_small(submission):
    for n in (0, 1, 2, 7):
        got = submission.call("value", n=n)["value"]
        that(got == 3 * n, f"triple({n}) returned {got!r}; expected {3 * n}")

def test_negative(submission):
    got = submission.call("value", n=-5)["value"]
    that(got == -15, f"triple(-5) returned {got!r}; expected -15")

def test_int(submission):
    got = submission.call("value", n=2)
    that(got["type"] == "int", f"triple returned a {got['type']}; return an int")
'''

DRIVER = '''
from typing import Any, Callable

from grader.driver import plain


def value(student, n, device):
    out = plain(student.triple(n), "what triple returned")
    return {"value": out, "type": type(out).__name__}
'''

REFERENCE = "def triple(n):\n    return 3 * n\n"
TEMPLATE = 'def triple(n):\n    raise NotImplementedError("write triple(n)")\n'

MISTAKES = '''
[[mistake]]
id = "abs_value"
problem = "triple"
what = "triples the absolute value"
fails = ["test_negative"]
[[mistake.edit]]
old = "    return 3 * n\\n"
new = "    return 3 * abs(n)\\n"

[[mistake]]
id = "float_result"
problem = "triple"
what = "returns a float"
fails = ["test_int"]
[[mistake.edit]]
old = "    return 3 * n\\n"
new = "    return 3.0 * n\\n"

[[mistake]]
id = "doubles"
problem = "triple"
what = "doubles instead of tripling"
fails = ["test_small", "test_negative"]
[[mistake.edit]]
old = "    return 3 * n\\n"
new = "    return 2 * n\\n"

[[mistake]]
id = "right_loop"
problem = "triple"
what = "right: adds n three times"
fails = []
source = "right_loop/triple.py"
'''


def toy(tmp_path: Path, mistakes: str = MISTAKES) -> Path:
    root = tmp_path / "course"
    for folder, files in {
        "rubrics/toy-hw": {"rubric.toml": RUBRIC, "test_triple.py": CHECKS, "mistakes.toml": mistakes},
        "rubrics/toy-hw/drivers": {"triple.py": DRIVER},
        "rubrics/toy-hw/mistakes/right_loop": {"triple.py": "def triple(n):\n    total = 0\n    for _ in range(3):\n        total += n\n    return total\n"},
        "reference/toy-hw": {"triple.py": REFERENCE},
        "student_template/toy-hw": {"triple.py": TEMPLATE},
    }.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (root / folder / name).write_text(textwrap.dedent(text))
    (root / "course.toml").write_text('title = "Toy course"\n')
    return root


def test_validate_grades_each_known_mistake_and_says_so(tmp_path: Path) -> None:
    root = toy(tmp_path)
    proc = run_cli("validate", "toy-hw", cwd=root, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "toy-hw known mistakes: 4/4 fail exactly their checks" in proc.stdout
    assert "abs_value" in proc.stdout and "triple: fails test_negative" in proc.stdout
    assert "right_loop" in proc.stdout and "fails none (a right answer: full marks)" in proc.stdout


def test_a_mistake_that_fails_other_checks_and_a_check_never_shown_to_fail_are_invalid(tmp_path: Path) -> None:
    # abs_value claims test_small; float_result and doubles are gone, so nothing shows test_int
    # or test_small able to fail (abs_value's claim does not count: what it failed does)
    wrong = MISTAKES.replace('fails = ["test_negative"]', 'fails = ["test_small"]')
    wrong = wrong[:wrong.index('[[mistake]]\nid = "float_result"')] + wrong[wrong.index('[[mistake]]\nid = "right_loop"'):]
    root = toy(tmp_path, wrong)
    proc = run_cli("validate", "toy-hw", cwd=root, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "known mistakes: 1/2 fail exactly their checks INVALID" in proc.stdout
    assert "passed, but should fail: test_small" in proc.stdout
    assert "failed, but is not named: test_negative" in proc.stdout and "triple(-5) returned 15" in proc.stdout
    assert "triple: no known mistake fails test_small, test_int" in proc.stdout
    # the same course without the mistakes: only the reference and the template are looked at
    quiet = run_cli("validate", "toy-hw", "--no-mistakes", cwd=root, timeout=600)
    assert quiet.returncode == 0 and "known mistakes" not in quiet.stdout, quiet.stdout + quiet.stderr


def test_a_mistake_whose_failing_check_does_not_say_what_it_should_is_invalid(tmp_path: Path) -> None:
    """``says``: what a failing check's output must hold (each of a test's faults said, none
    hidden by another's, which the set of failing checks alone cannot show)."""
    said = MISTAKES.replace('fails = ["test_small", "test_negative"]',
                            'fails = ["test_small", "test_negative"]\nsays = { test_small = ["triple(1) returned 2; expected 3"] }')
    said = said.replace('fails = ["test_negative"]', 'fails = ["test_negative"]\nsays = { test_negative = ["triple(-5) returned -15"] }')
    proc = run_cli("validate", "toy-hw", cwd=toy(tmp_path, said), timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "known mistakes: 3/4 fail exactly their checks INVALID" in proc.stdout
    assert "test_negative does not say 'triple(-5) returned -15' (it says: triple(-5) returned 15; expected -15)" in proc.stdout


@pytest.mark.parametrize("change, message", [
    (('problem = "triple"\nwhat = "triples', 'problem = "double"\nwhat = "triples'), "no problem 'double' in the rubric"),
    (('fails = ["test_negative"]', 'fails = ["test_negativ"]'), "fails names checks that triple does not have: test_negativ"),
    (('old = "    return 3 * n\\n"\nnew = "    return 3 * abs', 'old = "    return 4 * n\\n"\nnew = "    return 3 * abs'),
     "occurs 0 times in reference/toy-hw/triple.py"),
    (('source = "right_loop/triple.py"', 'source = "right_loop/tripple.py"'), "its source .*tripple.py is missing"),
    (('id = "float_result"', 'id = "abs_value"'), "mistake ids used more than once: abs_value"),
    (('fails = ["test_int"]', 'fails = []'), "an edit of the reference that fails nothing is not a mistake"),
    (('fails = ["test_int"]', 'fails = ["test_int"]\nsays = { test_small = ["x"] }'), "says names checks it does not fail: test_small"),
])
def test_a_broken_mistakes_file_names_the_file_and_the_mistake(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in MISTAKES
    a = Course.locate(toy(tmp_path, MISTAKES.replace(*change))).assignment("toy-hw")
    with pytest.raises(ConfigError, match=message) as info:
        for m in _mistakes.load(a):
            m.text(a)
    assert "mistakes.toml" in str(info.value)
