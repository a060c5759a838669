"""Worker-side driver for `backprop` (runs in the student's process; reports, never judges)."""

from __future__ import annotations

from typing import Any

import torch

WrongAnswer: type[Exception]  # provided by the worker


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
    used: list[str] = []
    if watch_autograd:
        try:
            out = _watched(lambda: student.backprop(A, b, X, Y), used)
        except Exception:
            if not used:
                raise
            # torch.func refuses to run under the graph watch: what it was asked to do is the answer.
            return {"dA": [], "db": [], "autograd": sorted(set(used))}
    else:
        out = student.backprop(A, b, X, Y)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongAnswer(f"backprop should return (dA_list, db_list); got {type(out).__name__}")
    dA = _tensor_list(out[0], "dA_list", len(A))
    db = _tensor_list(out[1], "db_list", len(b))
    return {"dA": dA, "db": db, "autograd": sorted(set(used))}


def _watched(fn: Any, used: list[str]) -> Any:
    """Run fn, noting any use of autograd: a graph being built, or a backward/grad call."""
    patched = []
    targets = [
        (torch.Tensor, "backward"), (torch.autograd, "backward"), (torch.autograd, "grad"),
        (torch.autograd.functional, "jacobian"), (torch.autograd.functional, "vjp"),
        (torch.func, "grad"), (torch.func, "grad_and_value"), (torch.func, "vjp"),
        (torch.func, "jacrev"), (torch.func, "jacfwd"),
    ]  # fmt: skip
    for owner, name in targets:
        original = getattr(owner, name)

        def spy(*args: Any, __name: str = f"{getattr(owner, '__name__', 'Tensor')}.{name}", __orig: Any = original, **kw: Any) -> Any:
            used.append(__name)
            return __orig(*args, **kw)

        setattr(owner, name, spy)
        patched.append((owner, name, original))

    def pack(t: torch.Tensor) -> torch.Tensor:
        used.append("an autograd graph (a tensor saved for backward)")
        return t

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            return fn()
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)
