"""What of a student's file runs: all of it but the bodies of its top-level
``if __name__ == "__main__":`` blocks (the student's own try-out code, which an import never
runs, and which the grader removes before it compiles the file, so that nothing can make it
run either: not a ``__name__`` set to ``"__main__"``, not a function that enters it).

The trusted side reads a file with the same rule (``grader._byhand.reading``): what a check reads is
exactly what the worker runs, every function body and every nested block included.

For a by-hand problem, the trusted side may also send names to rename: attribute names the
file makes its own (a layer class's ``backward`` method) that torch or Python also use
(``Tensor.backward``). Every use of such a name in the file, as an attribute, as a method or
class attribute defined in a class body, or as a keyword given to one of the file's
dataclasses, is renamed (``backward`` ->
``backward__own``), so that it reaches the file's own objects only: ``layer.backward(g)``
still calls the student's method, and ``loss.backward()`` on a tensor finds no such
attribute. Standard library only, as the rest of the worker side.
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
    """``source`` parsed as the import reads it: bytes are decoded first, their BOM, coding line
    and line endings as ``importlib.util.decode_source`` takes them (the trusted side's reading
    decodes the same way, so both see one text)."""
    if isinstance(source, bytes):
        try:
            source = importlib.util.decode_source(source)
        except (UnicodeDecodeError, SyntaxError, LookupError):
            ast.parse(source, filename)  # Python's own SyntaxError for it ("(unicode error) ...")
            raise SyntaxError(f"{filename}: its bytes cannot be read in the encoding it declares") from None
    return ast.parse(source.removeprefix("\ufeff"), filename)


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


def rename(tree: ast.Module, names: dict[str, str]) -> ast.Module:
    """``tree`` with every use of the attribute names ``names`` maps renamed (see above)."""
    if not names:
        return tree
    # A dataclass's fields are also its constructor's keywords: Cache(grad=g) names the field.
    dataclasses = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and any(
        isinstance(t := (d.func if isinstance(d, ast.Call) else d), (ast.Name, ast.Attribute))
        and (t.id if isinstance(t, ast.Name) else t.attr) == "dataclass" for d in n.decorator_list)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in dataclasses:
            for kw in node.keywords:
                if kw.arg in names:
                    kw.arg = names[kw.arg]
        if isinstance(node, ast.Attribute) and node.attr in names:
            node.attr = names[node.attr]
        elif isinstance(node, ast.MatchClass):
            node.kwd_attrs = [names.get(a, a) for a in node.kwd_attrs]
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name in names:
                    stmt.name = names[stmt.name]
                for sub in _class_level(stmt):
                    if isinstance(sub, ast.Name) and sub.id in names:
                        sub.id = names[sub.id]
    return tree


def _class_level(stmt: ast.stmt) -> list[ast.AST]:
    """The nodes of a class body's statement that run in the class's own namespace (not in a
    method or a nested class: their names are not the class's attributes)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
                             ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def main_lines(tree: ast.Module) -> set[int]:
    """The line numbers of the bodies ``runnable`` removes (a check reads around them)."""
    lines: set[int] = set()
    for node in tree.body:
        if is_main_guard(node):
            assert isinstance(node, ast.If)
            lines.update(range(node.body[0].lineno, (node.body[-1].end_lineno or node.body[-1].lineno) + 1))
    return lines


def prepare(tree: ast.Module, names: dict[str, str] | None = None) -> ast.Module:
    """What the worker runs of a parsed file: its top-level main blocks' bodies left out, and
    the ``names`` renamed."""
    return rename(runnable(tree), names or {})


def compile_student(path: str, names: dict[str, str] | None = None) -> CodeType:
    """The code object the worker runs for the student's file at ``path``."""
    with open(path, "rb") as f:
        data = f.read()
    return compile(prepare(parse(data, path), names), path, "exec", dont_inherit=True)


def import_student(path: str, module_name: str, names: dict[str, str] | None = None, loader: bool = False) -> ModuleType:
    """Import the file at ``path`` as ``module_name``, as ``prepare`` makes it. With ``loader``
    (the trusted side says so: a module the grader wrote to run a notebook's kept code), the
    file itself is not renamed, and it finds ``__grader_prepare__`` among its globals, to
    prepare the student's code it runs the same way."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    if loader:
        module.__dict__["__grader_prepare__"] = lambda tree: prepare(tree, names)
    exec(compile_student(path, None if loader else names), module.__dict__)  # noqa: S102 - the student's own file
    module.__dict__.pop("__grader_prepare__", None)
    return module


def dotted(node: ast.AST) -> str:
    """The dotted name an expression spells (``torch.nn.functional.relu``), "" when it is
    not a chain of attributes on a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""
