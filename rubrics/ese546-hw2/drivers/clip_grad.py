"""Worker-side driver for `clip_grad`: calls one clipping function and reports what came back."""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.driver import WrongAnswer, plain, tensor_list


_storage = torch.Tensor.untyped_storage  # bound before the student's module is imported
_data_ptr = torch.UntypedStorage.data_ptr


def clip(student: Any, fn: str, grads: list[torch.Tensor], c: float, device: str) -> dict[str, Any]:
    grads = [g.to(device) for g in grads]
    given, n = {_data_ptr(_storage(g)) for g in grads}, len(grads)
    out = getattr(student, fn)(grads, c)
    if not isinstance(out, (list, tuple)):
        raise WrongAnswer(f"{fn} should return a list of tensors, got {type(out).__name__}")
    out, ptrs = plain(out, f"what {fn} returned", storages=True)  # one read: values and storages together
    for i, t in enumerate(out):
        if not isinstance(t, torch.Tensor):
            raise WrongAnswer(f"{fn} returned a list whose entry {i} is a {type(t).__name__}, not a tensor")
    # changes to grads are judged on the trusted side, from the list as the call left it (read
    # once: what the student's code put there is theirs to have made sendable)
    after = tensor_list(grads, f"the list of gradients after {fn}", n)
    return {"clipped": list(out), "count": len(out), "grads_after": after,
            "shares_input": [i for i, p in enumerate(ptrs) if p in given]}
