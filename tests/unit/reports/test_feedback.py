"""The per-student feedback page: what each audience sees, escaping, self-containment, atomic writes."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from grader._course import models as _models
from grader._reports.feedback import render_feedback, write_feedback
from grader._course.models import ProblemResult, Result

# imported under another name so that pytest does not try to collect it as a test class
ResultLine = _models.TestResult

XSS = "<script>alert(1)</script>"

FAILED_OUTPUT = (
    "Compared: remove_bn(net) against net.eval() on 256 inputs, float32\n"
    "Greatest absolute difference: 3.2e-02 at [12, 7] (up to 1.0e-04 allowed)\n"
    "Greatest relative difference: 1.7e-02 at [12, 7] (up to 1.0e-04 allowed)\n"
    "Tolerance: atol 1e-4, rtol 1e-4 (float32 rounding only)"
)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "LNiN.py", line 41, in copy_weights_from\n'
    "    w = net1.classifier[0].weight.view(4096, 256, 18, 18)\n"
    "RuntimeError: shape '[4096, 256, 18, 18]' is invalid for input of size 84934656"
)


def _test(
    name: str,
    problem: str,
    outcome: str,
    score: float,
    max_score: float,
    *,
    visibility: str = "visible",
    output: str = "",
    fn: str = "test_something",
) -> ResultLine:
    return ResultLine(
        name=name,
        problem=problem,
        status="passed" if outcome == "passed" else "failed",
        outcome=outcome,  # type: ignore[arg-type]
        score=score,
        max_score=max_score,
        visibility=visibility,  # type: ignore[arg-type]
        output=output,
        test=fn,
    )


def sample_result() -> Result:
    """mfdnn-hw7 with every outcome, a hidden and an after-due-date test."""
    tests = [
        _test("bn_remove: folded net matches on the checkpoint (float32)", "bn_remove", "failed", 0, 5, output=FAILED_OUTPUT),
        _test("bn_remove: folding is exact in float64", "bn_remove", "passed", 5, 5),
        _test("bn_remove: input net untouched", "bn_remove", "passed", 4, 4, output="checked 8 tensors bitwise"),
        _test(
            "bn_remove: matches on hidden random networks",
            "bn_remove",
            "passed",
            8,
            11,
            visibility="hidden",
            output="HIDDEN-OUTPUT-bn 3 of 4 nets matched",
            fn="test_hidden_random_nets",
        ),
        _test("lnin: Net2 copies Net1 on 32x32 inputs", "lnin", "error", 0, 10, output=TRACEBACK),
        _test("lnin: Net2 is much faster than sliding Net1", "lnin", "timeout", 0, 5, output="ran out of time: 60 s"),
        _test("lnin: net1_patch matches Net2 on every patch", "lnin", "missing", 0, 6, output="LNiN.py was not submitted."),
        _test(
            "lnin: large non-square images",
            "lnin",
            "failed",
            0,
            4,
            visibility="after_due_date",
            output="AFTER-DUE-OUTPUT-lnin",
            fn="test_after_due_large",
        ),
        _test("memorization: trains on random labels", "memorization", "skipped", 0, 0, output="needs a CUDA GPU"),
    ]
    return Result(
        assignment="mfdnn-hw7",
        student="alice",
        score=17.0,
        max_score=50.0,
        execution_time=73.4,
        problems=[
            ProblemResult(id="bn_remove", title="Removing BN after training", score=17.0, max_score=25.0),
            ProblemResult(id="lnin", title="Larger network in network", score=0.0, max_score=25.0),
            ProblemResult(id="memorization", score=0.0, max_score=0.0),
        ],
        tests=tests,
        mode="grade",
        seed=914263,
        device="cpu",
    )


def _text(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    body = page.split("<body", 1)[1]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


# ------------------------------------------------------------ both audiences ----


@pytest.mark.parametrize("audience", ["student", "instructor"])
def test_every_outcome_has_a_labelled_badge(audience: str) -> None:
    page = render_feedback(sample_result(), audience=audience)  # type: ignore[arg-type]
    for outcome in ["passed", "failed", "error", "timeout", "missing", "skipped"]:
        # the word itself is on the badge, so the outcome does not rest on colour alone
        assert re.search(rf'<span class="badge b-{outcome}">{outcome}</span>', page), outcome
    text = _text(page)
    assert "What the outcomes mean" in text
    assert "file this test needs was not submitted" in text
    assert "raised an exception or crashed" in text
    assert "ran out of time" in text
    assert "the answer was wrong" in text


@pytest.mark.parametrize("audience", ["student", "instructor"])
def test_header_says_who_what_and_how(audience: str) -> None:
    text = _text(render_feedback(sample_result(), audience=audience))  # type: ignore[arg-type]
    assert "mfdnn-hw7" in text and "alice" in text
    assert "Graded" in text and "CPU" in text and "914263" in text
    # the run's time counts the hidden tests: a student's page says the time of the tests it shows
    assert ("1 min 13 s" in text) == (audience == "instructor")
    assert ("Time of the tests shown" in text) == (audience == "student")


def _outputs(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<pre class="output">(.*?)</pre>', page, flags=re.S)]


def test_failed_output_is_shown_whole_with_its_newlines() -> None:
    outputs = _outputs(render_feedback(sample_result()))
    assert FAILED_OUTPUT in outputs
    assert TRACEBACK in outputs
    assert "ran out of time: 60 s" in outputs and "LNiN.py was not submitted." in outputs


def test_passed_output_is_collapsed_and_problem_prefix_is_dropped() -> None:
    page = render_feedback(sample_result())
    details = re.findall(r"<details>.*?</details>", page, flags=re.S)
    assert len(details) == 1 and "checked 8 tensors bitwise" in details[0]
    for outcome in ["failed", "error", "timeout", "missing", "skipped"]:  # not passed: shown open
        items = re.findall(rf'<li class="test o-{outcome} open">(.*?)</li>', page, flags=re.S)
        assert items and all("<details" not in item and '<pre class="output">' in item for item in items)
    # under its problem's heading the test reads without its "bn_remove: " prefix
    assert ">folding is exact in float64" in page


def test_check_mode_says_so() -> None:
    result = sample_result().model_copy(update={"mode": "check"})
    text = _text(render_feedback(result))
    assert "Self-check" in text and "only the public tests were run" in text


def test_problem_titles_win_over_result_titles() -> None:
    page = render_feedback(sample_result(), problem_titles={"lnin": "Problem 5: LNiN"})
    assert "Problem 5: LNiN" in page and "Larger network in network" not in page
    assert "Removing BN after training" in page


def test_unknown_audience_is_refused() -> None:
    with pytest.raises(ValueError, match="audience"):
        render_feedback(sample_result(), audience="teacher")  # type: ignore[arg-type]


# ------------------------------------------------------------ student ----


def test_student_page_hides_hidden_tests() -> None:
    page = render_feedback(sample_result(), audience="student")
    for secret in [
        "matches on hidden random networks",
        "HIDDEN-OUTPUT-bn",
        "test_hidden_random_nets",
        "large non-square images",
        "AFTER-DUE-OUTPUT-lnin",
        "test_after_due_large",
    ]:
        assert secret not in page, secret


def test_student_page_totals_count_visible_tests_only() -> None:
    text = _text(render_feedback(sample_result(), audience="student"))
    # visible: bn_remove 9 / 14, lnin 0 / 21, memorization 0 / 0 -> 9 / 35
    assert "9 / 35 points" in text
    assert "9 / 14 points" in text and "0 / 21 points" in text
    assert "17 / 50" not in text and "17 / 25" not in text and "8 / 11" not in text
    # the tests not shown are counted (per problem, and on the whole page), never described
    assert text.count("1 more test counts toward your grade; its result is not shown here.") == 2
    assert ("These totals count only the tests you can see on this page. "
            "2 more tests count toward your grade; their results are not shown here.") in text
    assert "+ 1 not shown" in text
    assert "worth" not in text and "11 points" not in text and "15 points" not in text  # nor their points


def test_student_page_of_a_problem_with_only_hidden_tests() -> None:
    result = Result(
        assignment="mfdnn-hw7",
        student="bob",
        score=3.0,
        max_score=5.0,
        execution_time=1.0,
        problems=[ProblemResult(id="softmax", score=3.0, max_score=5.0)],
        tests=[
            _test("softmax: stable for large beta", "softmax", "passed", 3, 3, visibility="hidden"),
            _test("softmax: one-hot limit", "softmax", "failed", 0, 2, visibility="hidden"),
        ],
    )
    text = _text(render_feedback(result, audience="student"))
    assert "2 more tests count toward your grade; their results are not shown here." in text
    assert "5 points" not in text and "3 / 5" not in text
    assert "0 / 0 points" in text
    assert "stable for large beta" not in text and "one-hot limit" not in text


def test_student_page_without_hidden_tests_has_no_scope_note() -> None:
    result = sample_result()
    result = result.model_copy(update={"tests": [t for t in result.tests if t.visibility == "visible"]})
    text = _text(render_feedback(result, audience="student"))
    assert "These totals count only" not in text and "count toward your grade" not in text


# ------------------------------------------------------------ instructor ----


def test_instructor_page_shows_everything() -> None:
    page = render_feedback(sample_result(), audience="instructor")
    text = _text(page)
    for shown in [
        "matches on hidden random networks",
        "HIDDEN-OUTPUT-bn",
        "test_hidden_random_nets",
        "large non-square images",
        "AFTER-DUE-OUTPUT-lnin",
    ]:
        assert shown in text, shown
    assert '<span class="tag tag-hidden">hidden</span>' in page
    assert "17 / 50 points" in text and "17 / 25 points" in text
    assert "count toward your grade" not in text
    assert "The student's page shows 9 / 35" in text


# ------------------------------------------------------------ untrusted text ----


@pytest.mark.parametrize("audience", ["student", "instructor"])
def test_student_text_is_escaped_everywhere(audience: str) -> None:
    result = sample_result()
    tests = [t.model_copy(update={"output": f"before\n{XSS}\nafter", "name": f"{t.name} {XSS}"}) for t in result.tests]
    result = result.model_copy(update={"tests": tests, "student": f"eve{XSS}", "assignment": f"hw{XSS}"})
    page = render_feedback(result, audience=audience, problem_titles={"lnin": XSS})  # type: ignore[arg-type]
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f"before\n{XSS}\nafter" in html.unescape(page)  # shown as text, newlines kept


def test_quotes_in_output_cannot_break_out_of_attributes() -> None:
    result = sample_result()
    evil = '" onmouseover="alert(1)'
    tests = [t.model_copy(update={"name": t.name + evil}) for t in result.tests]
    page = render_feedback(result.model_copy(update={"tests": tests}), audience="instructor")
    assert 'onmouseover="' not in page


def test_terminal_codes_are_stripped_and_huge_output_is_cut() -> None:
    result = sample_result()
    flood = "\x1b[31mred\x1b[0m line\n" + "x" * 200_000 + "\nLAST LINE"
    tests = [t.model_copy(update={"output": flood}) if t.outcome == "error" else t for t in result.tests]
    page = render_feedback(result.model_copy(update={"tests": tests}))
    assert "\x1b" not in page and "red line" in page
    assert "LAST LINE" in page  # the end of a traceback is kept
    assert "characters left out here" in page
    assert len(page) < 100_000


# ------------------------------------------------------------ self-contained ----


@pytest.mark.parametrize("audience", ["student", "instructor"])
def test_page_is_self_contained(audience: str) -> None:
    page = render_feedback(sample_result(), audience=audience)  # type: ignore[arg-type]
    lowered = page.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "//" not in re.sub(r"<pre.*?</pre>", "", lowered, flags=re.S).replace("<!doctype", "")
    for external in ["<script", "<link", "<img", "<iframe", "@import", "url(", "src="]:
        assert external not in lowered, external
    assert "<style>" in page and ".badge" in page  # the stylesheet is inlined
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing, run nothing


# ------------------------------------------------------------ writing ----


def test_write_feedback_writes_the_rendered_page(tmp_path: Path) -> None:
    out = tmp_path / "alice" / "feedback.html"
    write_feedback(sample_result(), out, audience="instructor", problem_titles={"lnin": "LNiN"})
    assert out.read_text(encoding="utf-8") == render_feedback(
        sample_result(), audience="instructor", problem_titles={"lnin": "LNiN"}
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["feedback.html"]


def test_write_feedback_replaces_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "feedback.html"
    out.write_text("old page")
    expected = render_feedback(sample_result())
    seen: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        src, dst = Path(src), Path(dst)
        seen.append((src, dst))
        assert src.parent == out.parent  # same folder, so the rename is atomic
        assert src.read_text(encoding="utf-8") == expected  # complete before it takes the name
        assert out.read_text() == "old page"  # the old page stays whole until then
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_feedback(sample_result(), out)
    assert len(seen) == 1 and seen[0][1] == out
    assert out.read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback.html"]


def test_failed_write_keeps_the_old_page_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "feedback.html"
    out.write_text("old page")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        write_feedback(sample_result(), out)
    assert out.read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback.html"]


# ------------------------------------------------------------ one message per cause ----

IMPORT_FAILED = (
    "Importing momentum.py failed: ModuleNotFoundError: No module named 'matplotlib'\n"
    '  File "momentum.py", line 1, in <module>\n'
    "    import matplotlib.pyplot as plt\n"
    "The grader has only torch, torchvision, numpy and Python's standard library."
)
STUB_A = 'Not written yet: Write heavy_ball: the Form I loop.\n  File "momentum.py", line 44, in heavy_ball\n    raise NotImplementedError('
STUB_B = 'Not written yet: Write velocity_momentum: the Form II loop.\n  File "momentum.py", line 67, in velocity_momentum'


def _one_problem(outputs: list[tuple[str, str]], *, hidden_last: bool = False) -> Result:
    """A result of one problem (momentum) whose tests end with these (outcome, output)."""
    tests = [
        _test(f"momentum: check {i}", "momentum", outcome, 0, 5, output=output,
              visibility="hidden" if hidden_last and i == len(outputs) else "visible")
        for i, (outcome, output) in enumerate(outputs, start=1)
    ]  # fmt: skip
    return Result(assignment="mfdnn-hw5", student="bob", score=0.0, max_score=5.0 * len(tests), execution_time=1.0,
                  problems=[ProblemResult(id="momentum", title="Two forms of momentum", score=0.0, max_score=5.0 * len(tests))],
                  tests=tests)  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "output"),
    [("error", IMPORT_FAILED), ("error", STUB_A), ("missing", "momentum.py was not submitted.")],
    ids=["import-failed", "not-written", "missing"],
)
@pytest.mark.parametrize("audience", ["student", "instructor"])
def test_a_cause_shared_by_every_test_is_told_once_above_the_tests(outcome: str, output: str, audience: str) -> None:
    page = render_feedback(_one_problem([(outcome, output)] * 4), audience=audience)  # type: ignore[arg-type]
    assert _outputs(page) == [output]  # once, not once per test
    text = _text(page)
    assert "The same message for all 4 tests below:" in text
    head, tests = page.split('<ol class="tests">', 1)
    assert output.splitlines()[0] in html.unescape(head)  # in the problem's header block, above its tests
    assert tests.count("Same message as at the top of this problem.") == 4
    for i in range(1, 5):
        assert f"check {i}" in tests
    rows = tests.split("</ol>", 1)[0]
    assert rows.count(f'<span class="badge b-{outcome}">') == 4  # each test still shows its outcome


def test_two_stubs_of_one_file_are_told_once_each() -> None:
    """Two template stubs not written yet: each message once; a message of one test stays with it."""
    result = _one_problem([("error", STUB_A), ("error", STUB_B), ("error", STUB_A), ("failed", FAILED_OUTPUT), ("error", STUB_B)])
    page = render_feedback(result)
    assert sorted(_outputs(page)) == sorted([STUB_A, STUB_B, FAILED_OUTPUT])
    text = _text(page)
    assert "Message 1, the same for 2 of the 5 tests below:" in text and "Message 2, the same for 2 of the 5 tests below:" in text
    assert text.count("Same message as message 1 at the top of this problem.") == 2
    assert text.count("Same message as message 2 at the top of this problem.") == 2
    assert re.search(r'<li class="test o-failed open">.*?<pre class="output">', page, flags=re.S)  # the odd one out: inline


def test_a_cause_counts_only_the_tests_the_page_lists() -> None:
    """The student page does not list a hidden test, nor count it under the shared message."""
    result = _one_problem([("error", IMPORT_FAILED)] * 3, hidden_last=True)
    assert "for all 2 tests below" in _text(render_feedback(result, audience="student"))
    assert "for all 3 tests below" in _text(render_feedback(result, audience="instructor"))
    single = _one_problem([("error", IMPORT_FAILED), ("passed", "")])
    page = render_feedback(single)  # one test with the message: nothing to share, it stays with its test
    assert _outputs(page) == [IMPORT_FAILED] and "Same message as" not in page and 'class="cause' not in page
