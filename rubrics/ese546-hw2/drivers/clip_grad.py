"""Worker-side driver for `clip_grad`: calls one clipping function and reports what came back."""

from __future__ import annotations

from typing import Any, Callable

import torch

WrongAnswer: type[Exception]  # provided by the worker
plain: Callable[..., Any]  # provided by the worker: one read of what the student's code returned


def clip(student: Any, fn: str, grads: list[torch.Tensor], c: float, device: str) -> dict[str, Any]:
    grads = [g.to(device) for g in grads]
    out = getattr(student, fn)(grads, c)
    if not isinstance(out, (list, tuple)):
        raise WrongAnswer(f"{fn} should return a list of tensors, got {type(out).__name__}")
    out = plain(out, f"what {fn} returned")
    for i, t in enumerate(out):
        if not isinstance(t, torch.Tensor):
            raise WrongAnswer(f"{fn} returned a list whose entry {i} is a {type(t).__name__}, not a tensor")
    return {"clipped": list(out), "count": len(out), "grads_after": grads}  # changes to grads are judged on the trusted side
