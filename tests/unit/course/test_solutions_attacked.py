"""Solution markers against an attack by someone who never read these tests (issue 30's one-file
form): every way they found for solution code to reach a derived template without an error,
every correct reference they saw refused, and the crash. The references they wrote are kept in
markers_attack/ as they wrote them (the intro course's logsumexp, marked)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader import ConfigError
from grader._course.solutions import derive, derived_template, marker_lines

HERE = Path(__file__).parent / "markers_attack"
HEAD = "def ok(x):\n    return x  # SOLUTION\n\n"  # one right marker: the file is a marked one

BLOCKS = ["# BEGIN\u00a0SOLUTION|# END\u00a0SOLUTION", "# BEGIN_SOLUTION|# END_SOLUTION", "# BEGIN-SOLUTION|# END-SOLUTION",
          "# SOLUTION BEGIN|# SOLUTION END", "# BEGINSOLUTION|# ENDSOLUTION", "# BEGIN SOLUTION NO PROMPT|# END SOLUTION",
          "# BEGIN SOLUT\u0406ON|# END SOLUT\u0406ON", "# BEGIN \u0405OLUTION|# END \u0405OLUTION",
          "#\u00a0BEGIN SOLUTION|#\u00a0END SOLUTION", "# BEGIN\u3000SOLUTION|# END\u3000SOLUTION",
          "# BEGIN SOLUTION\u200b|# END SOLUTION\u200b", "# \u200bBEGIN SOLUTION|# \u200bEND SOLUTION"]
LINES = ["# SOLUTION: hint", "# SOLUTION NO PROMPT", "# SOLUTION.", "# solution!", "## SOLUTION ##", "# [SOLUTION]",
         "#SOLUTION#", "# SOLUTION\u200b", "# SOLUTI\u041eN", "# SOLUTION (hidden)", "# TODO SOLUTION", "# the SOLUTION",
         "# <- SOLUTION", "#\u00a0SOLUTION", "# ＳＯＬＵＴＩＯＮ"]


def derived_or_refused(text: str) -> str:
    try:
        d = derive(text, "reference/hw1/f.py", strict=True)
    except ConfigError as exc:
        return f"refused: {exc}"
    return d.text if d else ""


@pytest.mark.parametrize("markers", BLOCKS)
def test_a_block_marked_in_another_spelling_is_refused_never_shipped(markers: str) -> None:
    begin, end = markers.split("|")
    got = derived_or_refused(HEAD + f"def g(x):\n    {begin}\n    return SECRET * x\n    {end}\n")
    assert got.startswith("refused: reference/hw1/f.py:"), got


@pytest.mark.parametrize("marker", LINES)
def test_a_line_marked_in_another_spelling_is_refused_never_shipped(marker: str) -> None:
    got = derived_or_refused(HEAD + f"def g(x):\n    return SECRET * x  {marker}\n")
    assert got.startswith("refused: reference/hw1/f.py:5:"), got


@pytest.mark.parametrize("name", ["A_solution_colon.py", "B_nbsp_block.py", "H_zwsp_line.py", "I_otter_no_prompt.py",
                                  "J_nbsp_line.py"])
def test_the_attackers_leaking_references_are_refused(name: str) -> None:
    text = (HERE / name).read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="looks like a solution marker"):
        derive(text, name, strict=True)


def test_the_release_scan_sees_markers_behind_invisible_and_non_breaking_spaces() -> None:
    for line in ["x = 1  # SOLUTION\u200b", "x = 1  #\u00a0SOLUTION", "    # BEGIN\u00a0SOLUTION", "    # BEGIN_SOLUTION",
                 "    # SOLUTION END"]:
        assert marker_lines(line), repr(line)
    assert not marker_lines("# the image resolution")


def test_a_form_feed_before_a_block_keeps_the_stub_in_its_function() -> None:
    d = derive((HERE / "C_formfeed.py").read_text(encoding="utf-8"), "C_formfeed.py")
    assert d is not None
    namespace: dict[str, object] = {}
    exec(compile(d.text, "template", "exec"), namespace)  # imports: the stub is in the body, not at module level
    with pytest.raises(NotImplementedError):
        namespace["logsumexp"](None, 0)  # type: ignore[operator]


def test_a_block_that_begins_with_a_decorated_function_is_inside_its_function() -> None:
    d = derive((HERE / "E_decorator_first.py").read_text(encoding="utf-8"), "E_decorator_first.py")
    assert d is not None and [s.function for s in d.solutions] == ["logsumexp", "no_grad"]
    assert "functools.wraps" not in d.text and "torch.no_grad" not in d.text
    ast.parse(d.text)


def test_a_byte_order_mark_is_read_as_python_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "logsumexp.py"
    path.write_bytes((HERE / "D_bom.py").read_bytes())
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    derived = derived_template(path, "logsumexp.py", "reference/hw1/logsumexp.py")
    assert derived is not None and "torch.exp" not in derived.read_text(encoding="utf-8")


def test_a_file_with_carriage_returns_alone_is_seen_to_have_markers() -> None:
    text = (HERE / "F2_cr_only_helper_after.py").read_bytes().decode("utf-8")
    assert "\n" not in text and "\r" in text
    d = derive(text, "F2_cr_only_helper_after.py", strict=True)
    assert d is not None and "torch.exp" not in d.text


def test_a_two_file_course_s_reference_may_say_solution_in_its_comments() -> None:
    text = (HERE / "G_twofile_reference.py").read_text(encoding="utf-8")
    assert derive(text, "G_twofile_reference.py") is None  # its template is a file of its own: nothing is derived
    with pytest.raises(ConfigError, match="looks like a solution marker"):  # were it derived, it would be refused
        derive(text, "G_twofile_reference.py", strict=True)


def test_a_nul_byte_is_a_parse_error_not_a_traceback() -> None:
    with pytest.raises(ConfigError, match="does not parse"):
        derive(HEAD + "def g(x):\n    return x\x00  # SOLUTION\n", "f.py", strict=True)
