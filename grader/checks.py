"""Checks for rubric tests: each one either passes or raises ``CheckFailed`` with a message
written for the student: what was compared, by how much it was off, where, and the
tolerance with the reason for it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection, Iterator, Sequence

from ._exceptions import CheckFailed, WrongAnswer

if TYPE_CHECKING:
    import torch

    from ._runs import ProblemRun

__all__ = ["CheckFailed", "Tolerance", "close", "close_all", "note", "that", "mentions", "Timing", "speed_ratio"]

_notes: list[str] = []


def note(message: str) -> None:
    """Record what a passing check measured; it is shown with the test's result."""
    _notes.append(message)


def take_notes() -> str:
    """The notes recorded since the last call (the plugin calls this once per test)."""
    text = "\n".join(_notes)
    _notes.clear()
    return text


@dataclass(frozen=True)
class Tolerance:
    """|got - expected| <= atol + rtol * |expected|, elementwise; ``why`` is told to the student."""

    rtol: float
    atol: float
    why: str

    def describe(self) -> str:
        return f"|got - expected| <= {self.atol:.1e} + {self.rtol:.1e} * |expected|  ({self.why})"


def _index(flat: int, shape: Sequence[int], names: Sequence[str] | None) -> str:
    idx = []
    for size in reversed(shape):
        idx.append(flat % size)
        flat //= size
    idx.reverse()
    if names and len(names) == len(idx):
        return ", ".join(f"{n} {i}" for n, i in zip(names, idx))
    return "[" + ", ".join(map(str, idx)) + "]"


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def that(condition: bool, message: str) -> None:
    """A plain check: ``message`` says what was expected and what came."""
    if not condition:
        raise CheckFailed(message)


def mentions(source: str, names: Collection[str], modules: Collection[str] = ()) -> list[str]:
    """Where the code in ``source`` names one of ``names`` (a variable, an attribute such as
    ``x.backward``, a keyword argument, an import) or imports one of ``modules`` ("torch.func"
    also matches ``from torch import func``): ``["line 12: .backward", ...]``, in line order.

    Comments and strings are not code and never match, nor does the body of an
    ``if __name__ == "__main__":`` block (it never runs when the grader imports the file). A
    file that does not parse mentions nothing (its import fails, and that is reported instead).
    """
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names, modules = set(names), set(modules)
    found: list[tuple[int, str]] = []
    for node in _nodes(tree):
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


def _nodes(tree: Any) -> Iterator[Any]:
    """Every node of ``tree`` but those under ``if __name__ == "__main__":`` (a student's own
    try-out code, which never runs when the grader imports the file)."""
    import ast

    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and ast.unparse(node.test).replace("'", '"') in (
                '__name__ == "__main__"', '"__main__" == __name__'):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _dotted(node: Any) -> str:
    import ast

    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


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
    import torch

    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"Compared: {what}\nExpected a tensor, got {type(got).__name__}.")
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailed(f"Compared: {what}\nExpected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}.")
    if check_dtype and got.dtype != expected.dtype:
        raise CheckFailed(
            f"Compared: {what}\nExpected dtype {expected.dtype}, got {got.dtype} "
            "(keep the dtype of the inputs you were given)."
        )
    if not (got.is_floating_point() or got.is_complex()):
        got = got.to(expected.dtype)
    g = got.detach().to("cpu", torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    lines = [f"Compared: {what}"]
    bad_g = ~torch.isfinite(g) & torch.isfinite(e)
    if bad_g.any():
        first = int(bad_g.flatten().nonzero()[0])
        raise CheckFailed(
            "\n".join(lines + [
                f"{int(bad_g.sum())} of {g.numel()} entries are NaN or infinite; the first at "
                f"{_index(first, g.shape, index_names)}: got {_fmt(float(g.flatten()[first]))}, "
                f"expected {_fmt(float(e.flatten()[first]))}.",
            ])
        )
    diff = (g - e).abs()
    allowed = tol.atol + tol.rtol * e.abs()
    outside = diff > allowed
    if not outside.any():
        return
    rel = diff / e.abs().clamp_min(torch.finfo(torch.float64).tiny)
    ia = int(diff.flatten().argmax())
    ir = int(torch.where(outside, rel, torch.zeros_like(rel)).flatten().argmax())
    gf, ef = g.flatten(), e.flatten()
    lines += [
        f"{int(outside.sum())} of {g.numel()} entries are outside the tolerance.",
        f"Worst absolute error: {float(diff.flatten()[ia]):.3e} at {_index(ia, g.shape, index_names)}: "
        f"got {_fmt(float(gf[ia]))}, expected {_fmt(float(ef[ia]))}",
        f"Worst relative error: {float(rel.flatten()[ir]):.3e} at {_index(ir, g.shape, index_names)}: "
        f"got {_fmt(float(gf[ir]))}, expected {_fmt(float(ef[ir]))}",
        f"Tolerance: {tol.describe()}",
    ]
    raise CheckFailed("\n".join(lines))


def close_all(
    got: Any,
    expected: Sequence[torch.Tensor],
    *,
    what: str,
    item: str,
    tol: Tolerance,
    check_dtype: bool = True,
) -> None:
    """Check a list of tensors item by item; the message names the first item that is off.

    ``item`` is a format string for an item's name, e.g. ``"dA_list[{i}]"`` or ``"iterate {i}"``.
    """
    if not isinstance(got, (list, tuple)):
        raise CheckFailed(f"Compared: {what}\nExpected a list of {len(expected)} tensors, got {type(got).__name__}.")
    if len(got) != len(expected):
        raise CheckFailed(f"Compared: {what}\nExpected a list of {len(expected)} tensors, got {len(got)}.")
    for i, (g, e) in enumerate(zip(got, expected)):
        close(g, e, what=f"{what}: {item.format(i=i)}", tol=tol, check_dtype=check_dtype)


@dataclass(frozen=True)
class Timing:
    ratio: float  # candidate time per unit / baseline time per unit (median over rounds)
    candidate: list[float]  # seconds per unit, per round
    baseline: list[float]

    def describe(self, candidate: str, baseline: str) -> str:
        c = statistics.median(self.candidate)
        b = statistics.median(self.baseline)
        return (
            f"{candidate}: {c * 1e3:.3g} ms; {baseline}: {b * 1e3:.3g} ms "
            f"(medians over {len(self.candidate)} interleaved rounds, measured in this run on this machine); "
            f"ratio {self.ratio:.2f}"
        )


def speed_ratio(
    candidate: ProblemRun,
    baseline: ProblemRun,
    fn: str,
    *,
    baseline_fn: str | None = None,
    values: dict[str, Any] | None = None,
    baseline_values: dict[str, Any] | None = None,
    units: float = 1.0,
    baseline_units: float = 1.0,
    rounds: int = 5,
    repeat: int = 1,
    give_up: float = math.inf,
) -> Timing:
    """Time the student's callable against a baseline the student's code cannot touch.

    Both callables are built by drivers (``prepare``) in separate workers: the baseline in
    a worker that imported only the template. Rounds alternate; while the baseline runs,
    the student's worker (with everything it started) is frozen, and the other way round. Times are taken here,
    on the trusted side, around each request; per-unit times make different work sizes
    comparable. The result is the ratio of medians: above 1 means the candidate is slower.
    Once even the candidate's best round is more than ``give_up`` times the baseline's
    worst, the remaining rounds are skipped: the verdict cannot change, and a
    pathologically slow submission should not spend its whole time budget proving it.
    """
    base_fn = baseline_fn or fn
    candidate.prepare(fn, **(values or {}))
    fresh = baseline.prepare(base_fn, **(baseline_values if baseline_values is not None else values or {}))
    # Warm-up: first calls pay for lazy initialisation on both sides.
    candidate.run(fn, 1)
    if fresh:
        _alone(baseline, candidate, base_fn, 1, timeout=600)
    cand: list[float] = []
    base: list[float] = []
    for _ in range(rounds):
        base.append(_alone(baseline, candidate, base_fn, repeat, timeout=600) / (repeat * baseline_units))
        cand.append(_alone(candidate, baseline, fn, repeat) / (repeat * units))
        if min(cand) / max(base) > give_up:
            break
    ratio = statistics.median(cand) / statistics.median(base)
    if not math.isfinite(ratio):
        raise WrongAnswer("the timing could not be measured")
    return Timing(ratio=ratio, candidate=cand, baseline=base)


def _alone(run: ProblemRun, other: ProblemRun, fn: str, repeat: int, timeout: float | None = None) -> float:
    """``run.run(fn, repeat)`` with ``other`` (and everything it started) frozen meanwhile."""
    other.freeze()
    try:
        return run.run(fn, repeat, timeout=timeout)
    finally:
        other.thaw()
