"""Static checks of course material, for ``grader validate``: what can be found wrong in a
rubric's test modules and drivers by reading them, before any student's code runs.

A check reaches its problem's driver by name: ``submission.call("fold", ...)``,
``submission.prepare("net2_forward", ...)``, ``speed_ratio(submission, baseline,
"folded_forward", baseline_fn="train_forward", ...)``. A name that the driver does not
define, or keyword arguments that its function cannot take, would otherwise show only when
a student is graded (as "the grader itself failed", see ``DriverBug`` in
grader/_worker/). Names given by a variable, and drivers that define their functions in
ways a reading cannot follow (``from x import *``, ``globals()``, a module ``__getattr__``),
are left to that run-time check.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # _course runs this module's check when it loads an assignment
    from .layout import Assignment
    from .models import Rubric

_GIVEN = {"student", "device"}  # what the worker passes every driver function itself
_OURS = {"context"}  # what ProblemRun.call keeps for itself


@dataclass(frozen=True)
class _Use:
    name: str
    line: int
    how: str  # "call", "prepare"
    keywords: tuple[str, ...] | None  # None: not known here (a ** argument, or values given as a dict)
    module: Path = Path()


def _uses(tree: ast.Module, module: Path = Path()) -> list[_Use]:
    imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names}
    uses = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (isinstance(f, ast.Attribute) and f.attr in ("call", "prepare", "function") and isinstance(f.value, ast.Name)
                and f.value.id not in imported and node.args):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                splat = any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args)
                keywords = None if splat else tuple(k.arg for k in node.keywords if k.arg is not None and k.arg not in _OURS)
                uses.append(_Use(first.value, node.lineno, f.attr, keywords, module))
        elif (isinstance(f, ast.Name) and f.id == "speed_ratio") or (isinstance(f, ast.Attribute) and f.attr == "speed_ratio"):
            names = [node.args[2]] if len(node.args) >= 3 else []
            names += [k.value for k in node.keywords if k.arg in ("fn", "baseline_fn")]
            for n in names:
                if isinstance(n, ast.Constant) and isinstance(n.value, str):
                    uses.append(_Use(n.value, node.lineno, "prepare", None, module))
    return sorted(uses, key=lambda u: u.line)


def _defined(tree: ast.Module) -> tuple[dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None], bool]:
    """The names a driver module binds at its top level (a function's node, or None for a name
    bound otherwise), and whether that list can be trusted (False: it binds names dynamically)."""
    names: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None] = {}
    complete = True
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in ("globals", "vars", "exec", "setattr"):
            complete = False

    def visit(body: list[ast.stmt]) -> None:
        nonlocal complete
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names[node.name] = node
                if node.name == "__getattr__":
                    complete = False
            elif isinstance(node, ast.ClassDef):
                names[node.name] = None
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                if isinstance(node, ast.AnnAssign) and node.value is None:
                    continue  # `plain: Callable[..., Any]`: a declaration (the worker provides it), not a binding
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            names[n.id] = None
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    if a.name == "*":
                        complete = False
                    else:
                        names[(a.asname or a.name).split(".")[0]] = None
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for part in ("body", "orelse", "finalbody"):
                    visit(getattr(node, part, []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)

    visit(tree.body)
    return names, complete


def _signature_problem(fn: ast.FunctionDef | ast.AsyncFunctionDef, keywords: tuple[str, ...]) -> str | None:
    a = fn.args
    positional = [p.arg for p in a.posonlyargs + a.args]
    if not positional:
        return "takes no argument for the student's module (its first parameter)"
    named = positional[1:] + [p.arg for p in a.kwonlyargs]
    if a.vararg is None and a.kwarg is None:
        unknown = [k for k in keywords if k not in named]
        if unknown:
            return f"takes no argument {', '.join(map(repr, unknown))}"
    n_pos_defaults = len(a.defaults)
    required = [p for i, p in enumerate(positional[1:]) if i < len(positional) - 1 - n_pos_defaults]
    required += [p.arg for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
    missing = [p for p in required if p not in keywords and p not in _GIVEN]
    if missing:
        return f"needs {', '.join(map(repr, missing))}, which this call does not give"
    return None


def driver_call_problems(assignment: Assignment, rubric: Rubric | None = None) -> list[str]:
    """Every call of a check that names a driver function its problem's driver does not
    define, or gives it keyword arguments its definition cannot take: each an authoring
    error, naming the test module (and line), the driver file and the function."""
    problems = []
    root = assignment.root
    rubric = rubric or assignment.rubric

    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(root))
        except ValueError:
            return str(p)

    for problem in rubric.problems:
        driver, own = assignment.driver(problem), assignment.has_driver(problem)
        template = assignment.template_file(problem.file)
        try:
            uses = [u for test in assignment.test_modules(problem)
                    for u in _uses(ast.parse(test.read_text(encoding="utf-8"), filename=str(test)), test)]
            names, complete = _defined(ast.parse(driver.read_text(encoding="utf-8"), filename=str(driver)))
            given, given_complete = _defined(ast.parse(template.read_text(encoding="utf-8"), filename=str(template)))
        except SyntaxError as exc:
            problems.append(f"{rel(Path(exc.filename or template))}:{exc.lineno}: does not parse: {exc.msg}")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"cannot read {exc}")
            continue
        functions = sorted(n for n, node in names.items() if node is not None and not n.startswith("_"))
        for use in uses:
            where = f"{rel(use.module)}:{use.line}: {use.how}({use.name!r})"
            if use.how == "function":  # the student's own function: the template must define it
                if use.name not in given and given_complete:
                    problems.append(f"{where} names a function {assignment.describe_template(problem.file)} does not define, so no "
                                    "student is asked to write it")
                continue
            if not own:
                problems.append(f"{where}: problem {problem.id!r} has no driver (rubrics/{assignment.id}/drivers/"
                                f"{problem.id}.py): call the student's functions with submission.function(...), "
                                "or write that driver")
                continue
            if use.name not in names:
                if complete:
                    problems.append(f"{where} names a function the driver {rel(driver)} does not define "
                                    f"(its functions: {', '.join(functions) or 'none'})")
                continue
            fn = names[use.name]
            if fn is not None and use.keywords is not None:
                why = _signature_problem(fn, use.keywords)
                if why:
                    problems.append(f"{where}: the driver {rel(driver)}'s {use.name}() {why}")
    return problems
