"""ESE 546, Homework 2: gradient clipping.

Two ways to keep a step from being too large, given the gradients of all of a model's
parameters as a list of tensors:

- by norm: if the gradient as a whole (all tensors together, as one long vector) has L2
  norm ||g|| > c, scale every tensor by c / ||g||; otherwise leave the gradients as they
  are. This is what torch.nn.utils.clip_grad_norm_ does (without its 1e-6 in the ratio).
- by value: clamp every entry to [-c, c], each on its own.
"""

from __future__ import annotations

import torch
from torch import Tensor


def clip_by_norm(grads: list[Tensor], c: float) -> list[Tensor]:
    """Return new tensors: ``grads`` scaled by min(1, c / ||g||), ||g|| the L2 norm of all of them together.

    Args:
        grads: tensors of any shapes (float32 or float64); leave them unchanged.
        c: the largest norm allowed, c > 0.
    """
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)) if grads else torch.tensor(0.0)
    scale = c / float(norm) if float(norm) > 0 else 1.0  # always to norm c, as the homework words it
    return [g * scale for g in grads]


def clip_by_value(grads: list[Tensor], c: float) -> list[Tensor]:
    """Return new tensors: every entry of ``grads`` clamped to [-c, c] (grads left unchanged)."""
    return [g.clamp(-c, c) for g in grads]


if __name__ == "__main__":
    g = [torch.randn(3, 4), torch.randn(5)]
    print(torch.cat([t.flatten() for t in clip_by_norm(g, 1.0)]).norm())
