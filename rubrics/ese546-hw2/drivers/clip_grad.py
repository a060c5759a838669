"""Worker-side driver for `clip_grad`: calls one clipping function and reports what came back,
and what the call did to its input (read from the driver's own hold on the gradients)."""

from __future__ import annotations

from typing import Any

import torch

from grader.driver import WrongAnswer, keep


def clip(student: Any, fn: str, grads: list[torch.Tensor], c: float, device: str) -> dict[str, Any]:
    grads = [g.to(device) for g in grads]
    # Held before the call: each tensor (and its memory) and the list. Reading the list back
    # after the call would be fooled by changing the tensors in place and putting copies in it.
    kept = keep(grads=grads)
    out = getattr(student, fn)(grads, c)
    if not isinstance(out, (list, tuple)):
        raise WrongAnswer(f"{fn} should return a list of tensors, got {type(out).__name__}")
    out, _, shared = kept.returned(out, f"what {fn} returned")  # one read: values, and which are inputs
    for i, t in enumerate(out):
        if not isinstance(t, torch.Tensor):
            raise WrongAnswer(f"{fn} returned a list whose entry {i} is a {type(t).__name__}, not a tensor")
    # whether the gradients changed is judged on the trusted side (grader.checks.input_changes)
    return {"clipped": list(out), "count": len(out), "inputs": kept.after(), "shares_input": shared}
