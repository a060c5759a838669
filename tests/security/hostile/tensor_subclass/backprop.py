"""Hostile: returns all-zero gradients as a torch.Tensor subclass that claims to equal
anything: __eq__ is always True, __ne__ always False, and its __torch_function__ answers
allclose/equal/isclose/eq with "yes" and abs/sub with zeros. Only plain data can reach the
grader, so the values are judged as what they are: only the shape and no-autograd checks
pass, 3 + 3.
"""

import torch


class Liar(torch.Tensor):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = torch.Tensor.__hash__

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal"):
            return True
        if name in ("isclose", "eq", "__eq__"):
            return torch.ones(args[0].shape, dtype=torch.bool)
        if name in ("abs", "sub", "__sub__", "__rsub__"):
            with torch._C.DisableTorchFunctionSubclass():
                return torch.zeros_like(args[0])
        return super().__torch_function__(func, types, args, kwargs)


def backprop(A_list, b_list, X, Y):
    return ([torch.zeros_like(A).as_subclass(Liar) for A in A_list],
            [torch.zeros_like(b).as_subclass(Liar) for b in b_list])
