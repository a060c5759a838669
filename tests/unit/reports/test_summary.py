"""The class summary (summary.html): failures grouped by their message with only the values
masked, one real message shown per group, and the pass rate of every test (issue 15, item 10)."""

from __future__ import annotations

import html
import re

from grader._course import models as _models
from grader._course.models import ProblemResult, Result
from grader._reports.summary import build_summary, pass_rate_lines, pass_rates, render_summary

ResultLine = _models.TestResult  # another name, so that pytest does not collect it

SIZES = "sizes: backprop on a 3-layer net, float64"


def _line(name: str, outcome: str, output: str = "", *, problem: str = "p1", points: float = 5, visibility: str = "visible") -> ResultLine:
    return ResultLine(
        name=f"{problem}: {name}", problem=problem, status="passed" if outcome == "passed" else "failed",
        outcome=outcome, score=points if outcome == "passed" else 0.0, max_score=points,  # type: ignore[arg-type]
        visibility=visibility, output=output, test="test_" + re.sub(r"\W+", "_", name).strip("_").lower(),  # type: ignore[arg-type]
    )  # fmt: skip


def _result(student: str, tests: list[ResultLine]) -> Result:
    problems = sorted({t.problem for t in tests})
    return Result(
        assignment="hw", student=student, score=sum(t.score for t in tests), max_score=sum(t.max_score for t in tests),
        execution_time=1.0, tests=tests,
        problems=[ProblemResult(id=p, score=sum(t.score for t in tests if t.problem == p),
                                max_score=sum(t.max_score for t in tests if t.problem == p)) for p in problems],
    )  # fmt: skip


def _class(messages: dict[str, str], test: str = "matches", outcome: str = "failed") -> list[Result]:
    return [_result(s, [_line(test, outcome, m)]) for s, m in messages.items()]


def _groups(results: list[Result]) -> list[tuple[int, list[str]]]:
    return sorted((f.count, f.students) for f in build_summary(results).failures)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body", 1)[1])))


# ------------------------------------------------------------ A: grouping ----


def test_values_are_masked_for_grouping() -> None:
    """The same mistake with other numbers in it (other inputs, other errors) is one group."""
    results = _class({
        "ann": "Compared: dA_list[0] on a (4, 3) input\nWorst absolute error: 1.2e-01",
        "bob": "Compared: dA_list[1] on a (6, 5, 2) input\nWorst absolute error: 3e-05",
        "cy": "expected 3.25, got 3.5: off by +12 (1,088,924 ops, tol 1e-05)",
        "dee": "expected -1, got 0.5: off by -3 (924 ops, tol 1e-3)",
    })  # fmt: skip
    assert _groups(results) == [(2, ["ann", "bob"]), (2, ["cy", "dee"])]


def test_digits_of_names_and_formulas_are_not_masked() -> None:
    """theta^1 and theta^2, A_1 and A_2, conv3x3 and conv5x5, float32 and float64 are different
    words: the old masking made each pair one group ("theta^#")."""
    pairs = [
        ("heavy_ball returned theta^1 where theta^0 was due", "heavy_ball returned theta^2 where theta^0 was due"),
        ("A_1 has the wrong shape", "A_2 has the wrong shape"),
        ("the gradient of conv3x3 is wrong", "the gradient of conv5x5 is wrong"),
        ("returned float32, not the input's dtype", "returned float64, not the input's dtype"),
        ("s_5 is off", "s_6 is off"),
        ("x2 is NaN", "x3 is NaN"),
        ("features.0.weight changed", "features.3.weight changed"),
    ]
    for one, other in pairs:
        assert _groups(_class({"ann": one, "bob": other})) == [(1, ["ann"]), (1, ["bob"])], (one, other)


def test_the_page_shows_a_real_message_not_the_masked_key() -> None:
    results = _class({
        "ann": "heavy_ball on theta^0 of shape (5,), beta = 0.9: iterate theta^3 is off by 0.25\nmore detail",
        "bob": "heavy_ball on theta^0 of shape (7,), beta = 0.5: iterate theta^3 is off by 1.5",
    })  # fmt: skip
    [group] = build_summary(results).failures
    assert group.count == 2 and group.students == ["ann", "bob"]
    assert group.message == "heavy_ball on theta^0 of shape (5,), beta = 0.9: iterate theta^3 is off by 0.25"  # ann's, as she read it
    text = _text(render_summary(results))
    assert "beta = 0.9: iterate theta^3 is off by 0.25" in text
    assert "#" not in text and "theta^#" not in text
    assert "more detail" in text  # her whole message, folded under the line


def test_a_long_message_is_cut_at_a_word_with_an_ellipsis() -> None:
    words = "the network returned logits of the wrong shape for the batch it was given " * 6
    results = _class({"ann": words.strip() + " and more"})
    [group] = build_summary(results).failures
    assert len(group.message) <= 200 and group.message.endswith(" …")
    kept = group.message.removesuffix(" …")
    assert words.startswith(kept) and words[len(kept)] == " "  # cut between two words, not in one
    assert kept.split()[-1] in words.split()


def test_import_failures_group_across_students_whatever_the_line() -> None:
    results = _class({
        "ann": "Importing momentum.py failed: SyntaxError: invalid syntax (momentum.py, line 12)",
        "bob": "Importing momentum.py failed: SyntaxError: invalid syntax (momentum.py, line 40)",
    }, outcome="error")  # fmt: skip
    [group] = build_summary(results).failures
    assert group.count == 2 and group.message.endswith("line 12)")


# ------------------------------------------------------------ B: pass rates ----


def _graded_class() -> list[Result]:
    def tests(a: str, b: str, c: str, h: str) -> list[ResultLine]:
        return [_line("first", a, "off by 1"), _line("second", b, "wrong"),
                _line("third", c, "f.py was not submitted.", problem="p2"),
                _line("hidden one", h, "wrong", problem="p2", visibility="hidden")]  # fmt: skip

    return [
        _result("ann", tests("passed", "passed", "passed", "passed")),
        _result("bob", tests("passed", "failed", "missing", "missing")),
        _result("cy", tests("failed", "error", "missing", "missing")),
        _result("dee", tests("passed", "timeout", "passed", "failed")),
    ]


def test_pass_rate_of_every_test_in_rubric_order_hidden_included() -> None:
    rates = pass_rates(_graded_class())
    assert [(r.name, r.passed, r.graded, r.missing) for r in rates] == [
        ("p1: first", 3, 4, 0),
        ("p1: second", 1, 4, 0),
        ("p2: third", 2, 2, 2),
        ("p2: hidden one", 1, 2, 2),
    ]
    assert [r.rate for r in rates] == ["75%", "25%", "100%", "50%"]
    assert rates[3].hidden_label == "hidden" and (rates[1].failed, rates[1].error, rates[1].timeout) == (1, 1, 1)


def test_pass_rates_keep_rubric_order_when_results_graded_different_tests() -> None:
    """A result that graded only some problems (--problem) does not reorder the others."""
    full = _result("ann", [_line("a", "passed"), _line("b", "passed"), _line("c", "passed", problem="p2")])
    part = _result("bob", [_line("c", "failed", "x", problem="p2")])
    skipped = _result("cy", [_line("a", "passed"), _line("b", "skipped", "needs a CUDA GPU")])
    for order in ([part, full, skipped], [full, part, skipped], [skipped, part, full]):
        rates = pass_rates(order)
        assert [r.name for r in rates] == ["p1: a", "p1: b", "p2: c"]
    assert [(r.passed, r.graded, r.skipped) for r in rates] == [(2, 2, 0), (1, 1, 1), (1, 2, 0)]


def test_summary_page_shows_the_pass_rate_table() -> None:
    text = _text(render_summary(_graded_class()))
    assert "Pass rate per test" in text
    assert re.search(r"p1: first 3 / 4 75%", text)
    assert re.search(r"p2: hidden one hidden 1 / 2 50% failed 1 2", text)  # hidden, and 2 missing
    assert text.index("p1: first") < text.index("p1: second") < text.index("p2: third") < text.index("p2: hidden one")


def test_pass_rate_lines_for_the_terminal() -> None:
    lines = pass_rate_lines(pass_rates(_graded_class()))
    assert lines == [
        "   75%  3/4  p1: first",
        "   25%  1/4  p1: second",
        "  100%  2/2  p2: third  (2 missing)",
        "   50%  1/2  p2: hidden one [hidden]  (2 missing)",
    ]
