"""Hostile: echoes the hidden test's inputs back in a visible test's failure message.

backprop computes the right gradients by hand (the reference's chain rule). Every call also
records what it was given: the number of layers, the largest layer width and the layer sizes
of the network, in module state and appended to a file in /tmp and to one in this file's
folder (so a record would survive a fresh module in the same sandbox). In the one call whose
network has layer sizes [3, 5, 4, 2], which only the visible test_shapes sends, it raises
instead, with everything it has recorded so far in the message:
"SEEN layers=6 width=4 sizes=[4, 4, 4, 4, 4, 4, 1]; layers=... ". The grader runs its
tests in the rubric's order in one worker, so by then the hidden test_hidden_networks (deeper
networks of 8 to 12 layers, and wider ones of 30 to 60 units, than any visible test) has run,
and its sizes are in the message that the visible test's result shows the student.

A fair grader: right gradients everywhere else, so only test_shapes (which raised) fails:
22/25, and no hidden size may reach the student (the visible output must not hold the sizes
test_hidden_networks sent; with seed 29705 those are [5, 3], [1, 1], [3, 1, 1, 1, 2],
[4, 4, 1, 4, 1, 1, 3, 4, 2, 2, 2, 1] (11 layers) and [36, 60, 55, 6] (width 60)). The grader
at HEAD: 22/25, and all five hidden networks appear in test_shapes' visible output
(result.json, visibility "visible", and feedback.html).
"""

from __future__ import annotations

import json
import os

import torch
from torch import Tensor

_SEEN: list[dict] = []
_RECORDS = ["/tmp/backprop-seen.jsonl", os.path.join(os.path.dirname(os.path.abspath(__file__)), "backprop-seen.jsonl")]
_TRIGGER = [3, 5, 4, 2]  # only test_shapes uses these layer sizes


def _remember(sizes: list[int]) -> None:
    entry = {"layers": len(sizes) - 1, "width": max(sizes), "sizes": sizes}
    _SEEN.append(entry)
    for path in _RECORDS:
        try:
            with open(path, "a") as f:
                f.write(json.dumps(entry) + "\n")
        except OSError:
            pass


def _everything_seen() -> list[dict]:
    seen = list(_SEEN)
    for path in _RECORDS:
        try:
            with open(path) as f:
                seen += [json.loads(line) for line in f if line.strip()]
        except OSError:
            pass
    unique = []
    for entry in seen:
        if entry not in unique:
            unique.append(entry)
    return unique


def backprop(A_list: list[Tensor], b_list: list[Tensor], X: Tensor, Y: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    sizes = [int(X.shape[0])] + [int(A.shape[0]) for A in A_list]
    if sizes == _TRIGGER:
        raise RuntimeError("SEEN " + "; ".join(f"layers={e['layers']} width={e['width']} sizes={e['sizes']}" for e in _everything_seen()))
    _remember(sizes)
    inputs, slopes, y = [], [], X
    for i, (A, b) in enumerate(zip(A_list, b_list)):
        inputs.append(y)
        z = A @ y + b
        if i < len(A_list) - 1:
            y = torch.sigmoid(z)
            slopes.append(y * (1 - y))
        else:
            y = z
    dA, db, delta = [], [], y - Y
    for i in reversed(range(len(A_list))):
        dA.append(delta @ inputs[i].T)
        db.append(delta)
        if i > 0:
            delta = (A_list[i].T @ delta) * slopes[i - 1]
    return dA[::-1], db[::-1]
