"""What of a student's file runs: all of it but the bodies of its top-level
``if __name__ == "__main__":`` blocks (the student's own try-out code, which an import never
runs, and which the grader removes before it compiles the file, so that nothing can make it
run either: not a ``__name__`` set to ``"__main__"``, not a function that enters it).

The trusted side reads a file with the same rule (``grader._byhand``): what a check reads is
exactly what the worker runs, every function body and every nested block included. Standard
library only, as the rest of the worker side.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from types import CodeType, ModuleType


def is_main_guard(node: ast.AST) -> bool:
    """Whether ``node`` is an ``if __name__ == "__main__":`` block (either operand order)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def parse(source: bytes | str, filename: str = "<student>") -> ast.Module:
    """``source`` parsed as the import parses it (bytes: its BOM and coding line honoured)."""
    return ast.parse(source, filename)


def runnable(tree: ast.Module) -> ast.Module:
    """``tree`` with the body of every top-level main block replaced by ``pass`` (its
    ``else:`` stays: an import runs that). Line numbers are kept, so a traceback points at
    the student's own lines."""
    for node in tree.body:
        if is_main_guard(node):
            assert isinstance(node, ast.If)
            first = node.body[0]
            node.body = [ast.copy_location(ast.Pass(), first)]
    return tree


def main_lines(tree: ast.Module) -> set[int]:
    """The line numbers of the bodies ``runnable`` removes (a check reads around them)."""
    lines: set[int] = set()
    for node in tree.body:
        if is_main_guard(node):
            assert isinstance(node, ast.If)
            lines.update(range(node.body[0].lineno, (node.body[-1].end_lineno or node.body[-1].lineno) + 1))
    return lines


def compile_student(path: str) -> CodeType:
    """The code object the worker runs for the student's file at ``path``."""
    with open(path, "rb") as f:
        data = f.read()
    return compile(runnable(parse(data, path)), path, "exec", dont_inherit=True)


def import_student(path: str, module_name: str) -> ModuleType:
    """Import the file at ``path`` as ``module_name``, its top-level main blocks left out."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    exec(compile_student(path), module.__dict__)  # noqa: S102 - the student's own file, in their worker
    return module
