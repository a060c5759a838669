"""Hostile: at import, makes every comparison in its process say "equal" (torch.allclose,
torch.equal, torch.isclose, torch.testing.assert_close, Tensor.__eq__/__ne__/allclose,
torch.abs/Tensor.abs/Tensor.__sub__ returning zeros), then returns all-zero gradients of
the right shapes. Only the shape and no-autograd checks can pass: 3 + 3.
"""

import torch

_zeros_like = torch.zeros_like

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, *args, **kwargs: torch.ones(a.shape, dtype=torch.bool)
torch.testing.assert_close = lambda *args, **kwargs: None
torch.Tensor.__eq__ = lambda self, other: True
torch.Tensor.__ne__ = lambda self, other: False
torch.Tensor.allclose = lambda self, *args, **kwargs: True
torch.Tensor.equal = lambda self, *args, **kwargs: True
torch.abs = lambda t, *args, **kwargs: _zeros_like(t)
torch.Tensor.abs = lambda self: _zeros_like(self)
torch.Tensor.__sub__ = lambda self, other: _zeros_like(self)


def backprop(A_list, b_list, X, Y):
    return [_zeros_like(A) for A in A_list], [_zeros_like(b) for b in b_list]
