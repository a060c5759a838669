"""Hostile (timing): a correct but slow network that caches its output per input.

remove_bn folds BatchNorm correctly; the network it returns (a smallNetTest subclass with
the same parameters) computes its logits with the folded forward pass done 8 times (about
8x the cost of train_net.eval()), and keeps the result keyed by the input tensor object
(its id, checked through a weak reference so a new tensor at a recycled address is a miss)
and its version counter (an in-place change of the input is computed afresh). The grader's
timing calls the network again and again on one and the same input tensor, so after the
warm-up call every timed call is a dictionary look-up.

A fair grader: every equivalence and structure check passes (the logits are right),
test_not_slower FAILS (computing the network on an input costs about 8x train_net.eval();
repeating a cached answer is not running the network): 22/25.
The grader at HEAD times the cache hits: ratio far below 1.5, test_not_slower passes, 25/25.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn as nn
import torch.nn.functional as F


class smallNetTrain(nn.Module):
    """The network as trained, for inputs of shape (B, 3, 32, 32) (given code)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(32, eps=1e-3)
        self.fc1 = nn.Linear(32 * 8 * 8, 128)
        self.bn3 = nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.bn3(self.fc1(x)))
        return self.fc2(x)


class smallNetTest(nn.Module):
    """The same network without BatchNorm (given code)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(32 * 8 * 8, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def fold_into(test_net: smallNetTest, train_net: smallNetTrain) -> smallNetTest:
    """The reference's folding: conv1/bn1, conv2/bn2, fc1/bn3 become one affine layer each."""
    with torch.no_grad():
        for layer_name, bn_name in (("conv1", "bn1"), ("conv2", "bn2"), ("fc1", "bn3")):
            layer, bn = getattr(train_net, layer_name), getattr(train_net, bn_name)
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            getattr(test_net, layer_name).weight.copy_(layer.weight * scale.reshape(-1, *([1] * (layer.weight.dim() - 1))))
            getattr(test_net, layer_name).bias.copy_((layer.bias - bn.running_mean) * scale + bn.bias)
        test_net.fc2.weight.copy_(train_net.fc2.weight)
        test_net.fc2.bias.copy_(train_net.fc2.bias)
    return test_net


# The "slow but correct" part every attack here shares: the folded network's forward pass
# done REPEAT times (the same result each time). train_net.eval() costs about one pass, so
# this network is about REPEAT times slower than the baseline: far over the allowed 1.5.
REPEAT = 8


def slow_forward(net: smallNetTest, x: torch.Tensor) -> torch.Tensor:
    out = None
    for _ in range(REPEAT):
        out = smallNetTest.forward(net, x)
    return out


class _MemoNet(smallNetTest):
    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hit = self._cache.get(id(x))
        if hit is not None and hit[0]() is x and hit[1] == x._version:
            return hit[2]  # the same input as before: no work at all
        out = slow_forward(self, x)  # right, and slow
        self._cache[id(x)] = (weakref.ref(x), x._version, out)
        return out


def remove_bn(train_net: smallNetTrain) -> smallNetTest:
    like = train_net.conv1.weight
    return fold_into(_MemoNet().to(device=like.device, dtype=like.dtype), train_net)
