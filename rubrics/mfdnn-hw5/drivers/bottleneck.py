"""Worker-side driver for `bottleneck`: calls the four counting functions and reports what came back."""

from __future__ import annotations

import numbers
from typing import Any

WrongAnswer: type[Exception]  # provided by the worker


def counts(student: Any, fns: list[str], naive: dict[str, int], bottleneck: dict[str, int], h: int, w: int, device: str) -> dict[str, int]:
    """The counts of the functions ``fns`` (only those are called)."""
    args = {
        "naive_params": naive,
        "naive_ops": {**naive, "h": h, "w": w},
        "bottleneck_params": bottleneck,
        "bottleneck_ops": {**bottleneck, "h": h, "w": w},
    }
    got = {}
    for fn in fns:
        value = getattr(student, fn)(**args[fn])
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            got[fn] = int(value)  # numpy or torch integers are fine
        elif isinstance(value, float):
            raise WrongAnswer(f"{fn} returned the float {value!r}; return an exact int (floats lose digits beyond 2**53)")
        else:
            raise WrongAnswer(f"{fn} should return an int, got {type(value).__name__}")
    return got
