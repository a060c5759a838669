"""Every check is shown to fail on a known wrong submission, and only the checks it should.

The known mistakes of the quick problems (conftest.QUICK_PROBLEMS) are graded here, in this
process, on the in-process runner (seconds); the others, whose checks train or time
networks for minutes, by tests/system/test_known_mistakes.py through the command line, in
real workers. tests/system/test_inprocess_agrees.py shows that the two ways give every check
the same verdict. The static rules of rubrics/<assignment>/mistakes.toml are checked here
for every problem."""

from __future__ import annotations

import pytest

from conftest import ASSIGNMENTS, QUICK_PROBLEMS, ROOT, load_mistakes

from grader._course.layout import Course
from grader._grading.api import validate
from grader._sandbox.inprocess import InProcessRunner


@pytest.mark.parametrize("assignment, problem", [pytest.param(a, p, id=f"{a}/{p}") for a, p in QUICK_PROBLEMS])
def test_known_mistakes_fail_exactly_their_checks(course: Course, assignment: str, problem: str) -> None:
    known = [m for m in load_mistakes(assignment) if m.problem == problem and not m.extended]
    assert known, f"{assignment}/{problem} has no known mistakes"
    reference, template, mistakes = validate(assignment, course=course, seed=12345, runner=InProcessRunner(),
                                             gpu_problems_on_cpu=True, problems={problem})
    points = course.assignment(assignment).rubric.problem(problem).points
    assert reference.ok, reference.problems
    assert reference.result is not None and reference.result.score == reference.result.max_score == points
    assert template.ok, template.problems
    assert template.result is not None and template.result.score == 0
    for t in template.result.tests:
        assert t.outcome == "error" and "Not written yet" in t.output, f"{t.name}: {t.outcome}: {t.output[:300]}"
    assert mistakes.ok, "\n".join(mistakes.problems)
    assert {c.id for c in mistakes.mistakes} == {m.id for m in known}  # each graded, none left out
    for c in mistakes.mistakes:
        assert set(c.failed) == set(c.expected), c  # (a known right variant fails nothing)


def test_the_quick_problems_are_problems_of_the_course(course: Course) -> None:
    every = {(a, p.id) for a in ASSIGNMENTS for p in course.assignment(a).rubric.problems}
    assert set(QUICK_PROBLEMS) <= every


@pytest.mark.parametrize("assignment, problem", [pytest.param(a, p.id, id=f"{a}/{p.id}") for a in ASSIGNMENTS
                                                 for p in Course.locate(ROOT).assignment(a).rubric.problems])
def test_every_check_is_shown_to_fail(course: Course, assignment: str, problem: str) -> None:
    """A check that no known mistake fails has not been shown able to fail (by `make test` alone)."""
    rubric_tests = {t.name for t in course.assignment(assignment).rubric.problem(problem).tests}
    shown = {name for m in load_mistakes(assignment) if m.problem == problem and not m.extended for name in m.fails}
    assert rubric_tests <= shown, f"no known mistake fails {sorted(rubric_tests - shown)}"
    assert shown <= rubric_tests, f"mistakes name tests that do not exist: {sorted(shown - rubric_tests)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_mistake_applies_to_the_reference(course: Course, assignment: str) -> None:
    a = course.assignment(assignment)
    ids = [m.id for m in load_mistakes(assignment)]
    assert len(ids) == len(set(ids)), "mistake ids must be unique"
    for m in load_mistakes(assignment):
        assert m.file in a.student_files
        assert m.text(a) != (a.reference_dir / m.file).read_text(), f"{m.id} changes nothing"
        assert m.source or m.fails, f"{m.id}: an edit of the reference that fails nothing is not a mistake"
