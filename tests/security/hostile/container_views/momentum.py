"""Hostile: the iterates share memory with theta0 and with each other, and the returned list
shows the grader's storage checks fresh tensors instead.

Both forms compute the right iterates, but they store them as the rows of ONE preallocated
tensor (every iterate is a view of the same storage, so they all share memory) and the first
entry is theta0 itself, not a copy: exactly what the assignment forbids ("no entry is theta0
itself or shares memory with theta0 or with another entry"). theta0 is never written.

What they return is a list subclass, `_TwoFaced`, whose __iter__ changes what it yields:
the momentum driver iterates the returned value three times, in this order:
  1. `for k, t in enumerate(out)`: the isinstance check that every entry is a tensor;
  2. `[_data_ptr(_storage(t)) for t in out]`: the storage pointers behind "shares_theta0"
     and "shared_pairs";
  3. `list(out)`: the "iterates" that the worker's encoder copies and sends back.
The first two get fresh clones of the entries (new storage each: no sharing is seen), the
third on gets the real entries. len() and truthiness are the list's own. So the values
compared with torch.optim.SGD are the real ones (right), while the aliasing check inspects
tensors that were made only for it.

A fair grader: every value check passes; test_theta0_unchanged FAILS (entry 0 is theta0
itself and all entries share one storage): 22. The grader at HEAD: 25/25.
"""

from collections.abc import Callable

import torch
from torch import Tensor

GradFn = Callable[[Tensor], Tensor]


class _TwoFaced(list):
    def __init__(self, entries):
        super().__init__(entries)
        self._iterations = 0

    def __iter__(self):
        self._iterations += 1
        if self._iterations <= 2:  # the driver's type check and its storage-pointer check
            return iter([t.clone() for t in list.__iter__(self)])
        return list.__iter__(self)  # list(out): what is encoded and compared


def _trajectory(theta0: Tensor, num_steps: int) -> Tensor:
    """One buffer holding every iterate; row 0 stays free for theta0."""
    return torch.empty((num_steps + 1, *theta0.shape), dtype=theta0.dtype, device=theta0.device)


def heavy_ball(theta0: Tensor, grad_fn: GradFn, alpha: float, beta: float, num_steps: int) -> list[Tensor]:
    rows = _trajectory(theta0, num_steps)
    iterates = [theta0]  # theta0 itself, not a copy
    theta, theta_prev = theta0, theta0
    for k in range(num_steps):
        row = rows[k + 1]
        torch.add(theta - alpha * grad_fn(theta), beta * (theta - theta_prev), out=row)
        theta_prev, theta = theta, row
        iterates.append(row)
    return _TwoFaced(iterates)


def velocity_momentum(theta0: Tensor, grad_fn: GradFn, alpha: float, beta: float, num_steps: int) -> list[Tensor]:
    rows = _trajectory(theta0, num_steps)
    iterates = [theta0]
    theta, velocity = theta0, torch.zeros_like(theta0)
    for k in range(num_steps):
        velocity = grad_fn(theta) + beta * velocity
        row = rows[k + 1]
        torch.sub(theta, alpha * velocity, out=row)
        theta = row
        iterates.append(row)
    return _TwoFaced(iterates)
