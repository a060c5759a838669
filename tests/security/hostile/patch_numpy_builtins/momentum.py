"""Hostile: at import, patches numpy's comparisons (allclose, array_equal, isclose,
testing.assert_allclose) and builtins (abs returns 0; isinstance says any _Anything is a
torch.Tensor; print is silenced). Its heavy_ball returns all-zero iterates (wrong); its
velocity_momentum is the reference. Right are the velocity test (7) and the theta0 test
(3: the zeros are new tensors and theta0 is untouched): 10.
"""

import builtins

import numpy
import torch

_isinstance = builtins.isinstance


class _Anything:
    pass


def _lying_isinstance(obj, cls):
    if type(obj) is _Anything and cls is torch.Tensor:
        return True
    return _isinstance(obj, cls)


numpy.allclose = lambda *args, **kwargs: True
numpy.array_equal = lambda *args, **kwargs: True
numpy.isclose = lambda a, *args, **kwargs: numpy.ones(numpy.shape(a), dtype=bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
builtins.abs = lambda x: 0
builtins.isinstance = _lying_isinstance
builtins.print = lambda *args, **kwargs: None


def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):
    return [torch.zeros_like(theta0) for _ in range(num_steps + 1)]


def velocity_momentum(theta0, grad_fn, alpha, beta, num_steps):
    theta = theta0.clone()
    velocity = torch.zeros_like(theta0)  # v^0 = 0
    iterates = [theta]
    for _ in range(num_steps):
        velocity = grad_fn(theta) + beta * velocity
        theta = theta - alpha * velocity
        iterates.append(theta)
    return iterates
