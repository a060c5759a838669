"""Hostile: velocity_momentum returns objects that fake the tensor API (shape, dtype,
detach, clone, to, numpy, tolist, untyped_storage, __eq__ always True, __len__, __float__,
__array__) instead of tensors. heavy_ball is the reference. Everything that calls
velocity_momentum fails; the heavy-ball test passes: 7.
"""

import numpy
import torch


class FakeTensor:
    """Quacks like the tensor theta0 but holds nothing."""

    def __init__(self, like):
        self.shape, self.dtype, self.device = like.shape, like.dtype, like.device

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __len__(self):
        return self.shape[0] if self.shape else 0

    def __float__(self):
        return 0.0

    def __array__(self, dtype=None, copy=None):
        return numpy.zeros(tuple(self.shape))

    def detach(self):
        return self

    clone = contiguous = cpu = detach

    def to(self, *args, **kwargs):
        return self

    def numpy(self):
        return numpy.zeros(tuple(self.shape))

    def tolist(self):
        return self.numpy().tolist()

    def untyped_storage(self):
        return self

    def data_ptr(self):
        return id(self)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return len(self.shape)

    def numel(self):
        return int(numpy.prod(tuple(self.shape)))


def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):
    theta = theta0.clone()
    theta_prev = theta  # theta^{-1} = theta^0: the first step has no momentum
    iterates = [theta]
    for _ in range(num_steps):
        theta_next = theta - alpha * grad_fn(theta) + beta * (theta - theta_prev)
        theta_prev, theta = theta, theta_next
        iterates.append(theta)
    return iterates


def velocity_momentum(theta0, grad_fn, alpha, beta, num_steps):
    return [FakeTensor(theta0) for _ in range(num_steps + 1)]
