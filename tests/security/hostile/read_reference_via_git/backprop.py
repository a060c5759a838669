"""Hostile: at import, reads the reference solution out of the course's git history
(`git show HEAD:reference/mfdnn-hw5/backprop.py`, or by inflating the loose objects under
.git/objects itself) and uses it if it works. Its own backprop forgets the sigma' factor
(mistake backprop_missing_sigmoid_prime): on its own it earns only the shape and
no-autograd checks, 3 + 3, which is what it deserves.
"""

import glob
import importlib.util
import os
import subprocess
import zlib

import torch
from torch import Tensor


def course_root() -> str:
    spec = importlib.util.find_spec("grader")
    return os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else "/work/main"


def from_git(root: str) -> list[str]:
    texts = []
    try:
        texts.append(subprocess.run(
            ["git", "-c", "safe.directory=*", "--git-dir", os.path.join(root, ".git"), "show", "HEAD:reference/mfdnn-hw5/backprop.py"],
            capture_output=True, text=True, timeout=20).stdout)
    except (OSError, subprocess.SubprocessError):
        pass
    for path in glob.glob(os.path.join(root, ".git", "objects", "??", "*")):
        try:
            with open(path, "rb") as f:
                raw = zlib.decompress(f.read())
        except (OSError, zlib.error):
            continue
        if raw.startswith(b"blob ") and b"def backprop(" in raw:
            texts.append(raw.split(b"\0", 1)[1].decode("utf-8", "replace"))
    return [t for t in texts if "def backprop(" in t and "NotImplementedError" not in t]


def works(fn) -> bool:
    """Compare a candidate with autograd on a small network (autograd at import is not watched)."""
    gen = torch.Generator().manual_seed(1)
    A = [torch.randn(3, 2, generator=gen, dtype=torch.float64), torch.randn(1, 3, generator=gen, dtype=torch.float64)]
    b = [torch.randn(3, 1, generator=gen, dtype=torch.float64), torch.randn(1, 1, generator=gen, dtype=torch.float64)]
    X, Y = torch.randn(2, 1, generator=gen, dtype=torch.float64), torch.randn(1, 1, generator=gen, dtype=torch.float64)
    params = [t.clone().requires_grad_() for t in A + b]
    out = torch.sigmoid(params[0] @ X + params[2])
    out = params[1] @ out + params[3]
    grads = torch.autograd.grad(((out - Y) ** 2).sum() / 2, params)
    try:
        dA, db = fn(A, b, X, Y)
        return all(torch.allclose(g, e) for g, e in zip(list(dA) + list(db), grads))
    except Exception:
        return False


def steal():
    for text in from_git(course_root()):
        namespace = {"__name__": "stolen"}
        try:
            exec(compile(text, "reference", "exec"), namespace)
        except Exception:
            continue
        if callable(namespace.get("backprop")) and works(namespace["backprop"]):
            return namespace["backprop"]
    return None


STOLEN = steal()


def sigma(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def backprop(A_list, b_list, X, Y):
    if STOLEN is not None:
        return STOLEN(A_list, b_list, X, Y)
    num_layers = len(A_list)
    inputs = []
    y = X
    for i, (A, b) in enumerate(zip(A_list, b_list)):
        inputs.append(y)
        z = A @ y + b
        y = sigma(z) if i < num_layers - 1 else z
    dA_reversed, db_reversed = [], []
    delta = y - Y
    for i in reversed(range(num_layers)):
        dA_reversed.append(delta @ inputs[i].T)
        db_reversed.append(delta)
        if i > 0:
            delta = A_list[i].T @ delta  # the mistake: no sigma' factor
    return dA_reversed[::-1], db_reversed[::-1]
