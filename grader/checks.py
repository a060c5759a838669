"""Checks for rubric tests: each one either passes or raises ``CheckFailed`` with a message
written for the student: what was compared, by how much it was off, where, and the
tolerance with the reason for it.

Why one module of about 780 lines: it is the public surface a course's checks import
(``from grader.checks import ...``, one import for an author, documented in
docs/authoring.md); its checks share the message style and ``Tolerance``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
import random
import secrets
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterator, ParamSpec, Sequence, TypeVar, cast

from ._exceptions import CheckFailed, ConfigError, FreezeBroken, FreezeEscaped, NotWritten, freeze_escaped, StudentError, StudentFault, WorkerCrashed, WorkerTimeout, WrongAnswer
from ._worker.source import dotted as _dotted

if TYPE_CHECKING:
    import torch

    from ._grading.runs import ProblemRun
    from .fixtures import Submission

__all__ = ["CheckFailed", "Faults", "Tolerance", "WrongAnswer", "all_faults", "as_shaped", "cached", "close", "close_all",
           "input_changes", "note", "that", "mentions", "without", "Timing", "speed_ratio"]

_notes: list[str] = []


def note(message: str) -> None:
    """Record what a passing check measured; it is shown with the test's result."""
    _notes.append(message)


def take_notes() -> str:
    """The notes recorded since the last call (the plugin calls this once per test)."""
    text = "\n".join(_notes)
    _notes.clear()
    return text


# Diagnosis (grader/_grading/diagnosis.py): while the plugin observes, every comparison that
# ``close`` and ``close_all`` make is kept, in order, with what came and the tolerance, so that
# a student's answers can be matched with a known mistake's on the same inputs.
MAX_OBSERVED = 1_000_000  # entries of one comparison's answer kept; a bigger one is noted, not kept
MAX_OBSERVED_ITEMS = 4096  # tensors of one close_all answer kept (a list of more is noted, not kept)


@dataclass(frozen=True)
class Observation:
    """One comparison a check made: what came (CPU copies of the tensors; None where it was not
    a tensor or a list of tensors, or too big to keep), the tolerance, and whether it matched."""

    items: tuple[torch.Tensor | None, ...] | None
    tol: Tolerance | None
    matched: bool
    # ``that(..., answer=)``: an answer compared exactly (numbers, strings, and lists and dicts
    # of them, as plain Python data); None with ``items`` for a tensor comparison
    answer: Any = None


_observing: list[bool] = []  # [True] while the plugin observes; speed_ratio pauses it (its inputs are drawn anew)
_observed: list[Observation] = []


def observe(on: bool) -> None:
    """Start (or stop) keeping comparisons; either way forgets those kept so far."""
    _observing[:] = [on]
    _observed.clear()


def take_observations() -> list[Observation]:
    """The comparisons kept since the last call, in the order they were made."""
    out = list(_observed)
    _observed.clear()
    return out


def within(got: torch.Tensor, other: torch.Tensor, tol: Tolerance) -> bool:
    """Whether ``got`` equals ``other`` within ``tol`` as ``close`` judges it (shapes equal,
    dtypes aside): two answers to one comparison told apart, for a diagnosis."""
    return not _mismatch(got, other, tol, None, check_dtype=False)


@contextmanager
def _unobserved() -> Iterator[None]:
    was = list(_observing)
    _observing[:] = [False]
    try:
        yield
    finally:
        _observing[:] = was


def _keep(got: Any, tol: Tolerance, matched: bool, many: bool) -> None:
    if not (_observing and _observing[0]):
        return
    import torch

    def copy(t: Any) -> torch.Tensor | None:
        if type(t) is not torch.Tensor or t.numel() > MAX_OBSERVED:  # noqa: E721 - a subclass could act on the trusted side
            return None
        return t.detach().to("cpu", copy=True)

    items: tuple[torch.Tensor | None, ...] | None = None
    if not many:
        items = (copy(got),)
    elif isinstance(got, (list, tuple)) and len(got) <= MAX_OBSERVED_ITEMS and sum(
            t.numel() for t in got if type(t) is torch.Tensor) <= MAX_OBSERVED:  # noqa: E721
        items = tuple(copy(g) for g in got)
    _observed.append(Observation(items=items, tol=tol, matched=matched))


@dataclass(frozen=True)
class Tolerance:
    """|got - expected| <= atol + rtol * |expected|, elementwise; ``why`` is told to the student.

    ``of_largest``: atol grows by this times the largest |entry| of the tensor compared, each
    tensor its own (``Tolerance.of_each``): a tolerance scaled to all of a problem's quantities
    together would let a wrong small one hide under a large one (a first layer's gradients of
    1e-5 next to a last layer's of 1)."""

    rtol: float
    atol: float
    why: str
    of_largest: float = 0.0

    def describe(self) -> str:
        return f"|got - expected| <= {self.atol:.1e} + {self.rtol:.1e} * |expected|  ({self.why})"

    @classmethod
    def of_each(cls, rtol: float, of_largest: float, why: str, atol: float = 0.0) -> Tolerance:
        """rtol, and atol = ``atol`` + ``of_largest`` times the largest |entry| of each tensor
        compared (of that tensor alone: each layer, each quantity its own scale)."""
        return cls(rtol=rtol, atol=atol, why=why, of_largest=of_largest)

    def on(self, expected: torch.Tensor) -> Tolerance:
        """The tolerance for comparing with ``expected``: with ``of_largest``, atol scaled to
        its largest |entry|, and said so."""
        if not self.of_largest:
            return self
        import torch

        e = expected.detach()
        if not (e.is_floating_point() or e.is_complex()):  # (bool and integer answers: abs() refuses bool)
            e = e.to(torch.float64)
        largest = float(e.abs().max()) if e.numel() else 0.0
        return Tolerance(rtol=self.rtol, atol=self.atol + self.of_largest * largest,
                         why=f"{self.why}; atol is {self.of_largest:.0e} times this tensor's largest |entry|, {largest:.3g}")

    @classmethod
    def default(cls, dtype: torch.dtype, why: str | None = None) -> Tolerance:
        """``torch.testing.assert_close``'s default tolerance for ``dtype`` (float64: rtol 1e-7,
        atol 1e-7; float32: 1.3e-6, 1e-5; float16: 1e-3, 1e-5; bfloat16: 1.6e-2, 1e-5;
        integers and bool: exact), with ``why`` told to the student (default: where it comes from).
        Right for one operation's rounding; a long computation needs a looser one, said why."""
        rtol, atol = _defaults().get(dtype, (0.0, 0.0))
        name = str(dtype).removeprefix("torch.")
        return cls(rtol=rtol, atol=atol, why=why or f"torch.testing.assert_close's default for {name}")


def _defaults() -> dict[Any, tuple[float, float]]:
    import torch

    return {torch.float64: (1e-7, 1e-7), torch.float32: (1.3e-6, 1e-5), torch.float16: (1e-3, 1e-5),
            torch.bfloat16: (1.6e-2, 1e-5), torch.complex64: (1.3e-6, 1e-5), torch.complex128: (1e-7, 1e-7)}


def _index(flat: int, shape: Sequence[int], names: Sequence[str] | None) -> str:
    idx = []
    for size in reversed(shape):
        idx.append(flat % size)
        flat //= size
    idx.reverse()
    if names and len(names) == len(idx):
        return ", ".join(f"{n} {i}" for n, i in zip(names, idx))
    return "[" + ", ".join(map(str, idx)) + "]"


def _got_expected(got: float, expected: float) -> str:
    """"got G, expected E" with as many significant digits as it takes to tell the two apart
    (6 at least): a near miss (a relative error of 1e-7 in float64) must not read as two
    equal numbers."""
    for digits in range(6, 18):
        g, e = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if g != e or got == expected:
            break
    return f"got {g}, expected {e}"


_NO_ANSWER: Any = object()


def that(condition: bool, message: str, *, answer: Any = _NO_ANSWER) -> None:
    """A plain check: ``message`` says what was expected and what came. ``answer``: what the
    submission gave, where the check compares it (counts, names, a set of groups): kept for a
    diagnosis (a known mistake whose answer this is, exactly, can then be named); numbers,
    strings, booleans, and lists, tuples, sets and dicts of them."""
    _keep_answer(answer, condition)
    if not condition:
        raise CheckFailed(message)


MAX_ANSWER_ITEMS = 100_000  # numbers and strings of one ``that`` answer kept; a bigger one is noted, not kept


def _plain(value: Any, budget: list[int]) -> Any:
    """``value`` as plain, comparable data (sets sorted, tuples as lists, dict keys as strings);
    raises ValueError for anything else or for more than the budget of items."""
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("too big")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (list, tuple):
        return [_plain(v, budget) for v in value]
    if type(value) in (set, frozenset):
        return sorted((_plain(v, budget) for v in value), key=repr)
    if type(value) is dict:
        return {str(_plain(k, budget)): _plain(v, budget) for k, v in value.items()}
    raise ValueError(f"not plain data: {type(value).__name__}")


def _keep_answer(answer: Any, matched: bool) -> None:
    if answer is _NO_ANSWER or not (_observing and _observing[0]):
        return
    try:
        kept = _plain(answer, [MAX_ANSWER_ITEMS])
    except (ValueError, RecursionError):
        kept = None
    _observed.append(Observation(items=None, tol=None, matched=matched, answer=kept))


class Faults:
    """The faults of a test's parts, each reported: one function's or quantity's fault never
    hides another's (``all_faults`` makes one and raises what it found)."""

    def __init__(self) -> None:
        self.found: list[BaseException] = []

    @contextmanager
    def part(self) -> Iterator[None]:
        """Run one part of the test (a call of one function, the check of one quantity): its
        failed check, its code's error or crash, or its wrong answer is kept and the test goes
        on with the next part. A timeout or a missing file ends the test: its time is spent,
        or no part can run."""
        try:
            yield
        except (CheckFailed, StudentError, WorkerCrashed, WrongAnswer) as exc:
            self.found.append(exc)

    def that(self, condition: bool, message: str, *, answer: Any = _NO_ANSWER) -> None:
        """``that``, kept instead of raised (``answer`` as ``that``'s)."""
        _keep_answer(answer, condition)
        if not condition:
            self.found.append(CheckFailed(message))

    def raise_found(self, ended: BaseException | None = None) -> None:
        """Raise what was found, every message in order (each said once): as the first
        fault's kind (a wrong value fails, code that raised errs), or as ``ended``'s, the
        fault that ended the test early, said last."""
        if not self.found:
            if ended is not None:
                raise ended
            return
        found = [*self.found, *([ended] if ended is not None else [])]
        messages: list[str] = []
        for exc in found:
            text = str(exc) or "The check failed."
            if text not in messages:
                messages.append(text)
        kind = type(ended if ended is not None else found[0])
        if len(messages) == 1 and ended is None:
            raise found[0]
        raise kind("\n\n".join(messages)) from None


@contextmanager
def all_faults() -> Iterator[Faults]:
    """For a test that checks several functions or quantities: each part in
    ``with faults.part():`` (or ``faults.that(...)``), and at the end every fault found is
    raised together::

        with all_faults() as faults:
            for form in ("heavy_ball", "velocity_momentum"):
                with faults.part():
                    check_form(submission, form)
    """
    faults = Faults()
    try:
        yield faults
    except (CheckFailed, StudentFault) as exc:  # a fault outside any part (or a timeout) ended the test
        faults.raise_found(exc)
        raise
    faults.raise_found()


def input_changes(sent: dict[str, Any], report: dict[str, Any], tol: Tolerance | None = None) -> list[str]:
    """What a call did to its inputs, one sentence each ([] when nothing): ``report`` is a
    driver's ``kept.after()`` (``grader.driver.keep``), read in the worker from the driver's
    own references to the inputs, ``sent`` the same inputs by name as this side made them
    (tensors; lists, tuples and dicts of them; a module as the dict of its state). Each
    input tensor is judged twice: the memory it had (changed in place, even if the caller's
    tensor was then pointed elsewhere), and the tensor the caller holds (given other memory,
    another shape, other values); and each list, dict and module, whether it still holds the
    same objects. Equal means equal (NaN equals NaN), or within ``tol`` where given."""
    out: list[str] = []
    memory, held = report.get("memory", {}), report.get("held", {})
    for name, value in sent.items():
        _changes(value, memory.get(name), held.get(name), name, tol, out)
    for moved in report.get("moved", []):
        out.append(_moved_sentence(moved))
    return out


def _changes(sent: Any, memory: Any, held: Any, path: str, tol: Tolerance | None, out: list[str]) -> None:
    import torch

    if isinstance(sent, torch.Tensor):
        if isinstance(memory, str) or not isinstance(memory, torch.Tensor):
            out.append(f"{path}: the memory it had can no longer be read ({memory}); leave the inputs as they are.")
        elif (diff := _differs(memory, sent, tol)) is not None:
            out.append(f"{path} was changed in place: {diff}.")
        if held is None:
            return
        if not isinstance(held, torch.Tensor):
            out.append(f"{path} was made into something else ({held}): the caller's tensor must stay as it was.")
        elif (diff := _differs(held, sent, tol)) is not None:
            out.append(f"{path}, the tensor the caller holds, was given other memory ({diff}): assigning to its "
                       ".data, .set_() or .resize_() changes the caller's tensor too.")
        return
    if isinstance(sent, (list, tuple)):
        for i, x in enumerate(sent):
            _changes(x, _at(memory, i), _at(held, i), f"{path}[{i}]", tol, out)
    elif isinstance(sent, dict):
        for k, x in sent.items():
            _changes(x, _at(memory, k), _at(held, k), _path(path, k), tol, out)


def _at(value: Any, key: Any) -> Any:
    if isinstance(value, (list, tuple)) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    if isinstance(value, dict):
        return value.get(key)
    return None


def _differs(got: torch.Tensor, sent: torch.Tensor, tol: Tolerance | None) -> str | None:
    """How ``got`` differs from ``sent`` (in a phrase), or None when it does not."""
    import torch

    if tuple(got.shape) != tuple(sent.shape):
        return f"its shape is {tuple(got.shape)}, it was {tuple(sent.shape)}"
    if got.dtype != sent.dtype:
        return f"its dtype is {str(got.dtype).removeprefix('torch.')}, it was {str(sent.dtype).removeprefix('torch.')}"
    if sent.numel() == 0:
        return None
    if not sent.is_floating_point():
        same = got == sent
        changed = int((~same).sum())
        return None if not changed else f"{changed} of {sent.numel()} entries differ"
    g, s = got.detach().to("cpu", torch.float64), sent.detach().to("cpu", torch.float64)
    nan = g.isnan() & s.isnan()
    allowed = 0.0 if tol is None else tol.on(sent).atol + tol.rtol * s.abs()
    off = ~nan & ~((g - s).abs() <= allowed)
    changed = int(off.sum())
    if not changed:
        return None
    worst = float(torch.where(off, (g - s).abs().nan_to_num(nan=float("inf")), torch.zeros_like(g)).max())
    return f"{changed} of {sent.numel()} entries differ, by up to {worst:.3g}"


def _path(path: str, key: Any) -> str:
    """``path`` and one step into it: ``grads[1]``, ``net.conv1.weight``, ``d['a b']``."""
    if isinstance(key, str) and all(part.isidentifier() or part.isdigit() for part in key.split(".")):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def _moved_sentence(moved: dict[str, Any]) -> str:
    keys = list(moved.get("path", [])) or ["?"]
    path = str(keys[0])
    for key in keys[1:]:
        path = _path(path, key)
    kind = str(moved.get("kind"))
    if "unreadable" in moved:
        return f"The {kind} {path} can no longer be read as the {kind} it was ({moved['unreadable']})."

    def listed(keys: list[Any]) -> str:
        noun = {"list": ("item", "items"), "dict": ("key", "keys")}.get(kind, ("tensor", "tensors"))[len(keys) > 1]
        return f"{noun} " + ", ".join(str(k) for k in keys[:6]) + (", ..." if len(keys) > 6 else "")

    parts = []
    if moved.get("replaced"):
        parts.append(f"{listed(moved['replaced'])} replaced by other objects")
    if moved.get("removed"):
        parts.append(f"{listed(moved['removed'])} removed")
    if moved.get("added"):
        parts.append(f"{listed(moved['added'])} added")
    length = moved.get("length")
    if kind == "list" and isinstance(length, list) and len(length) == 2 and length[0] != length[1]:
        parts.append(f"its length went from {length[0]} to {length[1]}")
    return f"The caller's {kind} {path} was changed: {'; '.join(parts)}. Leave the inputs as they are (make new ones)."


def mentions(source: str | bytes, names: Collection[str], modules: Collection[str] = ()) -> list[str]:
    """Where the code in ``source`` names one of ``names`` (a variable, an attribute such as
    ``x.backward``, a keyword argument, an import) or imports one of ``modules`` ("torch.func"
    also matches ``from torch import func``): ``["line 12: .backward", ...]``, in line order.

    For checks of what code says ("does it call conv1d?"). Comments and strings are not code and
    never match, nor do the bodies of top-level ``if __name__ == "__main__":`` blocks (the grader
    never runs them). A file that does not parse mentions nothing (its import fails, and that
    is reported instead). To forbid a tool, do not list what is forbidden: declare what a
    solution may use (``[problems.by_hand]`` in the rubric) and call ``without``.
    """
    import ast
    import importlib.util

    from ._worker.source import runnable

    if isinstance(source, bytes):
        try:
            source = importlib.util.decode_source(source)  # its BOM and coding line, as the import reads them
        except (SyntaxError, UnicodeDecodeError, LookupError):
            return []
    try:
        tree = runnable(ast.parse(source.removeprefix("\ufeff")))
    except (SyntaxError, ValueError):
        return []
    names, modules = set(names), set(modules)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name) and node.id in names:
            found.append((line, node.id))
        elif isinstance(node, ast.Attribute) and node.attr in names:
            found.append((line, "." + node.attr))
        elif isinstance(node, ast.Attribute) and _dotted(node) in modules:
            found.append((line, _dotted(node)))
        elif isinstance(node, ast.keyword) and node.arg in names and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):  # requires_grad=False asks for nothing
            found.append((line, node.arg + "="))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules or any(alias.name.startswith(m + ".") for m in modules) or set(alias.name.split(".")) & names:
                    found.append((line, "import " + alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if (full in modules or node.module in modules or any(node.module.startswith(m + ".") for m in modules)
                        or alias.name in names or set(node.module.split(".")) & names):
                    found.append((line, f"from {node.module} import {alias.name}"))
    return [f"line {line}: {what}" for line, what in sorted(set(found))]


def without(submission: Submission, *, run: Callable[[], Any] | Sequence[Callable[[], Any]] | None = None) -> None:
    """The problem's by-hand rule (``[problems.by_hand]`` in its rubric: what it forbids, and
    the allow-list of what a solution may use) holds for the student's file.

    Decided here, on the trusted side, from the whole file as the worker runs it: every name it
    uses must be in the allow-list (``grader._byhand.reading``: a module, attribute or builtin outside it
    is refused, whatever it is; every function body and nested block is read; only the bodies
    of top-level ``if __name__ == "__main__":`` blocks are not, because the grader never runs
    them). Nothing the student's code does can change what is read here.

    ``run``: one call of the student's code, or several, as the problem's other checks make them
    (e.g. ``lambda: submission.call("gradients", ..., watch_autograd=True)``). They are tried in
    order until one returns: the rule is judged on code that runs, so a function that never
    returns (the template's stub, ``return None``, a crash on every input) fails here with what
    went wrong, while one that crashes on some inputs only (charged by the value tests) is judged
    on the call that worked. A reply that carries a watch's witness (``"__witness__"``, a
    driver's ``AutogradWatch``, which runs the call with autograd's recording off) is a second
    witness: any use it saw fails the check.
    """
    from ._byhand.reading import UNREADABLE, Allowed, refusals

    problem_run = _run(submission)
    policy = problem_run.by_hand
    if policy is None:
        raise ConfigError(f"a check of {problem_run.spec.module}.py calls without(), but its problem declares no "
                          "[problems.by_hand] in rubric.toml (what it forbids, and what a solution may use)")
    file = f"{problem_run.spec.module}.py"
    calls = [] if run is None else [run] if callable(run) else list(run)
    said = refusals(problem_run.source_run(), Allowed.of(policy))
    if said == [UNREADABLE] and calls:
        calls[0]()  # a file that does not import: its own error, as every test of the file reports it
    that(not said, f"{file} uses what this problem does not allow ({'; '.join(said[:6])}"
         f"{f'; and {len(said) - 6} more' if len(said) > 6 else ''}). {policy.rule} "
         f"Without {policy.without}, a solution may use torch's and numpy's numerical functions, tensor methods that "
         "compute with data and Python's own. Only the body of a top-level `if __name__ == \"__main__\":` block is "
         "not read (the grader never runs it): your own try-outs belong there.")
    failed: StudentFault | None = None
    for call in calls:
        try:
            reply = call()
        except NotWritten:
            raise
        except StudentFault as exc:
            failed = failed or exc
            continue  # a crash or an unusable answer on these inputs: another call may work
        seen = reply.get("__witness__", []) if isinstance(reply, dict) else []
        that(not seen, f"{file} used {policy.without} while it ran: {', '.join(seen)}. {policy.rule}")
        return
    if failed is not None:  # nothing ran to the end: there is no working code to judge
        raise failed


def close(
    got: Any,
    expected: torch.Tensor,
    *,
    what: str,
    tol: Tolerance,
    index_names: Sequence[str] | None = None,
    check_dtype: bool = True,
) -> None:
    """Check that the tensor ``got`` equals ``expected`` within ``tol``; explain any difference."""
    lines = _mismatch(got, expected, tol, index_names, check_dtype)
    _keep(got, tol, not lines, many=False)
    if lines:
        raise CheckFailed("\n".join([f"Compared: {what}", *lines]))


def _mismatch(got: Any, expected: torch.Tensor, tol: Tolerance, index_names: Sequence[str] | None,
              check_dtype: bool) -> list[str]:
    """What is off between ``got`` and ``expected`` (``close``'s message after its first
    line; its own first line says it in a sentence); [] when they agree."""
    import torch

    if not isinstance(got, torch.Tensor):
        return [f"Expected a tensor, got {type(got).__name__}."]
    if tuple(got.shape) != tuple(expected.shape):
        return [f"Expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}."]
    if check_dtype and got.dtype != expected.dtype:
        return [f"Expected dtype {expected.dtype}, got {got.dtype} (keep the dtype of the inputs you were given)."]
    if got.is_complex() and not expected.is_complex():  # (converted, its imaginary part would go unread)
        return [f"Expected real numbers ({expected.dtype}), got complex ones ({got.dtype})."]
    tol = tol.on(expected)
    if not (got.is_floating_point() or got.is_complex()):
        got = got.to(expected.dtype)
    g = got.detach().to("cpu", torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    bad_g = ~torch.isfinite(g) & torch.isfinite(e)
    if bad_g.any():
        first = int(bad_g.flatten().nonzero()[0])
        return [f"{int(bad_g.sum())} of {g.numel()} entries are NaN or infinite; the first at "
                f"{_index(first, g.shape, index_names)}: {_got_expected(float(g.flatten()[first]), float(e.flatten()[first]))}."]
    diff = (g - e).abs()
    allowed = tol.atol + tol.rtol * e.abs()
    outside = diff > allowed
    if not outside.any():
        return []
    rel = diff / e.abs().clamp_min(torch.finfo(torch.float64).tiny)
    ia = int(diff.flatten().argmax())
    ir = int(torch.where(outside, rel, torch.zeros_like(rel)).flatten().argmax())
    gf, ef = g.flatten(), e.flatten()
    n_out = int(outside.sum())
    # In the words of torch.testing.assert_close, which course staff know, plus the values.
    return [
        f"Mismatched elements: {n_out} / {g.numel()} ({100 * n_out / g.numel():.1f}%) are outside the tolerance.",
        f"Greatest absolute difference: {float(diff.flatten()[ia]):.3e} at {_index(ia, g.shape, index_names)} "
        f"(up to {tol.atol:.1e} allowed): {_got_expected(float(gf[ia]), float(ef[ia]))}",
        f"Greatest relative difference: {float(rel.flatten()[ir]):.3e} at {_index(ir, g.shape, index_names)} "
        f"(up to {tol.rtol:.1e} allowed): {_got_expected(float(gf[ir]), float(ef[ir]))}",
        f"Tolerance: {tol.describe()}",
    ]


def close_all(
    got: Any,
    expected: Sequence[torch.Tensor],
    *,
    what: str,
    item: str,
    tol: Tolerance,
    check_dtype: bool = True,
    names: Sequence[str] | None = None,
    index_names: Sequence[str] | None = None,
) -> None:
    """Check a list of tensors item by item, each with ``tol`` on its own (a ``Tolerance.of_each``
    scales to each item's own entries). The message shows the first item that is off in full
    and names every other one that is off, with how much of it is, so that no item's fault
    hides another's.

    ``item`` is a format string for an item's name, e.g. ``"dA_list[{i}]"``, ``"iterate {i}"``
    or ``"dA_list[{i}] (for A_{l})"`` (``l`` counts from 1, as homework texts number layers);
    ``{name}`` is ``names[i]`` where ``names`` are given (a state_dict's keys).
    """
    if not isinstance(got, (list, tuple)):
        _keep(got, tol, False, many=True)
        raise CheckFailed(f"Compared: {what}\nExpected a list of {len(expected)} tensors, got {type(got).__name__}.")
    if len(got) != len(expected):
        _keep(got, tol, False, many=True)
        raise CheckFailed(f"Compared: {what}\nExpected a list of {len(expected)} tensors, got {len(got)}.")
    off: list[tuple[str, list[str]]] = []
    for i, (g, e) in enumerate(zip(got, expected)):
        lines = _mismatch(g, e, tol, index_names, check_dtype)
        if lines:
            off.append((item.format(i=i, l=i + 1, name=names[i] if names else i), lines))
    _keep(got, tol, not off, many=True)
    if not off:
        return
    (first, lines), rest = off[0], off[1:]
    message = [f"Compared: {what}: {first}", *lines]
    if rest:
        message.append(f"Also off ({len(rest)} more of the {len(expected)}):")
        message += [f"  {name}: {lines[0]}" for name, lines in rest[:8]]
        if len(rest) > 8:
            message.append(f"  ... and {len(rest) - 8} more")
    raise CheckFailed("\n".join(message))


_P = ParamSpec("_P")
_R = TypeVar("_R")


def cached(fn: Callable[_P, _R], *, size: int = 32) -> Callable[_P, _R]:
    """``fn``, computed once per distinct input in a grading session: for an oracle that a
    check computes on the grader's side from the grader's own inputs (an expected value in
    float64 from a definition, seconds each), which every student's test would otherwise
    compute again. A batch's inputs are the same for every student (``generator`` is seeded
    from the run's seed and the test), so a class of 200 pays for it once, not 200 times.

    Inputs are told apart by content (tensors by dtype, shape and every byte; dicts, lists and
    tuples item by item; numbers, strings, dtypes and devices by value), never by identity; an
    input of another kind is refused with a ``ConfigError``. Each call returns its own deep
    copy of the result. Use it only for a function whose result depends on its inputs alone and
    that changes none of them (not one that draws from a ``torch.Generator``: the generator
    would not advance on a cached call). The ``size`` most recent results are kept.

        @cached
        def oracle(state: dict[str, Tensor], images: Tensor, lr: float) -> float: ...
    """
    results: OrderedDict[bytes, Any] = OrderedDict()

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        h = hashlib.sha256()
        _digest((args, sorted(kwargs.items())), h, fn.__qualname__)
        key = h.digest()
        if key in results:
            results.move_to_end(key)
        else:
            results[key] = fn(*args, **kwargs)
            while len(results) > size:
                results.popitem(last=False)
        return cast("_R", copy.deepcopy(results[key]))

    return wrapper


def _digest(value: Any, h: Any, where: str) -> None:
    import torch

    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(value.shape)}{value.requires_grad};".encode())
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        h.update(f"D{len(value)};".encode())
        for k, v in value.items():
            _digest(k, h, where)
            _digest(v, h, where)
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__[0]}{len(value)};".encode())
        for v in value:
            _digest(v, h, where)
    elif value is None or isinstance(value, (bool, int, float, complex, str, bytes, torch.dtype, torch.device)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise ConfigError(f"cached({where}): an input of type {type(value).__name__} cannot be told apart by its content; "
                          "pass tensors, numbers, strings, or dicts, lists and tuples of them (a model's state_dict(), "
                          "not the model).")


def as_shaped(got: Any, expected: Sequence[torch.Tensor]) -> Any:
    """``got``'s tensors reshaped to ``expected``'s shapes where they hold as many entries.

    For checks that grade values apart from form (rubrics/README.md, "Right numbers, right
    form"): a gradient of shape (n,) for a parameter of shape (n, 1) is compared by value
    here, and its shape is the form test's to judge. Anything else is left as it came."""
    import torch

    if not isinstance(got, (list, tuple)):
        return got
    return [g.reshape(e.shape) if isinstance(g, torch.Tensor) and g.numel() == e.numel() else g
            for g, e in zip(got, expected)] + list(got[len(expected):])


@dataclass(frozen=True)
class Timing:
    """What ``speed_ratio`` measured: the candidate's time per unit of work over the baseline's,
    from the best round of each, and every round's time; ``describe`` says it in a sentence for
    the test's message."""

    ratio: float  # candidate time per unit / baseline time per unit (the best round of each)
    candidate: list[float]  # seconds per unit, per round
    baseline: list[float]
    out_of_time: bool = False  # the test's time ran out before the rounds decided (the ratio so far is over the limit)

    def describe(self, candidate: str, baseline: str) -> str:
        c, b = min(self.candidate), min(self.baseline)
        cut = "; the test's time ran out before more rounds could be timed" if self.out_of_time else ""
        return (
            f"{candidate}: {c * 1e3:.3g} ms; {baseline}: {b * 1e3:.3g} ms "
            f"(the best of {len(self.candidate)} interleaved rounds each, measured in this run on this machine{cut}); "
            f"ratio {self.ratio:.2f}"
        )


def speed_ratio(
    candidate: Submission,
    baseline: Submission,
    fn: str,
    *,
    inputs: Callable[[], torch.Tensor],
    check: Callable[[Any, torch.Tensor], None],
    baseline_fn: str | None = None,
    values: dict[str, Any] | None = None,
    baseline_values: dict[str, Any] | None = None,
    units: float = 1.0,
    baseline_units: float = 1.0,
    rounds: int = 5,
    repeat: int = 1,
    give_up: float = math.inf,
    limit: float | None = None,
    threads: int | None = None,
) -> Timing:
    """Time the student's callable against a baseline the student's code cannot touch, and
    check every answer it gave while it was timed.

    Both callables are built by drivers (``prepare``) in separate workers: the baseline in
    a worker that imported only the template. Each round gives both the same ``repeat``
    fresh inputs (``inputs()`` makes one, here on the trusted side: nothing can be computed
    ahead or remembered from an earlier round), in an order drawn at random; while one
    runs, the other's worker (every process and thread it started) is frozen. Times are
    taken here, around each request; per-unit times make different work sizes comparable.
    Every output of a timed call (the warm-up's too) goes through ``check(output, input)``,
    the same comparison with the oracle that a checking test makes: a fast answer that is
    wrong fails the test, whatever its speed. The result is the ratio of the best rounds of
    each (noise only adds time): above 1 means the candidate is slower. Once, after
    ``rounds``, even the candidate's best round is more than ``give_up`` times the baseline's
    worst, the remaining rounds are skipped: the verdict cannot change, and a pathologically slow submission should
    not spend its whole time budget proving it.

    ``limit``: the ratio the check will allow. After ``rounds``, rounds go on (up to
    ``MAX_ROUNDS_FACTOR`` times as many) until the rounds decide (``_decided``): until the
    fastest rounds of each side agree (its four best, the closer the nearer the ratio is to
    the limit: its cost without load has been seen). A fixed margin around the limit
    does not do: on a loaded machine a round is slowed by 1.3 to 3 times at random, so the
    ratio of five rounds' bests lands far from the code's own ratio, on either side of any
    band; a busy moment then costs time, not a wrong verdict. ``threads``: both sides' timed
    calls run with this many torch threads (1: a core is left for everything else on the
    machine, which steadies the times).
    """
    for attempt in range(3):
        spent = _run(candidate).spent()
        try:
            # no other job of the batch runs anything while this is timed; its comparisons are not
            # observed (fresh inputs each round: nothing a mistake's answers could be matched on)
            with _run(candidate).alone(), _unobserved():
                return _timed(_run(candidate), _run(baseline), fn, inputs, check, baseline_fn, values, baseline_values, units,
                              baseline_units, rounds, repeat, give_up, limit, threads)
        except FreezeBroken:  # another job's worker ran meanwhile (it is stopped for good now): time again,
            # at no cost to this student's limit (its wall time still counts toward the test's bound: ``refund``)
            _run(candidate).refund(spent)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _run(submission: Submission) -> ProblemRun:
    """The run behind a ``submission`` or ``baseline`` fixture (the grader's own: a check gets no other)."""
    return cast("ProblemRun", submission)


def _timed(candidate: ProblemRun, baseline: ProblemRun, fn: str, inputs: Callable[[], torch.Tensor],
           check: Callable[[Any, torch.Tensor], None], baseline_fn: str | None, values: dict[str, Any] | None,
           baseline_values: dict[str, Any] | None, units: float, baseline_units: float, rounds: int, repeat: int,
           give_up: float, limit: float | None = None, threads: int | None = None) -> Timing:
    base_fn = baseline_fn or fn
    order = random.Random(secrets.randbits(64))
    candidate.prepare(fn, **(values or {}))
    fresh = baseline.prepare(base_fn, **(baseline_values if baseline_values is not None else values or {}))
    # Warm-up: first calls pay for lazy initialisation on both sides.
    x = inputs()
    _checked(check, _alone(candidate, baseline, fn, [x], threads=threads)[1], [x], "the warm-up call")
    if fresh:
        _alone(baseline, candidate, base_fn, [inputs()], timeout=600, threads=threads, student_frozen=True)
    cand: list[float] = []
    base: list[float] = []

    while not _decided(cand, base, rounds=rounds, limit=limit, give_up=give_up):
        xs = [inputs() for _ in range(repeat)]
        outs: list[Any] = []
        for side in sorted(("base", "cand"), key=lambda _: order.random()):
            if side == "base":
                base.append(_alone(baseline, candidate, base_fn, xs, timeout=600, threads=threads,
                                   student_frozen=True)[0] / (repeat * baseline_units))
            else:
                try:
                    seconds, outs = _alone(candidate, baseline, fn, xs, threads=threads)
                except WorkerTimeout:
                    # Right but so slow that the test's time ran out before the rounds decided:
                    # where the rounds timed so far already put it over the limit, that is the
                    # verdict, with its figures (a timeout would say less); else the timeout stands.
                    n = min(len(cand), len(base))
                    if limit is not None and n and min(cand[:n]) / min(base[:n]) > limit:
                        return Timing(ratio=min(cand[:n]) / min(base[:n]), candidate=cand[:n], baseline=base[:n],
                                      out_of_time=True)
                    raise
                cand.append(seconds / (repeat * units))
        _checked(check, outs, xs, f"timed round {len(cand)}")
    # The best round of each, as timeit advises: what else runs on a shared machine only ever
    # adds time, so the fastest round is the closest to the code's own cost (medians let a
    # burst of load in a few rounds of one side turn a right, fast answer into "slower").
    ratio = min(cand) / min(base)
    if not math.isfinite(ratio):
        raise WrongAnswer("the timing could not be measured")
    return Timing(ratio=ratio, candidate=cand, baseline=base)


MAX_ROUNDS_FACTOR = 4  # a timing check runs at most this many times its ``rounds`` (a loaded machine's noise)
SETTLED_BEST, SETTLED_SPREAD = 4, 0.05  # a side's floor is known once its 4 best rounds agree (within 5% near the limit)


def _settled(times: Sequence[float], spread: float) -> bool:
    """The K-best rule (Bryant and O'Hallaron): the ``SETTLED_BEST`` fastest rounds agree
    within a factor ``spread``, so the fastest is the code's own cost, not a lucky or an
    unlucky moment of the machine."""
    best = sorted(times)[:SETTLED_BEST]
    return len(best) == SETTLED_BEST and best[-1] <= best[0] * spread


def _decided(cand: Sequence[float], base: Sequence[float], *, rounds: int, limit: float | None,
             give_up: float) -> bool:
    """Whether the interleaved rounds so far (seconds per unit of each side) decide a timing
    check whose verdict is ``min(cand) / min(base) <= limit``. Load only ever adds time, to
    either side at random, and a steady load makes a floor of its own (a core shared with one
    other thread: every round about 1.3 times slower); so the bests are taken as the code's
    own costs only once both sides' floors are settled (``_settled``): their four best rounds
    agree, within 5% when the ratio is near the limit and within the square root of the
    margin when it is far (a ratio of 0.85 against a limit of 1.5: within 33%; no pair of
    floors that far apart can turn it). After ``rounds``, the rounds go on until both are, at
    most to ``rounds * MAX_ROUNDS_FACTOR``, where the ratio of the bests is the verdict. After
    ``rounds``, the candidate's best more than ``give_up`` times the baseline's worst ends the
    timing (the rubric's choice, for hopelessly slow code); not before: one round is no
    evidence (in CI a right bn_remove was failed after one round, 697 ms against 213 ms, a
    burst of load on its side alone).

    Simulated (tests/unit/checks/test_timing_rounds.py) with rounds slowed 1.3 to 3 times in up to
    90% of them: about one wrong verdict in 10,000 draws for code 1.76 times inside or
    outside the limit, where a fixed band of 1.25 around the limit gave one in 250.
    """
    n = min(len(cand), len(base))
    if n < rounds:
        return False
    if min(cand) / max(base) > give_up:
        return True
    if limit is None or n >= rounds * MAX_ROUNDS_FACTOR:
        return True
    ratio = min(cand) / min(base)
    spread = max(1 + SETTLED_SPREAD, max(ratio / limit, limit / ratio) ** 0.5)
    return _settled(cand, spread) and _settled(base, spread)


def _checked(check: Callable[[Any, torch.Tensor], None], outs: list[Any], xs: list[Any], where: str) -> None:
    for i, (out, x) in enumerate(zip(outs, xs)):
        try:
            check(out, x)
        except CheckFailed as exc:
            call = f", call {i + 1} of {len(xs)}" if len(xs) > 1 else ""
            raise CheckFailed(f"An answer your code gave while it was timed ({where}{call}) is wrong, and speed "
                              f"counts only for right answers.\n{exc}") from None


def _alone(run: ProblemRun, other: ProblemRun, fn: str, xs: list[Any], timeout: float | None = None,
           threads: int | None = None, student_frozen: bool = False) -> tuple[float, list[Any]]:
    """``run.run(fn, xs)`` with ``other`` (and everything it started) frozen meanwhile.
    ``student_frozen``: ``other`` is the student's side, whose processes running under the
    freeze (or refusing it) fail the check: nothing timed beside them is a timing."""
    try:
        other.freeze()
    except FreezeEscaped as exc:
        if student_frozen:
            raise CheckFailed(str(exc)) from None
        raise
    try:
        out = run.run(fn, xs, timeout=timeout, threads=threads)
    finally:
        ran = other.thaw()
    if ran is not None:
        if student_frozen:
            raise CheckFailed(freeze_escaped("your submission", ran))
        raise FreezeEscaped(f"the worker of the other side of this timing check ran while it was frozen ({ran})")
    return out
