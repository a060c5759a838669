"""Worker-side driver for `backprop` (runs in the student's process; reports, never judges).

The driver is loaded before the student's module is imported, so the autograd watch
(``AutogradWatch``, from grader.driver) is armed from the first line of their code.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.driver import AutogradWatch, WrongAnswer, plain, tensor_list

_watch = AutogradWatch()


def gradients(student: Any, A_list: list[torch.Tensor], b_list: list[torch.Tensor], X: torch.Tensor,
              Y: torch.Tensor, device: str, watch_autograd: bool = False) -> dict[str, Any]:
    A = [a.to(device) for a in A_list]
    b = [v.to(device) for v in b_list]
    X, Y = X.to(device), Y.to(device)
    used: list[str] = []
    if watch_autograd:
        out, used = _watch.run(lambda: student.backprop(A, b, X, Y))
        if used:  # it raised after a use of autograd, which was reported as it happened
            return {"dA": [], "db": [], "autograd": used}
    else:
        out = student.backprop(A, b, X, Y)
    if isinstance(out, (tuple, list)):
        out = plain(out, "what backprop returned")  # one read: a list subclass shows nothing else later
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongAnswer(f"backprop should return (dA_list, db_list); got {type(out).__name__}")
    dA = tensor_list(out[0], "dA_list", len(A))
    db = tensor_list(out[1], "db_list", len(b))
    return {"dA": dA, "db": db, "autograd": used}

