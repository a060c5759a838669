"""Worker-side driver for `lowrank`: calls best_rank_r and reports what came back."""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.driver import WrongAnswer, plain


def factor(student: Any, X: torch.Tensor, r: int, device: str) -> dict[str, Any]:
    X = X.to(device)
    out = student.best_rank_r(X, r)
    if isinstance(out, (tuple, list)):
        out = plain(out, "what best_rank_r returned")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongAnswer(f"best_rank_r should return a tuple (A, B), got {type(out).__name__}"
                          + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    A, B = out
    for name, t in (("A", A), ("B", B)):
        if not isinstance(t, torch.Tensor):
            raise WrongAnswer(f"best_rank_r returned {name} as a {type(t).__name__}, not a tensor")
    # whether X changed is decided on the trusted side (the student's code had it: read once)
    return {"A": A, "B": B, "X_after": plain(X, "X after best_rank_r")}
