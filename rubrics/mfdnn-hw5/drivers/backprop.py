"""Worker-side driver for `backprop` (runs in the student's process; reports, never judges).

The driver is loaded before the student's module is imported, so the autograd watch is
armed from the first line of their code: the spies below replace torch's autograd entry
points now (a student's ``from torch.autograd import grad`` gets a spy), and the functions
the watch itself needs are bound here, out of reach of a later ``torch.x = ...``. What the
watch reports is still data from the student's process; the trusted side pairs it with a
reading of the student's source (test_backprop.py), which no code of theirs can change.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.autograd.functional
import torch.func

WrongAnswer: type[Exception]  # provided by the worker

_used: list[str] = []
_armed = [False]
_saved_tensors_hooks = torch.autograd.graph.saved_tensors_hooks
_TARGETS = [
    (torch.Tensor, "backward", "Tensor.backward"), (torch.autograd, "backward", "torch.autograd.backward"),
    (torch.autograd, "grad", "torch.autograd.grad"), (torch.autograd.functional, "jacobian", "torch.autograd.functional.jacobian"),
    (torch.autograd.functional, "vjp", "torch.autograd.functional.vjp"), (torch.func, "grad", "torch.func.grad"),
    (torch.func, "grad_and_value", "torch.func.grad_and_value"), (torch.func, "vjp", "torch.func.vjp"),
    (torch.func, "jacrev", "torch.func.jacrev"), (torch.func, "jacfwd", "torch.func.jacfwd"),
]  # fmt: skip


def _spy(original: Any, name: str) -> Any:
    def spy(*args: Any, **kw: Any) -> Any:
        if _armed[0]:
            _used.append(name)
        return original(*args, **kw)

    spy.__name__ = getattr(original, "__name__", name)
    spy.__doc__ = getattr(original, "__doc__", None)
    return spy


for _owner, _attr, _name in _TARGETS:
    setattr(_owner, _attr, _spy(getattr(_owner, _attr), _name))


def _tensor_list(value: Any, what: str, n: int) -> list[torch.Tensor]:
    if not isinstance(value, (list, tuple)):
        raise WrongAnswer(f"{what} should be a list of {n} tensors, got {type(value).__name__}")
    if len(value) != n:
        raise WrongAnswer(f"{what} should be a list of {n} tensors (one per layer), got {len(value)}")
    for i, v in enumerate(value):
        if not isinstance(v, torch.Tensor):
            raise WrongAnswer(f"{what}[{i}] should be a tensor, got {type(v).__name__}")
    return list(value)


def gradients(student: Any, A_list: list[torch.Tensor], b_list: list[torch.Tensor], X: torch.Tensor,
              Y: torch.Tensor, device: str, watch_autograd: bool = False) -> dict[str, Any]:
    A = [a.to(device) for a in A_list]
    b = [v.to(device) for v in b_list]
    X, Y = X.to(device), Y.to(device)
    if watch_autograd:
        del _used[:]
        try:
            out = _watched(lambda: student.backprop(A, b, X, Y))
        except Exception:
            if not _used:
                raise
            # torch.func refuses to run under the graph watch: what it was asked to do is the answer.
            return {"dA": [], "db": [], "autograd": sorted(set(_used))}
    else:
        out = student.backprop(A, b, X, Y)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongAnswer(f"backprop should return (dA_list, db_list); got {type(out).__name__}")
    dA = _tensor_list(out[0], "dA_list", len(A))
    db = _tensor_list(out[1], "db_list", len(b))
    return {"dA": dA, "db": db, "autograd": sorted(set(_used)) if watch_autograd else []}


def _pack(t: torch.Tensor) -> torch.Tensor:
    _used.append("an autograd graph (a tensor saved for backward)")
    return t


def _watched(fn: Any) -> Any:
    """Run fn, noting any use of autograd: a graph being built, or a backward/grad call."""
    _armed[0] = True
    try:
        with _saved_tensors_hooks(_pack, lambda t: t):
            return fn()
    finally:
        _armed[0] = False
