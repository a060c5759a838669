"""Diagnosis (issue 31): a student whose answers are a known mistake's is told that mistake's
hint; a right answer, and a wrong one no known mistake reproduces, are told nothing.

A small class is graded once, in this process (the in-process runner), on backprop and
momentum: copies of the reference with a known mistake applied, one with a mistake nobody
wrote down, and the reference itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from markupsafe import escape

from conftest import ROOT, build_class, load_mistakes

from grader._course.layout import Course
from grader._course.models import Result
from grader._grading.api import grade
from grader._grading.diagnosis import Known, diagnose
from grader._sandbox.inprocess import InProcessRunner
from grader.checks import Observation, Tolerance

# Three mistakes that fail exactly the same five checks: only their numbers tell them apart.
SAME_CHECKS = ["backprop_sigmoid_prime_of_activation", "backprop_missing_sigmoid_prime", "backprop_loss_gradient_sign"]


def _mistake(assignment: str, mistake_id: str) -> tuple[str, str]:
    m = next(m for m in load_mistakes(assignment) if m.id == mistake_id)
    return m.file, m.text(Course.locate(ROOT).assignment(assignment))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    course = Course.locate(ROOT)
    reference = (ROOT / "reference" / "mfdnn-hw5" / "backprop.py").read_text()
    unknown = reference.replace("    delta = y - Y\n", "    delta = 2 * (y - Y)\n")  # the loss's 1/2 forgotten: no known mistake
    assert unknown != reference
    students = {
        "right": {},
        "sigma_at_y": dict([_mistake("mfdnn-hw5", SAME_CHECKS[0])]),
        "no_prime": dict([_mistake("mfdnn-hw5", SAME_CHECKS[1])]),
        "sign": dict([_mistake("mfdnn-hw5", SAME_CHECKS[2])]),
        "unknown": {"backprop.py": unknown},
        "uphill": dict([_mistake("mfdnn-hw5", "heavy_ball_gradient_ascent")]),  # its hint is for instructors only
    }
    folder = build_class(course, "mfdnn-hw5", tmp_path_factory.mktemp("class"), students)
    out = tmp_path_factory.mktemp("out")
    results = grade("mfdnn-hw5", folder, out, course=course, problems={"backprop", "momentum"}, seed=4242,
                    runner=InProcessRunner(), jobs=1)
    assert sorted(r.student for r in results) == sorted(students)  # the known mistakes graded beside them are no results
    assert sorted(p.parent.name for p in out.glob("*/result.json")) == sorted(students)
    return {r.student: r for r in results}


def _diagnosis(r: Result, problem: str) -> list[str]:
    return next(p.diagnosis for p in r.problems if p.id == problem)


def test_the_mistakes_fail_the_same_checks() -> None:
    fails = {m.id: sorted(m.fails) for m in load_mistakes("mfdnn-hw5") if m.id in SAME_CHECKS}
    assert len(fails) == 3 and len({tuple(f) for f in fails.values()}) == 1


@pytest.mark.parametrize("student, mistake", [("sigma_at_y", SAME_CHECKS[0]), ("no_prime", SAME_CHECKS[1]),
                                              ("sign", SAME_CHECKS[2])])
def test_a_submission_equal_to_a_mistake_is_diagnosed_with_it_alone(graded: dict[str, Result], student: str,
                                                                    mistake: str) -> None:
    r = graded[student]
    assert _diagnosis(r, "backprop") == [mistake]  # not the two others, which fail the same checks
    assert _diagnosis(r, "momentum") == []  # a right momentum.py
    assert r.score < r.max_score


def test_the_diagnosis_changes_no_score(graded: dict[str, Result], tmp_path: Path) -> None:
    course = Course.locate(ROOT)
    folder = build_class(course, "mfdnn-hw5", tmp_path / "class", {"sigma_at_y": dict([_mistake("mfdnn-hw5", SAME_CHECKS[0])])})
    (plain,) = grade("mfdnn-hw5", folder, tmp_path / "out", course=course, problems={"backprop", "momentum"}, seed=4242,
                     runner=InProcessRunner(), jobs=1, diagnose=False)
    assert _diagnosis(plain, "backprop") == []
    assert [(t.name, t.score, t.outcome) for t in plain.tests] == [(t.name, t.score, t.outcome) for t in graded["sigma_at_y"].tests]


def test_a_right_answer_is_diagnosed_with_nothing(graded: dict[str, Result]) -> None:
    r = graded["right"]
    assert r.score == r.max_score
    assert all(p.diagnosis == [] and p.hints == [] for p in r.problems)


def test_a_wrong_answer_no_mistake_reproduces_gets_nothing(graded: dict[str, Result]) -> None:
    r = graded["unknown"]
    assert any(t.outcome == "failed" and t.problem == "backprop" for t in r.tests)
    assert _diagnosis(r, "backprop") == []


def test_the_students_hint_is_on_the_feedback_page(graded: dict[str, Result], tmp_path: Path) -> None:
    from grader._reports.feedback import render_feedback

    r = graded["sigma_at_y"]
    (hint,) = next(p.hints for p in r.problems if p.id == "backprop")
    assert hint.shown == "students" and hint.mistake == SAME_CHECKS[0]
    page = render_feedback(r)
    assert "a mistake we have seen before" in page and str(escape(hint.text)) in page
    assert SAME_CHECKS[0] not in page  # the id (and the mistake's `what`) are the instructor's


def test_an_instructors_only_hint_never_reaches_the_feedback_page(graded: dict[str, Result]) -> None:
    from grader._reports.feedback import render_feedback
    from grader._reports.summary import render_summary

    r = graded["uphill"]
    assert _diagnosis(r, "momentum") == ["heavy_ball_gradient_ascent"]
    (hint,) = next(p.hints for p in r.problems if p.id == "momentum")
    assert hint.shown == "instructors"
    page = render_feedback(r)
    assert hint.text not in page and "mistake we have seen" not in page
    assert str(escape(hint.text)) in render_feedback(r, audience="instructor")
    summary = render_summary(list(graded.values()))
    assert "heavy_ball_gradient_ascent" in summary and str(escape(hint.text)) in summary


def test_check_table_shows_only_students_hints(graded: dict[str, Result]) -> None:
    from grader.cli import check_table

    shown = "\n".join(check_table(graded["sigma_at_y"]))
    assert "HINT (backprop)" in shown
    assert "HINT" not in "\n".join(check_table(graded["uphill"]))


# ---- the matching rule, on comparisons made by hand ---------------------------------------

TOL = Tolerance(rtol=1e-6, atol=1e-9, why="test")


def _seen(*values: float | None, matched: bool = False) -> Observation:
    return Observation(items=tuple(None if v is None else torch.tensor([v]) for v in values), tol=TOL, matched=matched)


def test_a_mistake_whose_wrong_comparisons_are_part_of_anothers_is_not_named_beside_it() -> None:
    one = Known("one", "p", "h", "students", {("t", 0): _seen(2.0), ("t", 1): _seen(1.0, matched=True)})
    both = Known("both", "p", "h", "students", {("t", 0): _seen(2.0), ("t", 1): _seen(3.0)})
    student = {("t", 0): _seen(2.0), ("t", 1): _seen(3.0)}
    assert [m.id for m in diagnose(student, [one, both])] == ["both"]
    only_first = {("t", 0): _seen(2.0), ("t", 1): _seen(5.0)}  # its second error is no known mistake's
    assert [m.id for m in diagnose(only_first, [one, both])] == ["one"]


def test_a_mistake_that_got_nothing_wrong_or_was_not_kept_diagnoses_nobody() -> None:
    crashed = Known("crashed", "p", "h", "students", {})
    untold = Known("untold", "p", "h", "students", {("t", 0): _seen(None)})
    student = {("t", 0): _seen(2.0)}
    assert diagnose(student, [crashed, untold]) == []
    right = {("t", 0): _seen(2.0, matched=True)}  # a student's answer that matched the oracle
    assert diagnose(right, [Known("m", "p", "h", "students", {("t", 0): _seen(2.0)})]) == []


def test_a_wrong_comparison_too_big_to_keep_leaves_the_others_to_decide() -> None:
    """mfdnn-hw7's conv_backprop mistakes fail a million-sample test whose answers are not kept:
    the held-out class's flipped-filter and sigma'-of-output students were missed until those
    comparisons were left out of the rule."""
    mistake = Known("m", "p", "h", "students", {("small", 0): _seen(2.0), ("huge", 0): _seen(None)})
    same = {("small", 0): _seen(2.0), ("huge", 0): _seen(None)}
    other = {("small", 0): _seen(7.0), ("huge", 0): _seen(None)}
    assert [m.id for m in diagnose(same, [mistake])] == ["m"]
    assert diagnose(other, [mistake]) == []


def test_a_hint_for_students_must_be_written(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from grader._authoring.mistakes import Mistake

    with pytest.raises(ValidationError, match="no hint to show"):
        Mistake(id="m", problem="p", file="f.py", what="w", fails=["t"], source="x/f.py", shown="students")
    assert not Mistake(id="m", problem="p", file="f.py", what="w", fails=[], source="x/f.py", hint="h").diagnoses


def test_checks_keep_their_comparisons_only_while_observed() -> None:
    from grader import checks

    expected = [torch.ones(2), torch.zeros(3)]
    checks.observe(True)
    try:
        checks.close_all([torch.ones(2), torch.zeros(3)], expected, what="w", item="{i}", tol=TOL)
        with pytest.raises(checks.CheckFailed):
            checks.close(torch.full((2,), 5.0), torch.ones(2), what="w", tol=TOL)
        with pytest.raises(checks.CheckFailed):  # too many tensors to keep: noted, not kept
            checks.close_all([torch.ones(1)] * (checks.MAX_OBSERVED_ITEMS + 1), expected, what="w", item="{i}", tol=TOL)
        first, second, third = checks.take_observations()
    finally:
        checks.observe(False)
    assert first.matched and first.items is not None and len(first.items) == 2
    assert not second.matched and second.items is not None and float(second.items[0][0]) == 5.0
    assert not third.matched and third.items is None
    checks.close(torch.ones(2), torch.ones(2), what="w", tol=TOL)
    assert checks.take_observations() == []


def test_that_keeps_its_answer_as_plain_data_only_while_observed() -> None:
    from grader import checks

    checks.that(True, "m", answer=1)
    assert checks.take_observations() == []  # not observing: nothing kept
    checks.observe(True)
    try:
        checks.that(True, "m", answer={"conv": 3, "names": {"b", "a"}, "shape": (2, 3)})
        with pytest.raises(checks.CheckFailed, match="wrong count"):
            checks.that(False, "wrong count", answer=[1, 2.5, "x", None])
        checks.that(True, "m", answer=torch.ones(2))  # not plain data: noted, not kept
        checks.that(True, "m")  # no answer: nothing noted
        with pytest.raises(checks.CheckFailed, match="kept, not raised"):
            with checks.all_faults() as faults:
                faults.that(False, "kept, not raised", answer=7)
        plain, wrong, tensor, kept = checks.take_observations()
    finally:
        checks.observe(False)
    assert plain.matched and plain.answer == {"conv": 3, "names": ["a", "b"], "shape": [2, 3]} and plain.tol is None
    assert not wrong.matched and wrong.answer == [1, 2.5, "x", None]
    assert tensor.answer is None and not kept.matched and kept.answer == 7


def _answered(value: object, matched: bool = False) -> Observation:
    return Observation(items=None, tol=None, matched=matched, answer=value)


def test_a_mistake_of_counts_is_named_by_the_same_counts_exactly() -> None:
    """mfdnn-hw5's bottleneck and mfdnn-hw7's count_ops compare counts with that(): the
    held-out class's counting mistakes were missed until their answers were kept."""
    mistake = Known("no_bias", "p", "h", "students", {("t", 0): _answered({"params": 100}), ("t", 1): _answered(5, True)})
    assert [m.id for m in diagnose({("t", 0): _answered({"params": 100}), ("t", 1): _answered(5, True)}, [mistake])] == ["no_bias"]
    assert diagnose({("t", 0): _answered({"params": 101}), ("t", 1): _answered(5, True)}, [mistake]) == []
    assert diagnose({("t", 0): _answered({"params": 110}, True), ("t", 1): _answered(5, True)}, [mistake]) == []  # right
    assert diagnose({("t", 0): _seen(100.0), ("t", 1): _answered(5, True)}, [mistake]) == []  # a tensor is no count
    untold = Known("untold", "p", "h", "students", {("t", 0): _answered(None)})
    assert diagnose({("t", 0): _answered(None)}, [untold]) == []


def test_answers_are_compared_as_the_check_read_them() -> None:
    """An integer answer the check read as floats agrees with the same values in floats; a
    complex one (which the check refuses) agrees with nothing: returning complex numbers on
    one input no longer removes a diagnosis with the same messages."""
    from grader._grading.diagnosis import agree

    mistake = Observation(items=(torch.tensor([2.0, 3.0]),), tol=TOL, matched=False)
    assert agree(Observation(items=(torch.tensor([2, 3]),), tol=TOL, matched=False), mistake)
    assert not agree(Observation(items=(torch.tensor([2.0, 3.0], dtype=torch.complex64),), tol=TOL, matched=False), mistake)


ATTACK = Path(__file__).parent / "diagnosis_attack"  # written by an attacker of the diagnosis who never read these tests


def test_a_students_hint_is_decided_by_the_public_tests_alone(tmp_path: Path) -> None:
    """A velocity form climbing the gradient everywhere, and one climbing it only where the
    public tests look (right where theta0 is 2-D, which only hidden inputs are): both are shown
    the hint, so whether it shows tells nothing of the hidden tests; the instructor's diagnosis
    (every test) names only the first. Before, the hint showed for the first alone."""
    course = Course.locate(ROOT)
    students = {"asc_all": dict([_mistake("mfdnn-hw5", "velocity_gradient_ascent")]),
                "asc_public": {"momentum.py": (ATTACK / "asc_public_momentum.py").read_text()}}
    folder = build_class(course, "mfdnn-hw5", tmp_path / "class", students)
    results = {r.student: r for r in grade("mfdnn-hw5", folder, tmp_path / "out", course=course, problems={"momentum"},
                                           seed=5, runner=InProcessRunner(), jobs=1)}
    hints = {s: [(h.mistake, h.shown) for p in r.problems for h in p.hints] for s, r in results.items()}
    assert hints["asc_all"] == hints["asc_public"] == [("velocity_gradient_ascent", "students")], hints
    assert _diagnosis(results["asc_all"], "momentum") == ["velocity_gradient_ascent"]
    assert _diagnosis(results["asc_public"], "momentum") == []
    assert results["asc_all"].score == results["asc_public"].score


def test_complex_answers_on_one_input_do_not_remove_a_diagnosis_unseen(tmp_path: Path) -> None:
    """The attacker's copy of the loss-sign mistake returning complex gradients on the homework's
    example: its real parts were read as the answer (same score and messages) while the
    diagnosis refused complex numbers, so the diagnosis went unnoticed. Now the check itself
    refuses them, and says so."""
    course = Course.locate(ROOT)
    folder = build_class(course, "mfdnn-hw5", tmp_path / "class",
                         {"sign_c": {"backprop.py": (ATTACK / "sign_c_backprop.py").read_text()}})
    (r,) = grade("mfdnn-hw5", folder, tmp_path / "out", course=course, problems={"backprop"}, seed=5,
                 runner=InProcessRunner(), jobs=1)
    assert any("got complex ones" in t.output for t in r.tests), [t.output[:200] for t in r.tests]
