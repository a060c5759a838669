"""Homework 7, Problem 3: removing BatchNorm after training.

Alice's submission.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


class smallNetTrain(nn.Module):
    """The network as trained, for inputs of shape (B, 3, 32, 32): BatchNorm after every layer but the last."""

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
    """The same network without BatchNorm: what ``remove_bn`` returns."""

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


def remove_bn(train_net: smallNetTrain) -> smallNetTest:
    # In eval mode, BN(z) = gamma * (z - mean) / sqrt(var + eps) + beta = a * z + c per channel,
    # so BN(W x + b) = (a W) x + (a b + c): scale the rows of W and fix the bias.
    p = train_net.conv1.weight
    net = smallNetTest().to(p.device, p.dtype)
    pairs = [
        (net.conv1, train_net.conv1, train_net.bn1),
        (net.conv2, train_net.conv2, train_net.bn2),
        (net.fc1, train_net.fc1, train_net.bn3),
    ]
    for new, old, bn in pairs:
        std = (bn.running_var + bn.eps).sqrt()
        a = bn.weight.detach() / std
        c = bn.bias.detach() - a * bn.running_mean
        if old.weight.dim() == 4:
            new.weight.data = old.weight.detach() * a[:, None, None, None]
        else:
            new.weight.data = old.weight.detach() * a[:, None]
        new.bias.data = a * old.bias.detach() + c
    net.fc2.weight.data = train_net.fc2.weight.detach().clone()
    net.fc2.bias.data = train_net.fc2.bias.detach().clone()
    return net


def _demo() -> None:
    """Fold the shipped checkpoint and compare both networks on random inputs."""
    train_net = smallNetTrain()
    state_dict = torch.load(Path(__file__).with_name("smallNetSaved"))
    train_net.load_state_dict(state_dict, strict=True)
    test_net = remove_bn(train_net)

    x = torch.randn(256, 3, 32, 32)
    with torch.no_grad():
        expected = train_net.eval()(x)
        got = test_net.eval()(x)
    error = (got - expected).abs().max().item()
    print(f"largest |difference| between the two networks: {error:.2e} (expect about 1e-6 or less)")


if __name__ == "__main__":
    _demo()
