"""Worker-side driver for `bottleneck`: calls the counting functions and reports what came
back, each count as its value and the form it came in.

The value and the form are graded apart (rubrics/README.md, "Right numbers, right form"):
a count whose value can be read exactly (an int, a float with no fraction, a one-element
tensor, a numpy scalar) is reported by value, and its form (None for an exact int) goes to
the one test that checks the form. Anything else is the student's WrongAnswer here.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from grader.driver import WrongAnswer

QUANTITIES = ("additions", "multiplications", "activations")


def _count(value: Any, what: str) -> list[Any]:
    """[number, form]: the number (an int where it is whole) and None, or the form it came in."""
    form = None
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise WrongAnswer(f"{what} is a tensor of shape {tuple(value.shape)}; return one int")
        form = f"a {str(value.dtype).removeprefix('torch.')} tensor"
        value = value.detach().reshape(()).item()
    if isinstance(value, bool):
        raise WrongAnswer(f"{what} is the bool {value}; return an int")
    if isinstance(value, numbers.Integral):  # a Python or numpy integer
        if type(value).__module__ == "numpy":
            form = form or f"a numpy {type(value).__name__}"
        return [int(value), form]
    if isinstance(value, numbers.Real):  # a float, a numpy float, a Fraction...
        number = float(value)
        if not math.isfinite(number):
            raise WrongAnswer(f"{what} is {number}; return a whole number")
        form = form or f"a {type(value).__name__}"
        return [int(number) if number.is_integer() else number, form]
    raise WrongAnswer(f"{what} should be an int, got {type(value).__name__}")


def _three(value: Any, fn: str) -> list[list[Any]]:
    """The (additions, multiplications, activations) a *_ops function returned."""
    items = list(tuple.__iter__(value) if isinstance(value, tuple) else list.__iter__(value)) \
        if isinstance(value, (tuple, list)) else None  # one read, through the built-in types' own iteration
    if items is not None and len(items) == 3:
        return [_count(v, f"{fn}(...)[{i}] ({q})") for i, (v, q) in enumerate(zip(items, QUANTITIES))]
    if isinstance(value, (numbers.Number, torch.Tensor)) and not isinstance(value, bool):
        raise WrongAnswer(f"{fn} returned one number ({value!r}); it returns three: (additions, multiplications, activations)")
    raise WrongAnswer(f"{fn} should return a tuple (additions, multiplications, activations), got {type(value).__name__}"
                      + (f" of length {len(items)}" if items is not None else ""))


def counts(student: Any, fns: list[str], naive: dict[str, int], bottleneck: dict[str, int], h: int, w: int,
           device: str) -> dict[str, Any]:
    """For each function of ``fns`` (only those are called): ``[number, form]`` for a
    *_params function, three of them (additions, multiplications, activations) for *_ops."""
    args = {
        "naive_params": naive,
        "naive_ops": {**naive, "h": h, "w": w},
        "bottleneck_params": bottleneck,
        "bottleneck_ops": {**bottleneck, "h": h, "w": w},
    }
    got: dict[str, Any] = {}
    for fn in fns:
        value = getattr(student, fn)(**args[fn])
        got[fn] = _three(value, fn) if fn.endswith("_ops") else _count(value, f"{fn}(...)")
    return got
