"""What a student is shown of a result: made from its visible tests only.

Every output a student reads (the feedback page, ``grader check``'s table, the top-level
``output`` of Gradescope's results.json) takes its test lines, totals and times from here,
so that nothing made from a test with any other visibility (hidden, after_due_date,
after_published) reaches it: not its name, message, outcome or points, not a total or a
time that counts it. A student is told only how many more tests count toward the grade
(the README's "hidden ones are counted, not shown"), never what they are worth: a release's
rubric does not carry their points either. The instructor's outputs (result.json, the
instructor's page, the gradebooks, the summary, Gradescope's stdout) keep everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._course.models import Result, TestResult

__all__ = ["ShownProblem", "later_sentence", "shown_problems", "shown_tests", "shown_time"]


def shown_tests(result: Result) -> list[TestResult]:
    """The tests a student sees, in the result's order: those whose visibility is "visible"."""
    return [t for t in result.tests if t.visibility == "visible"]


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def later_sentence(count: int) -> str:
    """What a student is told of the tests not shown: how many, nothing else ("" for none)."""
    if count <= 0:
        return ""
    return (f"{count} more {_plural(count, 'test counts', 'tests count')} toward your grade; "
            f"{_plural(count, 'its result is', 'their results are')} not shown here.")


@dataclass(frozen=True)
class ShownProblem:
    """A problem as a student sees it: the totals of its visible tests, and how many others it has."""

    id: str
    title: str
    score: float
    max_score: float
    passed: int
    listed: int  # visible tests
    not_shown: int  # tests of any other visibility: counted, never described


def shown_problems(result: Result) -> list[ShownProblem]:
    """The result's problems in order (and any problem its tests name that it does not list),
    each totalled over its visible tests only."""
    order = [p.id for p in result.problems]
    titles = {p.id: p.title for p in result.problems}
    for t in result.tests:
        if t.problem not in order:
            order.append(t.problem)
    out = []
    for pid in order:
        tests = [t for t in result.tests if t.problem == pid]
        shown = [t for t in tests if t.visibility == "visible"]
        out.append(ShownProblem(
            id=pid, title=titles.get(pid) or pid,
            score=sum(t.score for t in shown), max_score=sum(t.max_score for t in shown),
            passed=sum(t.outcome == "passed" for t in shown), listed=len(shown),
            not_shown=len(tests) - len(shown),
        ))  # fmt: skip
    return out


def shown_time(result: Result) -> float:
    """Seconds of the student's code in the tests a student sees (their durations, summed)."""
    return sum(t.duration for t in shown_tests(result))
