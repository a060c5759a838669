"""gradebook.csv (issue 31, point 3): a problem's score per column, the total, and last the
known mistakes diagnosed, every one (the gradebook is the instructor's), a cell that no
spreadsheet runs as a formula."""

from __future__ import annotations

import csv
import io

from grader._course.models import ProblemResult, Result
from grader._grading.api import gradebook


def _result(student: str, problems: dict[str, tuple[float, list[str]]]) -> Result:
    return Result(
        assignment="hw", student=student, score=sum(s for s, _ in problems.values()), max_score=10.0 * len(problems),
        execution_time=1.0, tests=[],
        problems=[ProblemResult(id=p, score=s, max_score=10.0, diagnosis=d) for p, (s, d) in problems.items()],
    )  # fmt: skip


def test_the_diagnosis_column_names_every_problems_mistakes_after_the_scores() -> None:
    book = gradebook(None, [
        _result("bob", {"backprop": (10.0, []), "momentum": (10.0, [])}),
        _result("ann", {"backprop": (4.0, ["sigmoid_at_y", "sign"]), "momentum": (6.0, ["double_alpha"])}),
        _result("=cy", {"backprop": (7.0, []), "momentum": (10.0, [])}),
        _result("dee", {"@sum": (7.0, ["x"])}),
    ])  # fmt: skip
    rows = list(csv.reader(io.StringIO(book)))
    assert rows[0] == ["student", "backprop", "momentum", "@sum", "score", "max_score", "diagnosis"]
    by = {r[0]: r for r in rows[1:]}
    assert by["ann"] == ["ann", "4.0", "6.0", "", "10.0", "20.0", "backprop: sigmoid_at_y sign; momentum: double_alpha"]
    assert by["bob"][-1] == ""  # right answers: nothing named
    assert by["'=cy"][-1] == ""
    assert by["dee"][-1] == "'@sum: x"  # a cell that starts as a formula would is quoted, names and diagnoses alike
    assert [r[0] for r in rows[1:]] == sorted(by)  # one row per student, by name
