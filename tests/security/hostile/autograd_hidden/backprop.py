"""Hostile: computes the gradients with autograd and hides it from the no-autograd check.
At import it keeps the real torch.autograd.grad (the check swaps in a spy only during its
call) and replaces torch.autograd.graph.saved_tensors_hooks with a context manager that does
nothing (the check's other detector). Every value is right; but autograd was used, so a
fair grader fails test_no_autograd: 22."""

import contextlib

import torch
from torch import Tensor

_grad = torch.autograd.grad


@contextlib.contextmanager
def _no_hooks(pack_hook, unpack_hook):
    yield


torch.autograd.graph.saved_tensors_hooks = _no_hooks


def sigma(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def backprop(A_list, b_list, X, Y):
    params = [p.detach().requires_grad_() for p in [*A_list, *b_list]]
    with torch.enable_grad():
        out = X
        for i in range(len(A_list)):
            out = params[i] @ out + params[len(A_list) + i]
            if i < len(A_list) - 1:
                out = sigma(out)
        grads = _grad(((out - Y) ** 2).sum() / 2, params)
    return [g.detach() for g in grads[: len(A_list)]], [g.detach() for g in grads[len(A_list):]]
