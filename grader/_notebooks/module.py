"""Notebooks handed in: the module a worker imports, made from a notebook's code cells.

Why one module of about 900 lines: the rule of what runs from a notebook is one reading of
its cells' syntax trees (what is a constant, which settings calls run with which cell,
which names a problem needs); split, the rule would be in pieces that must agree to be safe.

Everything here runs on the trusted side and never runs the student's code: the notebook is
read as JSON (``nbformat``: validated, v4; v3 converted), outputs and metadata are never
read, and each code cell is parsed with ``ast``.

What runs (``mode="definitions"``, the default), per problem:

- imports, function and class definitions, and assignments of constants (values made of
  literals, names, attribute lookups, operators, containers, comprehensions and a few pure
  calls such as ``range`` or ``torch.device``), plus a few settings calls
  (``torch.manual_seed``, ``torch.set_default_dtype``, ...) whose arguments are constants by
  the same rule and whose first name is the module itself (``import torch``, never a
  ``class torch`` of the notebook's);
- of those, only what the problem's names need: the names the problem's template defines,
  then every name their code uses, and so on (imports too); other cells' definitions do not
  run for this problem (a whole-assignment notebook's other problems cannot fail this one);
- a settings call runs with its cell: for a problem that runs a function, class or constant
  of that cell, or, where the cell holds no function or class (a setup cell: imports,
  constants, settings), one of its imports; so another problem's cell (the one holding its
  functions) never changes or stops this problem's worker;
- everything else is left out and said so: top-level work (loops, calls, plots, prints,
  ``input()``, assignments of what a call returns), ``if __name__ == "__main__":`` blocks,
  IPython magics (``%``, ``%%``), shell escapes (``!pip install``) and help (``x?``); a
  cell that does not parse is left out whole.

``mode="cells"`` (a rubric's ``notebook = "cells"``) runs every code cell as it is, in
order (magics and shell lines are still not run: plain Python cannot run them).

The worker gets two files: the problem's module (``momentum.py``), a short loader, and the
kept code itself under the notebook's name (``hw5.ipynb``, Python text), whose lines map
back to cells. The loader runs each kept statement (each cell, in ``cells`` mode) on its
own: one that raises (``import seaborn`` where it is not installed) is recorded and the
rest still run. Messages about the kept code are rewritten here to name the cell, its
execution count and the line in the cell (``NotebookModule.explain``).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._exceptions import SubmissionError
from .template import is_main_guard
from .._worker.source import dotted as _dotted

Mode = Literal["definitions", "cells"]
MAX_NOTEBOOK_BYTES = 50 << 20
MAX_CELLS = 5_000
MAX_CODE_CHARS = 5 << 20  # all code cells together

# Calls an assignment of a constant may make: pure, quick, and needed by definitions.
PURE_CALLS = frozenset({
    "range", "len", "int", "float", "str", "bool", "complex", "tuple", "list", "dict", "set", "frozenset",
    "min", "max", "sum", "abs", "round", "sorted", "reversed", "zip", "enumerate", "pow", "divmod", "slice",
    "TypeVar", "typing.TypeVar", "namedtuple", "collections.namedtuple", "field", "dataclasses.field",
    "torch.device", "torch.cuda.is_available", "torch.backends.mps.is_available", "torch.get_default_dtype",
    "torch.tensor", "torch.finfo", "torch.iinfo", "np.array", "numpy.array",
    "os.path.join", "os.environ.get", "os.getenv", "Path", "pathlib.Path",
})
PURE_PREFIXES = ("math.",)
# Top-level calls that set things up rather than do work: kept (as a .py file's import would run them)
# where their arguments are constants (``_constant``), their first name is the module itself
# (``SETTINGS_MODULES``), and their cell holds code the problem runs (``convert``).
SETTINGS_CALLS = frozenset({
    "torch.manual_seed", "torch.set_default_dtype", "torch.set_printoptions", "torch.set_grad_enabled",
    "torch.use_deterministic_algorithms", "np.random.seed",
    "numpy.random.seed", "random.seed", "warnings.filterwarnings", "warnings.simplefilter",
})
SETTINGS_MODULES = {"torch": "torch", "np": "numpy", "numpy": "numpy", "random": "random", "warnings": "warnings"}
JUPYTER_ONLY = frozenset({"get_ipython", "display", "In", "Out", "_ih", "_oh"})


@dataclass(frozen=True)
class Cell:
    index: int  # 1-based, among all cells of the notebook (markdown too), as Jupyter shows them
    execution_count: int | None
    source: str

    @property
    def label(self) -> str:
        return f"cell {self.index}" + (f" (In [{self.execution_count}])" if self.execution_count is not None else "")


@dataclass(frozen=True)
class LeftOut:
    cell: Cell
    line: int  # in the cell, 1-based
    last: int
    why: str
    names: frozenset[str] = frozenset()  # what it would have set

    @property
    def where(self) -> str:
        return f"{self.cell.label}, line{'s' if self.last > self.line else ''} {self.line}" + (
            f"-{self.last}" if self.last > self.line else "")


@dataclass
class NotebookModule:
    """The module one problem's worker imports from a notebook, and how to talk about it."""

    notebook: str  # the file's name, e.g. "hw5.ipynb"
    module: str  # the problem's module, e.g. "momentum"
    mode: Mode
    cells: list[Cell]
    kept: str  # the kept code (Python), written under the notebook's name
    lines: list[tuple[int, int]]  # kept line i+1 -> (cell index, line in the cell)
    left_out: list[LeftOut]
    needed_but_left_out: list[tuple[str, LeftOut]] = field(default_factory=list)  # (name, where it is set)
    bad_cells: list[tuple[Cell, str]] = field(default_factory=list)  # cells that do not parse, and why
    defined: dict[str, list[Cell]] = field(default_factory=dict)  # name -> cells whose kept code binds it
    kept_cells: list[int] = field(default_factory=list)
    kept_name: str = ""  # the kept code's file name in the worker (the notebook's name, made safe)
    load_failures: list[tuple[int, str]] = field(default_factory=list)  # (kept line, what it raised): set after loading
    needed: frozenset[str] = frozenset()  # the names the problem's code needs (its template's, and what they use)
    wanted: tuple[str, ...] = ()  # the template's names (None at convert: empty)

    def bad_cells_here(self) -> list[tuple[Cell, str]]:
        """The cells that do not parse and may hold this problem's code: they would set a name it
        needs (every such cell, where none of the notebook's code is this problem's)."""
        if self.mode == "cells" or not self.kept_cells or not self.needed:
            return list(self.bad_cells)
        return [(c, why) for c, why in self.bad_cells if _would_set(c.source) & self.needed]

    # ------------------------------------------------------------ files --

    def loader(self) -> str:
        """The problem's module: runs the kept code statement by statement (cell by cell in
        ``cells`` mode), recording what raises and going on."""
        return LOADER.format(notebook=self.kept_name, per="cell" if self.mode == "cells" else "statement",
                             groups=json.dumps(self._groups()))

    def _groups(self) -> list[list[int]]:
        """Kept line ranges run as one unit: a statement, or (``cells``) a whole cell."""
        if self.mode != "cells":
            return []
        groups: list[list[int]] = []
        for i, (cell, _) in enumerate(self.lines):
            if groups and self.lines[groups[-1][1] - 1][0] == cell:
                groups[-1][1] = i + 1
            else:
                groups.append([i + 1, i + 1])
        return groups

    def write(self, folder: Path) -> dict[str, Path]:
        """The files the worker gets, written into ``folder``: name in the worker -> path."""
        folder.mkdir(parents=True, exist_ok=True)
        loader, kept = folder / f"{self.module}.py", folder / self.kept_name
        loader.write_text(self.loader(), encoding="utf-8")
        kept.write_text(self.kept, encoding="utf-8")
        return {f"{self.module}.py": loader, self.kept_name: kept}

    # --------------------------------------------------------- messages --

    def cell(self, index: int) -> Cell | None:
        return next((c for c in self.cells if c.index == index), None)

    def at(self, line: int) -> tuple[Cell, int] | None:
        if 1 <= line <= len(self.lines):
            index, in_cell = self.lines[line - 1]
            cell = self.cell(index)
            return (cell, in_cell) if cell else None
        return None

    def explain(self, text: str, outcome: str = "") -> tuple[str, list[tuple[int, int | None]]]:
        """``text`` (a test's message) with every place in the kept code named as the cell and
        its line, and hints where a name the code needs was left out; and the cells named."""
        named: list[tuple[int, int | None]] = []
        nb = re.escape(self.kept_name)

        def naming(template: str) -> Any:
            """A replacement that names the kept line ``m["line"]`` as its cell and line, in ``template``."""
            def name(m: re.Match[str]) -> str:
                place = self.at(int(m["line"]))
                if place is None:
                    return m[0]
                named.append((place[0].index, place[1]))
                return template.format(cell=place[0].label, line=place[1])
            return name

        text = re.sub(rf'(?<![\w/]){nb}", line (?P<line>\d+)', naming(self.kept_name + '", {cell}, line {line}'), text)
        module_file = re.escape(f"{self.module}.py")
        if re.search(rf"(?<![\w/]){module_file}\b", text):
            # checks that quote lines of the source ("backprop.py uses autograd (line 12: ...)") read the kept code
            text = re.sub(r"\bline (?P<line>\d+)(?=: )", naming("{cell}, line {line}"), text)  # mentions(): "line 12: .backward"
            text = re.sub(rf"(?<![\w/]){module_file}\b", f"{self.notebook} ({self.module}'s code)", text)
        hints = []
        for name in dict.fromkeys(re.findall(r"name '(\w+)' is not defined", text)
                                  + re.findall(r"defines no function (\w+)\(\)", text)
                                  + re.findall(rf"module '{re.escape(self.module)}' has no attribute '(\w+)'", text)):
            hint = self.why_missing(name)
            if hint:
                hints.append(hint[0])
                named += [(i, None) for i in hint[1]]
        if outcome == "timeout":
            cells = self.cells_of_problem()
            if cells:
                hints.append(f"This problem's code is in {self.notebook}: {', '.join(c.label for c in cells)}.")
                named += [(c.index, None) for c in cells[:3]]
        if hints:
            text = text.rstrip() + "\n" + "\n".join(hints)
        return text, list(dict.fromkeys(named))

    def import_timeout(self, output: str, seconds: float) -> str:
        """The message for a load that did not finish: the cell that was running, where the
        loader said (``cells`` mode), else this problem's cells."""
        running = re.findall(rf"\[grader: running the cell at line (\d+) of {re.escape(self.kept_name)}\]", output)
        place = self.at(int(running[-1])) if running else None
        if place is not None:
            return (f"{place[0].label} of {self.notebook} did not finish within {seconds:.3g} s when the grader ran "
                    "the notebook's cells (they run as they are for this problem): a cell that trains or loops for "
                    "long makes every check wait; move that work into a function, or under "
                    "`if __name__ == \"__main__\":`.")
        cells = ", ".join(c.label for c in self.cells_of_problem()) or "its code cells"
        return (f"Running this problem's code from {self.notebook} ({cells}) did not finish within {seconds:.3g} s: "
                "a definition's default value, a class body or a constant takes that long to compute.")

    def why_missing(self, name: str) -> tuple[str, list[int]] | None:
        """Why ``name`` is not defined when the student's code runs, if the notebook says."""
        for kept_line, what in self.load_failures:
            place = self.at(kept_line)
            if place and name in self._binds_at(kept_line):
                return (f"{name} comes from {place[0].label}, line {place[1]}, which raised {what} when the grader "
                        "ran it, so everything it sets is missing.", [place[0].index])
        for left in self.left_out:
            if name in left.names:
                return (f"{name} is set in {left.where}, which the grader does not run ({left.why}). "
                        "Move what it needs into the function that uses it, or make it a constant.", [left.cell.index])
        for cell, why in self.bad_cells:
            if name in _would_set(cell.source):
                return (f"{cell.label} would define {name}, but the grader left that cell out: {why}.", [cell.index])
            word = re.escape(name)
            if re.search(rf"^\s*(?:async\s+def|def|class)\s+{word}\b|^\s*{word}\s*=|^\s*(?:import|from)\s.*\b{word}\b",
                         cell.source, re.M):
                return (f"{cell.label} would define {name}, but the grader left that cell out: {why}.", [cell.index])
        if name in JUPYTER_ONLY:
            return (f"{name} exists only inside Jupyter (IPython); the grader runs your code as plain Python.", [])
        if self.mode == "definitions" and not any(name in names for names in self._all_binds()):
            return (f"No code cell of {self.notebook} defines {name} at the top level.", [])
        return None

    def _binds_at(self, kept_line: int) -> set[str]:
        try:
            tree = ast.parse(self.kept)
        except SyntaxError:
            return set()
        for node in tree.body:
            start = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]])
            if start <= kept_line <= (node.end_lineno or node.lineno):
                return _binds(node)
        if self.mode == "cells":  # a cell runs as a unit: all it binds
            index = self.lines[kept_line - 1][0] if 1 <= kept_line <= len(self.lines) else -1
            return {n for node in tree.body if self.lines[node.lineno - 1][0] == index for n in _binds(node)}
        return set()

    def _all_binds(self) -> list[set[str]]:
        return [set(left.names) for left in self.left_out] + [{n} for n in self.defined]

    def cells_of_problem(self) -> list[Cell]:
        return [c for i in self.kept_cells if (c := self.cell(i)) is not None]

    def summary(self) -> list[str]:
        """The short block the student reads once per problem: what of the notebook ran, and
        what was left out and why (in detail for the cells that hold this problem's code,
        in one line for the rest)."""
        mine = self.cells_of_problem()
        where = ", ".join(c.label for c in mine) or "no cell"
        if self.mode == "cells":
            lines = [f"Graded from {self.notebook}: every code cell ran as it is, in order ({where})."]
        elif not mine:
            asked = f" ({', '.join(self.wanted[:5])}{', ...' if len(self.wanted) > 5 else ''})" if self.wanted else ""
            lines = [f"Graded from {self.notebook}: no code cell of it defines what this problem asks for{asked}."]
        else:
            lines = [f"Graded from {self.notebook}: the grader ran only the imports, definitions and constants "
                     f"this problem uses, from {where}, and the settings calls (such as torch.manual_seed(0)) that "
                     "share a cell with that code. Top-level work (training, plots, prints), magics (%) and "
                     "shell commands (!) do not run."]
        for name, left in self.needed_but_left_out[:5]:
            lines.append(f"Needed but not run: {name}, set in {left.where} ({left.why}). Move it into the function "
                         "that uses it, or make it a constant.")
        for kept_line, what in self.load_failures[:5]:
            place = self.at(kept_line)
            if place:
                lines.append(f"Raised when run: {place[0].label}, line {place[1]}: {what} (what it sets is missing).")
        bad = self.bad_cells_here()
        for cell, why in bad[:5]:
            lines.append(f"Left out whole: {cell.label}, which is not Python the grader can read ({why}).")
        if len(bad) > 5:
            lines.append(f"Left out whole: {len(bad) - 5} more cells that do not parse.")
        ours = {c.index for c in mine}
        by_cell: dict[int, list[LeftOut]] = {}
        for left in self.left_out:
            by_cell.setdefault(left.cell.index, []).append(left)
        others = []
        for index, items in sorted(by_cell.items()):
            if index not in ours:
                others.append(items[0].cell.label)
                continue
            whys = list(dict.fromkeys(i.why for i in items))
            spans = ", ".join(f"{i.line}" + (f"-{i.last}" if i.last > i.line else "") for i in items[:4])
            lines.append(f"Left out: {items[0].cell.label}, line{'s' if len(items) > 1 or items[0].last > items[0].line else ''} "
                         f"{spans}{', ...' if len(items) > 4 else ''}: {'; '.join(whys[:3])}.")
        if others:
            shown = ", ".join(others[:8]) + (f" and {len(others) - 8} more" if len(others) > 8 else "")
            lines.append(f"Not run: the top-level work of {shown}.")
        return lines


LOADER = '''"""Made by the grader from the notebook {notebook}: its kept code runs {per} by {per}."""


def __grader_load__(groups):
    import ast, os, sys
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), {notebook!r})
    with open(path, encoding="utf-8") as f:
        text = f.read()
    tree = __grader_prepare__(ast.parse(text, path))  # the worker's (source.prepare): what runs is what was read
    units = [[n] for n in tree.body]
    if groups:
        units = [[n for n in tree.body if a <= n.lineno <= b] for a, b in groups]
    flags = 0
    if {future!r} in text:
        import __future__
        flags = __future__.annotations.compiler_flag
    failures = []
    space = globals()
    for unit in units:
        if not unit:
            continue
        if groups:
            sys.stderr.write("\\n[grader: running the cell at line %d of {notebook}]\\n" % unit[0].lineno)
            sys.stderr.flush()
        try:
            exec(compile(ast.Module(unit, []), path, "exec", flags=flags, dont_inherit=True), space)
        except BaseException as exc:  # exit() in a cell too: recorded, and the rest still runs
            failures.append([unit[0].lineno, ("%s: %s" % (type(exc).__name__, exc))[:300]])
    return failures


__grader_failures__ = __grader_load__({groups})
del __grader_load__
'''.replace("{future!r}", repr("from __future__ import annotations"))


# ------------------------------------------------------------------ reading --


def read(path: Path) -> list[Cell]:
    """The notebook's cells, read as nbformat reads them (validated; v3 converted to v4).
    Every way a file can fail to be a notebook is a ``SubmissionError`` saying what to do."""
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SubmissionError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(
            f"{name} is {size >> 20} MB, more than the {MAX_NOTEBOOK_BYTES >> 20} MB the grader reads (outputs, such as "
            "plots, make a notebook big): clear its outputs (Jupyter: Edit > Clear Outputs of All Cells; Colab: Edit > "
            "Clear all outputs), save it, and hand it in again")
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        raise SubmissionError(f"{name} is a zip archive, not a notebook: hand in the .ipynb file itself "
                              "(File > Download > .ipynb)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} is not a notebook: it is not UTF-8 text (byte {exc.start}); "
                              "download it again from Jupyter or Colab as .ipynb") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{name} is not a notebook: its JSON is broken at line {exc.lineno}, column {exc.colno} "
                              f"({exc.msg}). Open it in Jupyter; if it does not open, save a fresh copy") from None
    except RecursionError:
        raise SubmissionError(f"{name} is not a notebook: its JSON is nested too deeply") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise SubmissionError(f"{name} is not a notebook: no cells in it (a notebook is JSON with a \"cells\" list)")
    import nbformat
    from nbformat.reader import NotJSONError

    major = raw.get("nbformat")
    if major not in (3, 4):
        raise SubmissionError(f"{name}: notebook format {major!r}, which the grader does not read "
                              "(it reads formats 3 and 4): save it again with Jupyter or Colab")
    # Outputs and attachments are never read: dropped before nbformat sees them (validating a
    # million outputs, or broken ones, took minutes and gigabytes of the grader's own process).
    for cell in _raw_cells(raw):
        if cell.get("cell_type") == "code" and "outputs" in cell:
            cell["outputs"] = []
        cell.pop("attachments", None)
    text = json.dumps(raw)
    try:
        nb = nbformat.reads(text, as_version=4)
    except (NotJSONError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SubmissionError(f"{name}: cannot be read as a notebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        # Outputs and metadata are never read: only a cell list the grader cannot use is refused.
        cells = nb.get("cells")
        if not isinstance(cells, list) or not all(isinstance(c, dict) and isinstance(c.get("source"), (str, list)) for c in cells):
            raise SubmissionError(f"{name}: not a valid notebook ({str(exc).splitlines()[0][:200]})") from None
    cells_raw = nb.get("cells") or []
    if len(cells_raw) > MAX_CELLS:
        raise SubmissionError(f"{name} has {len(cells_raw)} cells (the grader reads at most {MAX_CELLS})")
    cells = []
    total = 0
    for i, c in enumerate(cells_raw, start=1):
        if c.get("cell_type") != "code":
            continue
        source = c.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not isinstance(source, str):
            continue
        # Lines as Python reads them: a lone carriage return ends a line too (kept and cut by
        # "\n" alone, a line after one ran while the notes said it was left out).
        source = source.replace("\r\n", "\n").replace("\r", "\n")
        count = c.get("execution_count")
        total += len(source)
        if total > MAX_CODE_CHARS:
            raise SubmissionError(f"{name}: its code cells hold more than {MAX_CODE_CHARS >> 20} MB of code")
        cells.append(Cell(i, count if isinstance(count, int) and not isinstance(count, bool) else None, source))
    return cells


def _raw_cells(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The cell dicts of a notebook's JSON, format 4 (``cells``) or 3 (``worksheets``)."""
    lists = [raw.get("cells")] + [w.get("cells") for w in raw.get("worksheets") or [] if isinstance(w, dict)]
    return [c for cells in lists if isinstance(cells, list) for c in cells if isinstance(c, dict)]


# ------------------------------------------------------------- converting --

_MAGIC = re.compile(r"^(?P<indent>\s*)(?:[%!]|\w+\s*=\s*[%!])")
_HELP = re.compile(r"^(?P<indent>\s*)(?:\?\??[\w.]+|[\w.]+\?\??)\s*$")


def _unmagic(source: str) -> tuple[str, list[tuple[int, str]]]:
    """The cell's source with IPython's own syntax blanked out (line numbers kept), and what
    was blanked. A cell that parses as Python is left as it is (a ``%`` inside a string is not
    a magic)."""
    try:
        ast.parse(source)
        return source, []
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].split()[0]
        return "\n" * (len(lines) - 1), [(1, f"a cell magic ({magic}): the whole cell is IPython's")]
    out, gone = [], []
    for n, line in enumerate(lines, start=1):
        m = _MAGIC.match(line) or _HELP.match(line)
        if m:
            what = "a shell command (!)" if line.lstrip().startswith("!") or re.match(r"\s*\w+\s*=\s*!", line) else (
                "an IPython magic (%)" if "%" in line.split("#")[0][:len(m[0]) + 1] else "IPython help (?)")
            out.append(f"{m['indent']}pass" if m["indent"] else "")
            gone.append((n, what))
        else:
            out.append(line)
    return "\n".join(out), gone


def _constant(node: ast.AST | None) -> bool:
    """Whether a value is built from literals, names, lookups, operators, containers,
    comprehensions, lambdas and pure calls only (cheap and without effects)."""
    if node is None:
        return True
    stack = [node]
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.Lambda):
            continue  # its body runs only when it is called
        if isinstance(sub, ast.Call):
            name = _dotted(sub.func)
            if not name or not (name in PURE_CALLS or name.startswith(PURE_PREFIXES)):
                return False
        elif isinstance(sub, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        stack.extend(ast.iter_child_nodes(sub))
    return True


def _binds(node: ast.AST) -> set[str]:
    """The top-level names a statement sets."""
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            names.add(alias.asname or alias.name.split(".")[0])
        return names
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
    for t in targets:
        for sub in ast.walk(t):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    if isinstance(node, (ast.If, ast.Try, ast.For, ast.While, ast.With, ast.AsyncWith, ast.AsyncFor)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                names |= _binds(child)
        for handler in getattr(node, "handlers", []):
            for child in handler.body:
                names |= _binds(child)
    return names


def _loads(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}


def _free(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """The names a function's body reads that it does not set itself (its globals, roughly:
    nested functions are taken with it)."""
    a = fn.args
    local = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []),
                              *([a.kwarg] if a.kwarg else [])]}
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    declared: set[str] = set()
    loads: set[str] = set()
    for stmt in body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Name):
                (loads if isinstance(sub.ctx, ast.Load) else local).add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                local |= {x.asname or x.name.split(".")[0] for x in sub.names}
            elif isinstance(sub, ast.Global):
                declared |= set(sub.names)
            elif isinstance(sub, ast.arg):
                local.add(sub.arg)
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                local.add(sub.name)
    return loads - (local - declared) | declared


def _outer(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    """What a definition reads where it is defined: decorators, defaults, annotations, bases."""
    names: set[str] = set()
    for d in fn.decorator_list:
        names |= _loads(d)
    if isinstance(fn, ast.ClassDef):
        for b in [*fn.bases, *[k.value for k in fn.keywords]]:
            names |= _loads(b)
    else:
        a = fn.args
        parts: list[ast.expr | None] = [*a.defaults, *a.kw_defaults, fn.returns,
                                        *[x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]]]
        for part in parts:
            names |= _loads(part)
    return names


def _uses(node: ast.AST) -> set[str]:
    """The top-level names a statement needs when it runs, or when what it defines is called."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _outer(node) | _free(node)
    if isinstance(node, ast.ClassDef):
        names = _outer(node)
        for stmt in node.body:
            names |= _uses(stmt)
        return names
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Lambda):
            names |= _free(sub)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            names.add(sub.id)
    return names


def _why_left_out(node: ast.stmt) -> str | None:
    """None when the statement is kept (``definitions`` mode); else why not, for the student."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)):
        return None
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return None  # a string standing alone: a comment
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if not all(isinstance(t, (ast.Name, ast.Tuple, ast.List)) and all(
                isinstance(s, (ast.Name, ast.Tuple, ast.List, ast.Starred, ast.Store, ast.Load)) for s in ast.walk(t)) for t in targets):
            return "it changes an object at the top level"
        if _constant(node.value):
            return None
        calls = [s for s in ast.walk(node.value) if isinstance(s, ast.Call)] if node.value else []
        call = next((c for c in calls if _dotted(c.func)), calls[0] if calls else None)
        what = f"{_dotted(call.func) or 'a call'}(...)" if call is not None else "code"
        return f"it assigns what {what} returns: top-level work"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        name = _dotted(node.value.func)
        if name in SETTINGS_CALLS:
            if all(_constant(a) for a in [*node.value.args, *(k.value for k in node.value.keywords)]):
                return None
            return (f"a settings call of {name}() whose arguments are not constants "
                    "(an argument made by a call other than a few pure ones is top-level work)")
        if name in ("print", "display", "plt.show", "plt.plot", "input") or name.startswith(("plt.", "sns.")):
            return f"a top-level call of {name}() (output, plots and input are not graded)"
        return f"a top-level call{' of ' + name + '()' if name else ''}"
    if isinstance(node, ast.stmt) and is_main_guard(node):
        return "an if __name__ == \"__main__\": block runs only as a script"
    if isinstance(node, ast.Try):
        if not all(_why_left_out(s) is None for s in _parts(node)):
            return "a try block that does top-level work"
        if _settings_in(node) and _binds(node):  # a settings call runs with its cell; an import, wherever it is needed
            return ("a try block that holds both settings calls and imports or definitions "
                    "(put the settings calls in a try block of their own)")
        return None
    kind = {ast.For: "a loop", ast.AsyncFor: "a loop", ast.While: "a loop", ast.With: "a with block",
            ast.AsyncWith: "a with block", ast.If: "an if block", ast.Delete: "a del", ast.Assert: "an assert",
            ast.Raise: "a raise", ast.Global: "a global statement", ast.Nonlocal: "a nonlocal statement"}
    for t, what in kind.items():
        if isinstance(node, t):
            return f"{what} at the top level"
    return f"top-level work ({type(node).__name__.lower()})"


def _span(node: ast.stmt) -> tuple[int, int]:
    start = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]])
    return start, node.end_lineno or node.lineno


def _segment(lines: list[str], node: ast.stmt, shared: bool) -> list[str]:
    """The statement's own lines; cut at its columns where it shares a line with another (``a = 1; f()``)."""
    start, end = _span(node)
    got = lines[start - 1:end]
    if shared and not getattr(node, "decorator_list", None):
        def chars(line: str, offset: int) -> int:  # ast's columns count UTF-8 bytes
            return len(line.encode()[:offset].decode("utf-8", "replace"))

        first = chars(got[0], node.col_offset)
        last = chars(got[-1], node.end_col_offset) if node.end_col_offset is not None else len(got[-1])
        got = [got[0][first:last]] if len(got) == 1 else [got[0][first:], *got[1:-1], got[-1][:last]]
    return got


def convert(path: Path, module: str, *, wanted: set[str] | None = None, mode: Mode = "definitions",
            notebook_name: str | None = None) -> NotebookModule:
    """The module ``module`` (a problem's file's stem) made from the notebook at ``path``.

    ``wanted``: the names the problem's template defines (None: keep every kept statement)."""
    name = notebook_name or path.name
    cells = read(path)
    kept_lines: list[str] = []
    mapping: list[tuple[int, int]] = []
    left: list[LeftOut] = []
    bad: list[tuple[Cell, str]] = []
    candidates: list[tuple[Cell, list[str], ast.stmt, bool]] = []  # (cell, its lines, statement, shares a line)
    for cell in cells:
        source, gone = _unmagic(cell.source)
        for n, what in gone:
            left.append(LeftOut(cell, n, n, what))
        if not source.strip():
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            bad.append((cell, f"{type(exc).__name__} at line {exc.lineno}: {exc.msg}"))
            continue
        except (ValueError, RecursionError, MemoryError) as exc:
            bad.append((cell, f"it cannot be read as Python ({type(exc).__name__})"))
            continue
        lines = source.split("\n")
        starts = [_span(s) for s in tree.body]
        for i, stmt in enumerate(tree.body):
            a, b = starts[i]
            shared = (i > 0 and starts[i - 1][1] >= a) or (i + 1 < len(starts) and starts[i + 1][0] <= b)
            candidates.append((cell, lines, stmt, shared))

    chosen: list[tuple[Cell, list[str], ast.stmt, bool]] = []
    need: set[str] = set()
    if mode == "cells":
        chosen = candidates
    else:
        whys = [_why_left_out(stmt) for _, _, stmt, _ in candidates]
        impostors = _impostors([(c, st) for (c, _, st, _), why in zip(candidates, whys) if why is None])
        keep = []
        for (cell, lines, stmt, shared), why in zip(candidates, whys):
            setting = next((n for n in _settings_in(stmt) if n.split(".")[0] in impostors), "")
            if why is None and setting:
                root = setting.split(".")[0]
                why = (f"a settings call of {setting}(), but {root} here is not the module "
                       f"{SETTINGS_MODULES[root]} (it is set in {impostors[root]})")
            if why is None:
                keep.append((cell, lines, stmt, shared))
            else:
                a, b = _span(stmt)
                left.append(LeftOut(cell, a, b, why, frozenset(_binds(stmt))))
        if wanted is None:
            chosen = keep
            for _, _, stmt, _ in keep:
                need |= _uses(stmt)
        else:
            marked, need = _needed(keep, wanted)
            chosen = [k for k, m in zip(keep, marked) if m]
            for (cell, _, stmt, _), m in zip(keep, marked):
                if not m and _setting(stmt):
                    a, b = _span(stmt)
                    left.append(LeftOut(cell, a, b, "a settings call in a cell that holds none of this problem's code "
                                                    "(settings calls run only for the problems whose code shares their cell)"))
            left.sort(key=lambda lo: (lo.cell.index, lo.line))
    defined: dict[str, list[Cell]] = {}
    for cell, lines, stmt, shared in chosen:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            continue  # the loader compiles every statement with the notebook's future flags
        a, _ = _span(stmt)
        seg = _segment(lines, stmt, shared)
        for k, text in enumerate(seg):
            kept_lines.append(text)
            mapping.append((cell.index, a + k))
        for bound in _binds(stmt):
            defined.setdefault(bound, []).append(cell)
    futures = any(isinstance(s, ast.ImportFrom) and s.module == "__future__" and any(a.name == "annotations" for a in s.names)
                  for _, _, s, _ in candidates)
    kept = "\n".join(kept_lines) + "\n"
    if futures:  # the loader looks for this text to compile with the flag (a comment: it changes nothing else)
        kept += "# from __future__ import annotations\n"
    import builtins

    needed_left: list[tuple[str, LeftOut]] = []
    if mode == "definitions":
        for lo in left:
            for missing in sorted(lo.names & need):
                if missing not in defined and not hasattr(builtins, missing) and all(missing != m for m, _ in needed_left):
                    needed_left.append((missing, lo))
    nb = NotebookModule(
        notebook=name, module=module, mode=mode, cells=cells, kept=kept, lines=mapping,
        left_out=left, needed_but_left_out=needed_left, bad_cells=bad, defined=defined,
        kept_cells=sorted({c.index for c, _, st, _ in chosen if not isinstance(st, (ast.Import, ast.ImportFrom, ast.Expr))}
                          or {c.index for c, _, _, _ in chosen}),
        kept_name=safe_name(name, module),
        needed=frozenset(need), wanted=tuple(sorted(wanted or ())),
    )
    return nb


def _needed(keep: list[tuple[Cell, list[str], ast.stmt, bool]], wanted: set[str]) -> tuple[list[bool], set[str]]:
    """Which kept statements the problem runs, and the names its code needs: the names its
    template defines, then every name the marked code uses, followed once each (a worklist,
    linear in the notebook's size: a hostile notebook cannot make this slow).

    A settings call is marked only with its cell: once the problem runs a function, class or
    constant from that cell, or, where the cell holds no function or class (a setup cell:
    imports, constants, settings), one of its imports. A ``from m import *`` runs for every
    problem, but does not bring its cell's settings calls with it."""
    binders: dict[str, list[int]] = {}
    settings: dict[int, list[int]] = {}  # cell index -> its settings calls
    defining = {cell.index for cell, _, stmt, _ in keep if _defines(stmt, functions_only=True)}
    marked = [False] * len(keep)
    queue: list[int] = []
    for i, (cell, _, stmt, _) in enumerate(keep):
        if _setting(stmt):
            settings.setdefault(cell.index, []).append(i)
        elif isinstance(stmt, ast.ImportFrom) and any(x.name == "*" for x in stmt.names):
            marked[i] = True
            queue.append(i)
        for bound in _binds(stmt):
            binders.setdefault(bound, []).append(i)
    active: set[int] = set()  # the cells whose settings calls run
    need: set[str] = set()
    names: list[str] = list(wanted)
    while names or queue:
        while queue:
            names.extend(_uses(keep[queue.pop()][2]) - need)
        if not names:
            break
        used = names.pop()
        if used in need:
            continue
        need.add(used)
        for i in binders.get(used, []):
            if marked[i]:
                continue
            marked[i] = True
            queue.append(i)
            index, stmt = keep[i][0].index, keep[i][2]
            if index not in active and (_defines(stmt) or index not in defining):
                active.add(index)
                for j in settings.get(index, []):
                    if not marked[j]:
                        marked[j] = True
                        queue.append(j)
    return marked, need


def _parts(node: ast.Try) -> list[ast.stmt]:
    return [*node.body, *node.orelse, *node.finalbody, *[s for h in node.handlers for s in h.body]]


def _settings_in(node: ast.stmt) -> list[str]:
    """The names of the settings calls ``node`` is, or (a try block) holds."""
    if isinstance(node, ast.Try):
        return [name for part in _parts(node) for name in _settings_in(part)]
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        name = _dotted(node.value.func)
        return [name] if name in SETTINGS_CALLS else []
    return []


def _setting(node: ast.stmt) -> str:
    """The (first) settings call's name (``torch.manual_seed``) where ``node`` is one standing
    alone, or a try block of them that sets no name; else ""."""
    names = _settings_in(node)
    return names[0] if names and not _binds(node) else ""


def _defines(node: ast.stmt, functions_only: bool = False) -> bool:
    """Whether a kept statement is (or holds) a function or class definition, or (unless
    ``functions_only``) a constant: more than imports."""
    if isinstance(node, ast.Try):
        return any(_defines(s, functions_only) for s in _parts(node))
    kinds: tuple[type[ast.stmt], ...] = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return isinstance(node, kinds if functions_only else (*kinds, ast.Assign, ast.AnnAssign, ast.AugAssign))


def _impostors(kept: list[tuple[Cell, ast.stmt]]) -> dict[str, str]:
    """The first names of settings calls (``torch``, ``np``, ...) that kept code binds to
    something other than the module itself (``class torch: ...``, ``from x import torch``),
    and where: a settings call on such a name would call the student's code."""
    found: dict[str, str] = {}

    def visit(cell: Cell, node: ast.stmt) -> None:
        if isinstance(node, ast.Try):
            for s in _parts(node):
                visit(cell, s)
            return
        for root in _binds(node) & SETTINGS_MODULES.keys():
            module = SETTINGS_MODULES[root]
            if isinstance(node, ast.Import) and all(
                    (a.name if a.asname else a.name.split(".")[0]) == module
                    for a in node.names if (a.asname or a.name.split(".")[0]) == root):
                continue
            found.setdefault(root, f"{cell.label}, line {_span(node)[0]}")
    for cell, node in kept:
        visit(cell, node)
    return found


def _would_set(source: str) -> set[str]:
    """The top-level names a cell that does not parse looks as if it sets (its lines that
    start a definition, an assignment or an import)."""
    names: set[str] = set()
    for m in re.finditer(r"^(?:async\s+def|def|class)\s+(\w+)|^(\w+)\s*(?::[^=]*)?=(?!=)|^(?:from\s+\S+\s+)?import\s+(.+)$",
                         source, re.M):
        if m[1] or m[2]:
            names.add(m[1] or m[2])
        else:
            for part in m[3].split(","):
                bits = part.strip().strip("()").split()
                if bits:
                    names.add(bits[-1].split(".")[0])
    return names


def safe_name(notebook: str, module: str) -> str:
    """The kept code's file name in the worker: the notebook's, with only safe characters
    (it is the upload's name), never the module's own file."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", notebook).strip(".") or "notebook.ipynb"
    if not safe.endswith(".ipynb"):
        safe += ".ipynb"
    return safe if safe != f"{module}.py" else f"{module}.notebook.ipynb"


def template_names(template: Path) -> set[str] | None:
    """The top-level names a problem's template defines (what its checks may ask for), or None
    where the template cannot be read."""
    try:
        tree = ast.parse(template.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or is_main_guard(node):
            continue
        names |= _binds(node)
    return {n for n in names if not n.startswith("__")} or None


def load_failures(raw: Any) -> list[tuple[int, str]]:
    """What the loader reported raising (untrusted: only well-formed, small entries are kept)."""
    out: list[tuple[int, str]] = []
    if isinstance(raw, list):
        for item in raw[:50]:
            if (isinstance(item, list) and len(item) == 2 and isinstance(item[0], int) and not isinstance(item[0], bool)
                    and isinstance(item[1], str)):
                out.append((item[0], item[1][:300]))
    return out
