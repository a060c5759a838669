"""`grader release --notebooks`: each student template file X.py comes as X.ipynb too.

A released notebook is a valid nbformat v4 notebook whose code cells are the template's own
lines (its module docstring and the README's section on the file are markdown above them),
with the ``__main__`` block last and a Self-check cell at the end; without notebooks=True a
release has none; and the release's leak search reads a notebook's cells.
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from grader._course.layout import Course
from grader._notebooks.template import readme_section, template_notebook
from grader._authoring.release import leaks, release

INTRO = ROOT / "examples" / "intro-course"
ASSIGNMENTS = [(ROOT, a) for a in Course.locate(ROOT).assignment_ids()] + \
              [(INTRO, a) for a in Course.locate(INTRO).assignment_ids()]


def code_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The code cells that come from the template: all but the Self-check cell (the last)."""
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    assert cells and cells[-1].startswith("!grader check "), cells[-1:]
    return cells[:-1]


def markdown(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def without_docstring(source: str) -> str:
    """The template's text less its module docstring's lines."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        assert first.end_lineno is not None
        del lines[first.lineno - 1:first.end_lineno]
    return "".join(lines)


def assert_cells_are_the_code(cells: list[str], source: str) -> None:
    """Each cell is a run of the template's lines as they are, and together, in order, they are
    all of its code but the docstring (only the blank lines between cells are not in them)."""
    code = without_docstring(source)
    for cell in cells:
        assert cell and cell in code, f"not a run of the template's lines:\n{cell}"
    joined = "\n".join(cells) + "\n"
    assert [line for line in joined.splitlines() if line.strip()] == [line for line in code.splitlines() if line.strip()]
    assert ast.dump(ast.parse(joined)) == ast.dump(ast.parse(code))
    # In order, with nothing but blank lines between them.
    at = 0
    for cell in cells:
        i = code.index(cell, at)
        assert not code[at:i].strip(), code[at:i]
        at = i + len(cell)
    assert not code[at:].strip()


@pytest.fixture(scope="module")
def hw5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hw5") / "rel"
    release("mfdnn-hw5", out, course=Course.locate(ROOT), wheel=False, notebooks=True)
    return out


@pytest.mark.parametrize("root,assignment", ASSIGNMENTS, ids=[a for _, a in ASSIGNMENTS])
def test_each_released_notebook_validates_and_its_code_cells_are_the_template_s_code(root: Path, assignment: str,
                                                                                     tmp_path: Path) -> None:
    course = Course.locate(root)
    a = course.assignment(assignment)
    r = release(assignment, tmp_path / "rel", course=course, wheel=False, notebooks=True)
    assert a.student_files
    for name in a.student_files:
        notebook = Path(name).with_suffix(".ipynb").as_posix()
        assert notebook in r.files, (notebook, r.files)
        text = (r.out / notebook).read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        assert json.loads(text)["nbformat"] == 4
        assert nb.metadata.kernelspec.name == "python3" and nb.metadata.language_info.name == "python"
        assert all(c.cell_type != "code" or (c.outputs == [] and c.execution_count is None) for c in nb.cells)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# {Path(name).stem}\n")
        assert_cells_are_the_code(code_cells(nb), (a.template_dir / name).read_text(encoding="utf-8"))
        # The release's copy of the template itself is untouched.
        assert (r.out / name).read_text(encoding="utf-8") == (a.template_dir / name).read_text(encoding="utf-8")
    # The README says notebooks may be handed in, and how to self-check one.
    readme = (r.out / "README.md").read_text(encoding="utf-8")
    first = Path(a.student_files[0]).with_suffix(".ipynb").as_posix()
    assert f"grader check {assignment} {first}" in readme
    assert "either the `.py` or\nthe `.ipynb`" in readme and "one notebook for\nthe whole assignment" in readme
    # The released course (what the checks import) holds no notebook.
    assert not [f for f in r.files if f.startswith(".grader/") and f.endswith(".ipynb")]


def test_the_markdown_cells_carry_the_docstring_and_the_readme_s_section(hw5: Path) -> None:
    a = Course.locate(ROOT).assignment("mfdnn-hw5")
    nb = nbformat.read(hw5 / "momentum.ipynb", as_version=4)
    md = markdown(nb)
    doc = ast.get_docstring(ast.parse((a.template_dir / "momentum.py").read_text()))
    assert doc and "Homework 5, Problem 3: two forms of SGD with momentum." in md
    for line in doc.splitlines():
        assert line.strip() in md, line
    readme = (a.template_dir / "README.md").read_text()
    section = readme.split("## Problem 3: two forms of momentum SGD (`momentum.py`)", 1)[1].split("\n## ", 1)[0]
    assert "## Problem 3: two forms of momentum SGD (`momentum.py`)" in md
    assert section.strip() and section.strip() in md
    assert "## Problem 5: the 1x1 bottleneck" not in md and "## Problem 1:" not in md  # only its own section
    # Markdown first (the title, then the text), then the code.
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[:3] == ["markdown"] * 3 and kinds[3] == "code"
    assert nb.cells[0].source.startswith("# momentum\n")
    # No docstring in the code: it is the markdown above.
    assert not any('"""Homework 5' in c for c in code_cells(nb))


def test_the_self_check_cell_names_the_assignment_and_the_notebook(hw5: Path) -> None:
    for stem in ["backprop", "momentum", "bottleneck", "memorization"]:
        nb = nbformat.read(hw5 / f"{stem}.ipynb", as_version=4)
        last, before = nb.cells[-1], nb.cells[-2]
        assert last.cell_type == "code" and last.source == f"!grader check mfdnn-hw5 {stem}.ipynb"
        assert before.cell_type == "markdown" and before.source.startswith("## Self-check")
        assert "Save the notebook first" in before.source and "Ctrl+S" in before.source and "File > Save" in before.source


def test_a_template_s_main_block_is_the_last_code_cell_with_a_note_above(hw5: Path) -> None:
    source = (Course.locate(ROOT).assignment("mfdnn-hw5").template_dir / "momentum.py").read_text()
    assert 'if __name__ == "__main__":' in source
    nb = nbformat.read(hw5 / "momentum.ipynb", as_version=4)
    cells = code_cells(nb)
    assert cells[-1].startswith('if __name__ == "__main__":\n')
    assert source.rstrip("\n").endswith(cells[-1])
    assert not any("__main__" in c for c in cells[:-1])
    i = [c.source for c in nb.cells].index(cells[-1])
    assert nb.cells[i - 1].cell_type == "markdown"
    assert "trying things out" in nb.cells[i - 1].source.lower() and "grader does not run it" in nb.cells[i - 1].source
    # The functions are cells of their own, the imports one cell.
    assert cells[0].startswith("from __future__ import annotations") and "def " not in cells[0]
    assert [c.split("(", 1)[0] for c in cells[1:3]] == ["def heavy_ball", "def velocity_momentum"]


def test_a_release_without_notebooks_has_none(tmp_path: Path) -> None:
    r = release("mfdnn-hw5", tmp_path / "rel", course=Course.locate(ROOT), wheel=False)
    assert r.files and "momentum.py" in r.files
    assert not [f for f in r.files if f.endswith(".ipynb")]
    assert not list((tmp_path / "rel").rglob("*.ipynb"))
    assert "## Working in a notebook" not in (tmp_path / "rel" / "README.md").read_text()  # (the rule for notebooks is the template's)


SOURCE = '''\
"""A toy template.

It has everything:
    an indented block
"""

from __future__ import annotations

import functools

import torch

SCALE = 2  # a constant among the imports


# The comment block right above f
# goes with f.
@functools.lru_cache(maxsize=None)
def f(x: int) -> int:
    """f's own docstring stays in the code."""
    return SCALE * x

LIMIT = 10


class Net(torch.nn.Module):
    pass
# a trailing comment


if __name__ == "__main__":
    print(f(3))
'''


def test_cells_cut_at_definitions_keep_their_comments_and_decorators() -> None:
    nb = template_notebook(SOURCE, file_name="toy.py", assignment="hw0", readme_section="## The toy (`toy.py`)\n\nWrite f.\n")
    nbformat.validate(nb)
    cells = code_cells(nb)
    assert cells == [
        "from __future__ import annotations\n\nimport functools\n\nimport torch\n\nSCALE = 2  # a constant among the imports",
        "# The comment block right above f\n# goes with f.\n@functools.lru_cache(maxsize=None)\ndef f(x: int) -> int:\n"
        '    """f\'s own docstring stays in the code."""\n    return SCALE * x\n\nLIMIT = 10',
        "class Net(torch.nn.Module):\n    pass\n# a trailing comment",
        'if __name__ == "__main__":\n    print(f(3))',
    ]
    assert_cells_are_the_code(cells, SOURCE)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert md[0].startswith("# toy\n")
    assert md[1] == "A toy template.\n\nIt has everything:\n\n    an indented block"
    assert md[2] == "## The toy (`toy.py`)\n\nWrite f."
    assert nb.cells[-1].source == "!grader check hw0 toy.ipynb"
    # The same file gives the same notebook (stable cell ids): a release made twice is the same.
    assert nbformat.writes(nb) == nbformat.writes(template_notebook(SOURCE, file_name="toy.py", assignment="hw0",
                                                                    readme_section="## The toy (`toy.py`)\n\nWrite f.\n"))


def test_a_template_without_docstring_or_main_block_gets_no_cells_for_them() -> None:
    source = "import torch\n\n\ndef g(x):\n    return x\n"
    nb = template_notebook(source, file_name="g.py", assignment="hw0")
    nbformat.validate(nb)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "markdown", "code"]
    assert code_cells(nb) == ["import torch", "def g(x):\n    return x"]
    assert "Trying things out" not in markdown(nb)
    with pytest.raises(ValueError, match="not valid Python"):
        template_notebook("def broken(:\n", file_name="b.py", assignment="hw0")


def test_the_readme_section_is_the_one_whose_heading_names_the_file() -> None:
    readme = textwrap.dedent("""\
        # Homework

        ## Problem 1 (`xmomentum.py`)

        not this one

        ## Problem 2 (`momentum.py`)

        this one

        ```
        ## not a heading (`momentum.py`)
        ```

        ### a subsection, kept

        ## Problem 3 (`other.py`)

        not this one either
        """)
    section = readme_section(readme, "momentum.py")
    assert section is not None
    assert section.startswith("## Problem 2 (`momentum.py`)") and "this one" in section
    assert "### a subsection, kept" in section and "## not a heading" in section
    assert "not this one" not in section and "Problem 3" not in section
    assert readme_section(readme, "absent.py") is None


def test_the_leak_search_reads_a_notebook_s_cells(tmp_path: Path) -> None:
    """In a notebook's JSON each line is a quoted string: the search must read the cells."""
    a = Course.locate(ROOT).assignment("mfdnn-hw5")
    reference = (a.reference_dir / "momentum.py").read_text()
    nb = template_notebook(reference, file_name="momentum.py", assignment=a.id)
    folder = tmp_path / "rel"
    folder.mkdir()
    (folder / "momentum.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    found = leaks(a, folder)
    assert any(f.startswith("momentum.ipynb (its cells' text):") and "lines of the reference" in f for f in found), found
    # The template's own notebook is no leak.
    (folder / "momentum.ipynb").write_text(nbformat.writes(template_notebook(
        (a.template_dir / "momentum.py").read_text(), file_name="momentum.py", assignment=a.id)), encoding="utf-8")
    assert leaks(a, folder) == []
