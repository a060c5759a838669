"""Issue 30, point 4: a template derived from a reference that marks its solutions
(grader._course.solutions): what is replaced and how, what is not a marker, the errors that
name their line, and the comparison of a template's given code with the reference's."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from grader._course.solutions import STUB, derive, derived_template, given_differences, marker_lines
from grader._exceptions import ConfigError


def code(text: str) -> str:
    """A test's file text, without the indentation of its triple quotes."""
    import textwrap

    return textwrap.dedent(text).lstrip("\n")


def without_comments(text: str) -> str:
    """``text`` as Python runs it: this test's own reading, comments dropped by tokenize."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type != tokenize.COMMENT]
    return tokenize.untokenize(tokens)


REFERENCE = code('''
    """A module: # BEGIN SOLUTION in its docstring is text."""

    import torch

    SIZE = 3  # given


    class Model:
        """A model.

        # END SOLUTION (text again)
        """

        def __init__(self, d: int) -> None:
            super().__init__()
            # BEGIN SOLUTION
            self.w = torch.ones(d)
            for i in range(d):
                if i % 2:
                    self.w[i] = -1.0  # a comment of the solution
            # END SOLUTION

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """x times w."""
            for _ in range(1):
                if x.ndim:
                    ### BEGIN SOLUTION
                    y = x * self.w
                    ### END SOLUTION
            return y


    def helper(x: torch.Tensor) -> torch.Tensor:
        """Given."""
        s = "# SOLUTION"
        return x.sum() + len(s)


    def double(x: torch.Tensor) -> torch.Tensor:
        return 2 * x  # SOLUTION
''')

SOLUTION_LINES = ["self.w = torch.ones(d)", "for i in range(d):", "if i % 2:", "self.w[i] = -1.0", "y = x * self.w",
                  "return 2 * x"]


def test_each_marked_solution_becomes_one_stub_at_its_code_s_indentation() -> None:
    d = derive(REFERENCE, "reference/hw1/model.py")
    assert d is not None
    lines = d.text.splitlines()
    stubs = [line for line in lines if STUB in line]
    assert stubs == ['        raise NotImplementedError("Model.__init__")',  # in a method: the method's body
                     '                raise NotImplementedError("Model.forward")',  # nested in a for and an if
                     '    raise NotImplementedError("double")']
    assert [(s.first, s.last, s.function) for s in d.solutions] == [
        (REFERENCE.splitlines().index(m) + 1, REFERENCE.splitlines().index(e) + 1, f)
        for m, e, f in [("        # BEGIN SOLUTION", "        # END SOLUTION", "Model.__init__"),
                        ("                ### BEGIN SOLUTION", "                ### END SOLUTION", "Model.forward"),
                        ("    return 2 * x  # SOLUTION", "    return 2 * x  # SOLUTION", "double")]]
    for line in SOLUTION_LINES:
        assert line not in d.text, line
    # Everything else is the reference's, line for line, in order (origin says where from).
    given = [line for i, line in enumerate(REFERENCE.splitlines(), 1)
             if not any(s.first <= i <= s.last for s in d.solutions)]
    assert [line for line in lines if STUB not in line] == given
    assert [REFERENCE.splitlines()[o - 1] if o else None for o in d.origin] == [None if STUB in line else line for line in lines]
    ast.parse(d.text)


def test_markers_in_strings_and_docstrings_are_text() -> None:
    d = derive(REFERENCE)
    assert d is not None
    assert '"""A module: # BEGIN SOLUTION in its docstring is text."""' in d.text
    assert "\n    # END SOLUTION (text again)\n" in d.text and 's = "# SOLUTION"' in d.text
    only_text = code('''
        def f(x):
            """Write it between # BEGIN SOLUTION and # END SOLUTION.

            # BEGIN SOLUTION
            """
            return x  # solution is not a marker's spelling, nor is this: SOLUTION
    ''')
    assert derive(only_text) is None  # no marker at all: no template to derive
    heading = "def f(x):\n    # Solution\n    # the solution, in lower case\n    return x\n"
    assert derive(heading) is None  # a reference's own heading, alone on its line, is a plain comment


def test_the_reference_runs_as_if_the_markers_were_not_there() -> None:
    """The markers are comments: the graded reference is the same program without them."""
    assert ast.dump(ast.parse(REFERENCE)) == ast.dump(ast.parse(without_comments(REFERENCE)))


def test_crlf_files_keep_their_line_endings() -> None:
    crlf = REFERENCE.replace("\n", "\r\n")
    d = derive(crlf)
    assert d is not None
    assert d.text.count("\r\n") == d.text.count("\n") == len(d.text.splitlines())
    assert d.text.replace("\r\n", "\n") == derive(REFERENCE).text  # type: ignore[union-attr]


def test_derived_template_writes_it_once_per_content(tmp_path: Path) -> None:
    ref = tmp_path / "model.py"
    ref.write_bytes(REFERENCE.replace("\n", "\r\n").encode())
    path = derived_template(ref, "model.py", "reference/hw1/model.py")
    assert path is not None and path.name == "model.py" and path.parent != tmp_path
    assert path.read_bytes() == derive(REFERENCE.replace("\n", "\r\n")).text.encode()  # type: ignore[union-attr]
    assert derived_template(ref, "model.py", "reference/hw1/model.py") == path
    ref.write_text(REFERENCE.replace("2 * x", "3 * x"))  # a new content: a new file
    again = derived_template(ref, "model.py", "reference/hw1/model.py")
    assert again is not None and again != path
    ref.write_text("def f(x):\n    return x\n")
    assert derived_template(ref, "model.py", "reference/hw1/model.py") is None


@pytest.mark.parametrize("text, line, says", [
    pytest.param("def f(x):\n    y = x\n    # BEGIN SOLUTION\n    return y\n", 3, "BEGIN SOLUTION has no END SOLUTION after it",
                 id="begin-without-end"),
    pytest.param("def f(x):\n    return x\n    # END SOLUTION\n", 3, "END SOLUTION with no BEGIN SOLUTION before it",
                 id="end-without-begin"),
    pytest.param("def f(x):\n    # BEGIN SOLUTION\n    y = x\n    # BEGIN SOLUTION\n    return y\n    # END SOLUTION\n", 4,
                 "BEGIN SOLUTION inside the block that line 2 begins", id="nested"),
    pytest.param("import torch\n\n# BEGIN SOLUTION\nSIZE = 3\n# END SOLUTION\n", 4, "is not inside a function's body",
                 id="module-level-block"),
    pytest.param("SIZE = 3  # SOLUTION\n", 1, "is not inside a function's body", id="module-level-line"),
    pytest.param("class M:\n    # BEGIN SOLUTION\n    def f(self):\n        return 1\n    # END SOLUTION\n", 3,
                 "is not inside a function's body", id="class-body"),
    pytest.param("if __name__ == '__main__':\n    print(1)  # SOLUTION\n", 2, "is not inside a function's body",
                 id="main-guard"),
    pytest.param("def f(): return 1  # SOLUTION\n", 1, "is not inside a function's body", id="one-line-def"),
    pytest.param("def f(x):\n    # BEGIN SOLUTION\n    # nothing yet\n\n    # END SOLUTION\n    return x\n", 2,
                 "the solution block of lines 2-5 holds no code", id="empty-block"),
    pytest.param("def f(x):\n    return g(\n        x,  # SOLUTION\n    )\n", 3, "cuts the statement of lines 2-4 in two",
                 id="line-of-a-longer-statement"),
    pytest.param("def f(x):\n    return g(\n        # BEGIN SOLUTION\n        x,\n        # END SOLUTION\n    )\n", 4,
                 "cuts the statement of lines 2-6 in two", id="block-inside-a-statement"),
    pytest.param("def f(x):\n    y = x  # BEGIN SOLUTION\n    return y\n    # END SOLUTION\n", 2, "follows code on its line",
                 id="begin-after-code"),
    pytest.param("def f(x):\n    # SOLUTION\n    return x\n", 2, "alone on a line marks nothing", id="line-marker-alone"),
    pytest.param("def f(x):\n    # begin solution\n    return x\n    # end solution\n", 2, "looks like a solution marker",
                 id="lower-case"),
    pytest.param("def f(x):\n    # BEGIN SOLUTION here\n    return x\n    # END SOLUTION\n", 2,
                 "looks like a solution marker", id="words-after"),
    pytest.param("def f(x):\n    return x  # Solution\n", 2, "looks like a solution marker", id="line-marker-in-lower-case"),
    pytest.param("def f(x):\n    for i in x:  # SOLUTION\n        print(i)\n", 3, "does not parse near its line 3",
                 id="header-of-a-block"),
])
def test_a_wrong_marker_is_an_error_that_names_its_line(text: str, line: int, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        derive(text, "reference/hw1/f.py", strict=True)  # as when the template is derived from it
    message = str(info.value)
    assert says in message, message
    where = re.match(r"reference/hw1/f\.py:(\d+): ", message)
    if where:
        assert int(where.group(1)) == line, message
    else:  # (the derived template's parse error names the reference's line in its text)
        assert f"its line {line}" in message, message


def test_marker_lines_finds_markers_in_any_text() -> None:
    notebook = '{"source": ["def f(x):\\n", "    return x  # SOLUTION\\n", "    ### begin solution\\n"]}'
    assert [n for n, _ in marker_lines(notebook)] == [1]
    assert [n for n, _ in marker_lines(REFERENCE)] == [n for n, line in enumerate(REFERENCE.splitlines(), 1)
                                                       if "SOLUTION" in line and "solution" not in line]
    template = template_from(REFERENCE)  # what is left: the strings that say SOLUTION (a release refuses them too)
    assert marker_lines(template) == [(n, line.strip()) for n, line in enumerate(template.splitlines(), 1)
                                      if "SOLUTION" in line]
    assert len(marker_lines(template)) == 3
    assert marker_lines("## Solution format\nx = 1  # the solution\n") == []


# ---------------------------------------------------------------- the given code --


def template_from(reference: str) -> str:
    d = derive(reference)
    assert d is not None
    return d.text


def test_a_template_agrees_whatever_stands_in_for_a_solution_and_whatever_its_comments() -> None:
    template = template_from(REFERENCE)
    assert given_differences(REFERENCE, template, reference_name="ref.py", template_name="tpl.py") == []
    own = (template.replace('raise NotImplementedError("Model.__init__")',
                            '# TODO: build w\n        self.w = None\n        raise NotImplementedError("write __init__")')
           .replace("SIZE = 3  # given", "SIZE = 3  # you may change nothing here")
           .replace("import torch\n", "import torch\n# a hint for students\n\n\n"))
    assert given_differences(REFERENCE, own, reference_name="ref.py", template_name="tpl.py") == []


def test_given_code_that_drifted_is_said_with_both_files_lines_and_texts() -> None:
    template = template_from(REFERENCE)
    drifted = (template.replace('        """x times w."""', '        """x times w, of shape (n, d)."""')
               .replace("def helper(x: torch.Tensor)", "def helper(x)")
               .replace("SIZE = 3  # given\n", "")
               .replace("import torch\n", "import torch\nimport numpy\n"))
    found = given_differences(REFERENCE, drifted, reference_name="R", template_name="T")
    t, r = drifted.splitlines(), REFERENCE.splitlines()

    def at(lines: list[str], text: str) -> int:
        return lines.index(text) + 1

    docstring, drifted_docstring = '        """x times w."""', '        """x times w, of shape (n, d)."""'
    signature = "def helper(x: torch.Tensor) -> torch.Tensor:"
    assert found == [
        f"T:{at(t, 'import numpy')}: 'import numpy', where R:{at(r, 'SIZE = 3  # given')} has 'SIZE = 3'",
        f"T:{at(t, drifted_docstring)}: {drifted_docstring!r}, where R:{at(r, docstring)} has {docstring!r}",
        f"T:{at(t, 'def helper(x) -> torch.Tensor:')}: 'def helper(x) -> torch.Tensor:', where R:{at(r, signature)} "
        f"has {signature!r}",
    ], found
    # A line missing, and one the reference does not have, each said on its own.
    fewer = template.replace("SIZE = 3  # given\n", "")
    assert given_differences(REFERENCE, fewer, reference_name="R", template_name="T") == [
        f"R:{at(r, 'SIZE = 3  # given')}: 'SIZE = 3' is not in T (after its line {at(t, 'import torch')})"]
    more = template.replace("import torch\n", "import torch\nimport numpy\n")
    assert given_differences(REFERENCE, more, reference_name="R", template_name="T") == [
        f"T:{at(t, 'import numpy')}: 'import numpy' is not in R (neither its given code nor where a marked solution is)"]
    # Given code just after a solution, changed: paired with the template's line there.
    returned = template.replace("        return y\n", "        return y.clone()\n")
    assert given_differences(REFERENCE, returned, reference_name="R", template_name="T") == [
        f"T:{at(returned.splitlines(), '        return y.clone()')}: '        return y.clone()', where "
        f"R:{at(r, '        return y')} has '        return y'"]


def test_the_comparison_needs_markers() -> None:
    with pytest.raises(ValueError):
        given_differences("def f(x):\n    return x\n", "def f(x):\n    raise NotImplementedError\n",
                          reference_name="r", template_name="t")
