"""Reading a by-hand solution: every name it uses must be one the problem allows.

A problem that forbids a tool (``[problems.by_hand]`` in its rubric: "without autograd",
"without a ready-made log-sum-exp") is judged from an allow-list, never from a list of what is
forbidden: ``refusals`` reads the whole file as the worker runs it (``grader._worker.source``:
every function body and nested block, whatever guards it; only the bodies of top-level
``if __name__ == "__main__":`` blocks are left out, because the worker removes them before the
file runs) and reports every

- module imported that the vocabulary does not hold (``import threading``), and every relative
  or ``*`` import;
- attribute, or name imported from a module, that is neither in the vocabulary nor one of the
  file's own (``x.grad_fn``, ``from torch import autograd``);
- builtin used that the vocabulary does not hold (``getattr``, ``eval``, ``open``), unless the
  name is a local variable of the function that uses it;
- dunder name other than the module's own ``__name__``, ``__doc__`` and ``__file__``
  (``__builtins__``, ``__loader__``).

A file's own attributes are those it assigns (``self.cache = ...``) or defines in a class body.
Where torch, numpy or Python already use such a name (a layer class's ``backward``), the worker
renames every use of it in the file (``renames``, ``grader._worker.source.rename``), so that it
reaches the file's own objects only: ``layer.backward(g)`` calls the student's method and
``loss.backward()`` finds nothing. What the file calls its variables, functions and parameters
is its own business: a name that is not a builtin is either bound by the file or undefined.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator

from .vocabulary import BASES, DUNDER_DEFINITIONS, VOCABULARIES
from .._worker.source import parse, runnable

if TYPE_CHECKING:
    from .._course.models import ByHand

UNREADABLE = "line 1: a file the grader cannot read as Python source"
_BUILTIN_NAMES = frozenset(dir(builtins))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp)


@dataclass(frozen=True)
class Allowed:
    """What a by-hand solution may use: importable modules, builtins, attribute names."""

    modules: frozenset[str]
    builtins: frozenset[str]
    attributes: frozenset[str]

    @classmethod
    def of(cls, policy: ByHand) -> Allowed:
        modules, names, attributes = VOCABULARIES[policy.vocabulary]
        also, less = frozenset(policy.allow), frozenset(policy.exclude)
        return cls(modules=(modules | also) - less, builtins=(names | also) - less, attributes=(attributes | also) - less)


def refusals(source: bytes | str, allowed: Allowed) -> list[str]:
    """Every place in ``source`` that uses what ``allowed`` does not hold, as
    ``"line 12: .grad_fn (...)"``, in line order; ``[]`` when it uses nothing else. A file that
    cannot be read as Python reads it is refused whole."""
    try:
        tree = runnable(parse(source))  # decoded and parsed as the worker does
    except (SyntaxError, ValueError, RecursionError, UnicodeDecodeError, LookupError):
        return [UNREADABLE]
    return _Reader(tree, allowed).read()


class _Reader:
    def __init__(self, tree: ast.Module, allowed: Allowed) -> None:
        self.tree, self.allowed = tree, allowed
        self.found: set[tuple[int, str]] = set()
        self.own = _own_attributes(tree)  # those torch also uses are renamed in the worker (``renames``)
        self.classes = _own_classes(tree)

    def refuse(self, node: ast.AST, what: str) -> None:
        self.found.add((getattr(node, "lineno", 1), what))

    def read(self) -> list[str]:
        self._scope(self.tree, ())
        return [f"line {line}: {what}" for line, what in sorted(self.found)]

    def _scope(self, scope: ast.AST, functions: tuple[frozenset[str], ...]) -> None:
        """Read what belongs to ``scope``; ``functions``: the names bound in each enclosing
        function scope, innermost last (a class body's names are not seen from inside it)."""
        if isinstance(scope, _FUNCTIONS):
            functions = (*functions, _bound(scope))
        elif isinstance(scope, (ast.Module, ast.ClassDef)):
            functions = ()  # a module's or class body's names resolve to globals, then builtins
        for node in _own_nodes(scope):
            if isinstance(node, _SCOPES):
                self._definition(node)
                self._scope(node, functions)
            else:
                self._node(node, functions)

    def _definition(self, node: ast.AST) -> None:
        """A def or class statement: a dunder it defines must be one of an operator's (not a hook
        by which Python looks names up or builds classes); a class derives only from the file's
        own classes and plain bases, with no metaclass or class keywords."""
        name = getattr(node, "name", "")
        if name.startswith("__") and name.endswith("__") and name not in DUNDER_DEFINITIONS:
            self.refuse(node, f"def {name} (a hook of Python's this problem does not allow a file to define)")
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                last = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
                if last is None or not (last in BASES or (isinstance(base, ast.Name) and last in self.classes)):
                    self.refuse(node, f"class {name}({ast.unparse(base)}) (a class of yours may derive only from your own "
                                      "classes and plain bases such as object, NamedTuple or an exception)")
            for kw in node.keywords:
                self.refuse(node, f"class {name}(..., {kw.arg}=...) (class keywords and metaclasses are not allowed here)")

    def _node(self, node: ast.AST, functions: tuple[frozenset[str], ...]) -> None:
        a = self.allowed
        if isinstance(node, ast.Name):
            self._name(node, node.id, functions)
        elif isinstance(node, ast.Attribute):
            self._attribute(node, node.attr, isinstance(node.ctx, ast.Load))
        elif isinstance(node, ast.MatchClass):
            for attr in node.kwd_attrs:
                self._attribute(node, attr, True)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in a.modules:
                    self.refuse(node, f"import {alias.name} (not a module this problem allows)")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                self.refuse(node, f"from {'.' * node.level}{module} import ... (a module of your own)")
            elif module not in a.modules:
                self.refuse(node, f"from {module} import ... (not a module this problem allows)")
                return
            for alias in node.names:
                if alias.name == "*":
                    self.refuse(node, f"from {module} import * (import the names you use one by one)")
                elif alias.name not in a.attributes and f"{module}.{alias.name}" not in a.modules:
                    self.refuse(node, f"from {module} import {alias.name} (not among the names this problem allows)")

    def _name(self, node: ast.Name, name: str, functions: tuple[frozenset[str], ...]) -> None:
        a = self.allowed
        if name.startswith("__") and name.endswith("__"):
            if name not in a.builtins:
                self.refuse(node, f"{name} (the interpreter's own names are not allowed here)")
            return
        if name not in _BUILTIN_NAMES or name in a.builtins:
            return  # the file's own name (or an undefined one), or an allowed builtin
        if isinstance(node.ctx, ast.Store):
            return  # binding a name reaches nothing; reading it is what is judged
        if any(name in bound for bound in functions):
            return  # a variable of that name in this function or one around it
        self.refuse(node, f"{name} (a builtin this problem does not allow; if it is a variable of yours, rename it)")

    def _attribute(self, node: ast.AST, attr: str, load: bool) -> None:
        a = self.allowed
        if attr in self.own or (attr in a.attributes and not (attr.startswith("__") and not load)):
            return
        if load:
            self.refuse(node, f".{attr} (not among the names this problem allows)")
        else:
            self.refuse(node, f".{attr} = ... (an attribute torch, numpy or Python already has; name yours otherwise)")


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bound(scope: ast.AST) -> frozenset[str]:
    """The names a function-like scope binds itself (its parameters, what it assigns, imports,
    defines or catches, its loop and comprehension targets), less those it declares global.
    Where this errs, it errs towards "not bound": a builtin's name is then refused, never let by."""
    names: set[str] = set()
    glob: set[str] = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        names.update(a.arg for a in _arguments(scope.args))
    for node in _own_nodes(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((al.asname or al.name).split(".")[0] for al in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        elif isinstance(node, ast.Nonlocal):
            names.update(node.names)
        elif isinstance(node, ast.Global):
            glob.update(node.names)
    return frozenset(names - glob)


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes that belong to ``scope`` itself: a nested scope comes as one node (read on its
    own), preceded by its parts that Python evaluates in this scope (defaults, decorators,
    annotations, bases, a comprehension's first iterable) with their insides."""
    stack: list[ast.AST] = list(_inside(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            stack.extend(_outside(node))
            yield node
        else:
            yield node
            stack.extend(ast.iter_child_nodes(node))


def _inside(scope: ast.AST) -> list[ast.AST]:
    """The parts of ``scope`` that run in it."""
    if isinstance(scope, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return list(scope.body)
    if isinstance(scope, ast.Lambda):
        return [scope.body]
    if isinstance(scope, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return [scope.elt, *_generators(scope.generators)]
    if isinstance(scope, ast.DictComp):
        return [scope.key, scope.value, *_generators(scope.generators)]
    return list(ast.iter_child_nodes(scope))


def _outside(scope: ast.AST) -> list[ast.AST]:
    """The parts of a nested scope that the enclosing scope evaluates."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = scope.args
        annotations = [a.annotation for a in _arguments(args) if a.annotation is not None]
        return [*args.defaults, *[d for d in args.kw_defaults if d is not None], *scope.decorator_list, *annotations,
                *([scope.returns] if scope.returns is not None else [])]
    if isinstance(scope, ast.Lambda):
        return [*scope.args.defaults, *[d for d in scope.args.kw_defaults if d is not None]]
    if isinstance(scope, ast.ClassDef):
        return [*scope.bases, *scope.keywords, *scope.decorator_list]
    if isinstance(scope, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        return [scope.generators[0].iter]
    return []


def _arguments(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args, *([args.vararg] if args.vararg else []), *args.kwonlyargs,
            *([args.kwarg] if args.kwarg else [])]


def _generators(generators: list[ast.comprehension]) -> list[ast.AST]:
    out: list[ast.AST] = []
    for i, g in enumerate(generators):
        out += [g.target, *g.ifs] + ([g.iter] if i else [])
    return out


def _own_attributes(tree: ast.AST) -> frozenset[str]:
    """Attribute names the file makes its own: assigned or deleted (``x.name = ...``), or
    defined in a class body (methods, class attributes, a dataclass's fields). Dunders never."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(stmt.name)
                elif isinstance(stmt, ast.Assign):
                    names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
                elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    names.add(stmt.target.id)
    return frozenset(n for n in names if not (n.startswith("__") and n.endswith("__")))


def _own_classes(tree: ast.AST) -> frozenset[str]:
    """Names the file binds to its own classes and to nothing else."""
    classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    other = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    other |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    other |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
              for a in n.names}
    return frozenset(classes - other)


def renames(source: bytes | str, allowed: Allowed) -> dict[str, str]:
    """The file's own attribute names that torch, numpy or Python also use and the allow-list
    does not hold (a layer's ``backward``), each with the name the worker gives it
    (``backward__own``: ``grader._worker.source.rename``), so that it reaches only the file's
    own objects. Empty for a file that cannot be read (its import fails anyway)."""
    try:
        tree = runnable(parse(source))
    except (SyntaxError, ValueError, RecursionError, UnicodeDecodeError, LookupError):
        return {}
    clash = sorted((_own_attributes(tree) - allowed.attributes) & _taken())
    if not clash:
        return {}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | _taken()
    out = {}
    for name in clash:
        new = f"{name}__own"
        while new in used:
            new += "_"
        out[name] = new
    return out


@lru_cache(maxsize=1)
def _taken() -> frozenset[str]:
    """Every attribute name that the objects a by-hand solution can reach already have: torch's,
    numpy's and the allowed modules' own, tensors', arrays', autograd graph nodes', Python's
    values', functions', frames' and code objects'. A file cannot make one of these its own."""
    import abc
    import cmath
    import collections
    import copy
    import dataclasses
    import enum
    import functools
    import itertools
    import math
    import random
    import statistics
    import time
    import types
    import typing
    import warnings

    import numpy
    import torch
    import torch.autograd.graph
    import torch.nn.functional

    node = (torch.ones(1, requires_grad=True) * 2).grad_fn
    reach: list[object] = [
        torch, torch.Tensor, torch.nn, torch.nn.functional, torch.linalg, torch.fft, torch.special, torch.autograd,
        torch.autograd.graph, torch.autograd.graph.Node, type(node), torch.nn.Module, torch.nn.Parameter, torch.Size,
        torch.dtype, torch.device, torch.Generator, torch.UntypedStorage, torch.finfo, torch.iinfo,
        numpy, numpy.ndarray, numpy.generic, numpy.dtype, numpy.linalg, numpy.random,
        math, cmath, typing, dataclasses, functools, itertools, collections, copy, random, time, warnings, abc, enum,
        statistics, builtins, object, type, types.FunctionType, types.ModuleType, types.FrameType, types.CodeType,
        types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType, types.TracebackType, types.MethodType,
        types.BuiltinFunctionType, types.CellType, types.MappingProxyType, BaseException, list, dict, tuple, set,
        frozenset, str, bytes, bytearray, int, float, complex, bool, range, slice, property, staticmethod,
        classmethod, super, functools.partial, type({}.items()), type(iter([])), enumerate, zip, map, filter,
        reversed, memoryview,
    ]
    return frozenset(name for obj in reach for name in dir(obj))
