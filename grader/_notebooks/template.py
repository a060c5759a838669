"""A student template ``.py`` file as a Jupyter notebook (``grader release --notebooks``).

The notebook holds the template's own lines, cut into cells and never rewritten::

    markdown  # <stem>                          the title
    markdown  the module's docstring            (if it has one)
    markdown  the README's section on the file  (if one is given)
    code      the imports at the top            (with the constants and comments among them)
    code      one cell per top-level function or class, with its decorators and the comment
              block right above it; other top-level statements stay with the cell before them
    markdown  "Trying things out" ...           (if the file has an ``if __name__ == "__main__":`` block)
    code      that block
    markdown  "Self-check": save first, then run the cell below
    code      !grader check <assignment> <stem>.ipynb

Each code cell but the self-check is a run of the template's lines, exactly as they are, less
the blank lines at its edges: put one after another, they are the template's code without its
module docstring (which is the markdown above) and without the blank lines between cells.
"""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from .._worker.source import is_main_guard

if TYPE_CHECKING:
    import nbformat

__all__ = ["template_notebook", "readme_section", "is_main_guard"]

_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _blank(line: str) -> bool:
    return not line.strip()


def _first_line(node: ast.stmt) -> int:
    """The 1-based first line of ``node``, its decorators included."""
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(int(d.lineno) for d in decorators)])


def _docstring_markdown(doc: str) -> str:
    """The module docstring as markdown: its text as it is, with a blank line put before an
    indented block that follows a line of text (so that it shows as the preformatted block it
    is, not joined into the paragraph above)."""
    out: list[str] = []
    for line in doc.splitlines():
        indented = line.startswith("    ") and line.strip()
        if indented and out and out[-1].strip() and not out[-1].startswith("    "):
            out.append("")
        out.append(line)
    return "\n".join(out).strip("\n")


def _code_cells(lines: list[str], tree: ast.Module, skip: range | None) -> list[tuple[str, str]]:
    """(kind, source) of the code cells: kind is "code" or "main" (the ``__main__`` block).

    ``lines`` are the file's lines (with their ends), ``skip`` the 0-based line range of the
    module docstring, which no cell holds."""
    body = [n for i, n in enumerate(tree.body) if not (skip is not None and i == 0)]
    starts: list[tuple[int, str]] = [(0, "code")]  # (0-based first line, kind)
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or is_main_guard(node):
            first = _first_line(node) - 1
            # The comment block right above (no blank line between) goes with it.
            while first > 0 and lines[first - 1].startswith("#") and not (skip is not None and first - 1 in skip):
                first -= 1
            starts.append((first, "main" if is_main_guard(node) else "code"))
    cells: list[tuple[str, str]] = []
    bounds = [s for s, _ in starts] + [len(lines)]
    for (start, kind), end in zip(starts, bounds[1:]):
        chunk = [line for i, line in enumerate(lines[start:end], start) if skip is None or i not in skip]
        while chunk and _blank(chunk[0]):
            chunk.pop(0)
        while chunk and _blank(chunk[-1]):
            chunk.pop()
        if chunk:
            source = "".join(chunk)
            cells.append((kind, source.rstrip("\r\n")))
    return cells


def _cell_id(stem: str, n: int) -> str:
    """A stable cell id (nbformat 4.5: 1 to 64 of [a-zA-Z0-9-_]), so that a release made twice
    writes the same notebook."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", stem)[:40] or "cell"
    return f"{safe}-{n}"


def template_notebook(py_source: str, *, file_name: str, assignment: str,
                      readme_section: str | None = None) -> nbformat.NotebookNode:
    """The template file ``file_name`` (its text ``py_source``) as an nbformat v4 notebook.

    Args:
        py_source: the template ``.py`` file's text.
        file_name: its name in the assignment (``momentum.py``): the title is its stem, and
            the self-check cell names ``<stem>.ipynb``.
        assignment: the assignment's id, for the self-check cell's ``grader check``.
        readme_section: markdown about this file (the template README's section on it), put
            after the docstring; None for none.

    Returns:
        The notebook (see the module's docstring for its cells), validated by ``nbformat``;
        no outputs, no execution counts, cell ids that depend only on the file.

    Raises:
        ValueError: ``py_source`` is not valid Python.
    """
    import nbformat
    from nbformat import v4

    stem = PurePosixPath(file_name).stem
    try:
        tree = ast.parse(py_source, filename=file_name)
    except SyntaxError as exc:
        raise ValueError(f"{file_name} is not valid Python (line {exc.lineno}: {exc.msg}): it cannot be made a notebook") from exc
    lines = py_source.splitlines(keepends=True)

    docstring: str | None = None
    skip: range | None = None
    first = tree.body[0] if tree.body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
            and first.end_lineno is not None
            and (len(tree.body) == 1 or tree.body[1].lineno > first.end_lineno)
            and lines[first.lineno - 1][:first.col_offset].strip() == ""):
        docstring = ast.get_docstring(tree, clean=True)
        skip = range(first.lineno - 1, first.end_lineno)

    cells: list[nbformat.NotebookNode] = []

    def markdown(text: str) -> None:
        cells.append(v4.new_markdown_cell(text, id=_cell_id(stem, len(cells))))

    def code(text: str) -> None:
        cells.append(v4.new_code_cell(text, id=_cell_id(stem, len(cells))))

    markdown(f"# {stem}\n\n"
             f"The template `{file_name}` of {assignment} as a notebook. Write your code in the code cells "
             f"below; keep the names of the functions and classes, and their arguments, as they are.")
    if docstring and docstring.strip():
        markdown(_docstring_markdown(docstring))
    if readme_section and readme_section.strip():
        markdown(readme_section.strip("\n"))
    for kind, source in _code_cells(lines, tree, skip):
        if kind == "main":
            markdown("## Trying things out\n\n"
                     "The next cell is for trying things out: run it to see what your code does. "
                     "The grader does not run it.")
        code(source)
    markdown("## Self-check\n\n"
             "Save the notebook first (Ctrl+S, or File > Save): the grader reads the saved file, not "
             f"what is on screen. Then run the cell below: it runs the public checks of {assignment} on "
             f"this notebook (the hidden ones are graded after the deadline).")
    code(f"!grader check {assignment} {stem}.ipynb")

    nb: nbformat.NotebookNode = v4.new_notebook(cells=cells, metadata={
        "kernelspec": dict(_KERNELSPEC),
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")


def readme_section(readme: str, file_name: str) -> str | None:
    """The section of ``readme`` (markdown) whose ``## ...`` heading names ``file_name``
    (``momentum.py``, not ``xmomentum.py``): from that heading up to the next heading of level
    1 or 2, headings inside fenced code blocks not counted. None when no such heading."""
    name = re.compile(rf"(?<![\w./-]){re.escape(file_name)}(?![\w])")
    lines = readme.splitlines()
    fence: str | None = None
    start: int | None = None
    for i, line in enumerate(lines):
        if m := _FENCE.match(line):
            mark = m.group(1)
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip()[len(mark):].strip():
                fence = None
            continue
        if fence is not None:
            continue
        h = _HEADING.match(line)
        if not h or len(h.group(1)) > 2:
            continue
        if start is not None:
            return "\n".join(lines[start:i]).strip("\n")
        if len(h.group(1)) == 2 and name.search(h.group(2)):
            start = i
    return "\n".join(lines[start:]).strip("\n") if start is not None else None
