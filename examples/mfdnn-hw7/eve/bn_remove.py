"""Homework 7, problem 3 (bn_remove), Eve's submission: fold each BatchNorm into the layer before it."""

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
    """Return a new ``smallNetTest`` whose outputs equal ``train_net.eval()``'s.

    ``train_net`` must come out unchanged (weights, running statistics and all), and the
    returned network must have the dtype and device of ``train_net``'s parameters.
    """
    w = train_net.fc2.weight
    test_net = smallNetTest().to(device=w.device, dtype=w.dtype)
    with torch.no_grad():
        for name, bn_name in (("conv1", "bn1"), ("conv2", "bn2"), ("fc1", "bn3")):
            weight, bias = _fold(getattr(train_net, name), getattr(train_net, bn_name))
            getattr(test_net, name).weight.copy_(weight)
            getattr(test_net, name).bias.copy_(bias)
        test_net.fc2.weight.copy_(train_net.fc2.weight)
        test_net.fc2.bias.copy_(train_net.fc2.bias)
    return test_net


def _fold(layer: nn.Module, bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    # eval-mode BN: y = gamma (z - mu) / sqrt(var + eps) + beta, i.e. y = s * z + t per output channel
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    t = bn.bias - s * bn.running_mean
    # scale output channel k of the layer (dim 0 of its weight) by s[k]
    shape = [-1] + [1] * (layer.weight.dim() - 1)
    return layer.weight * s.reshape(shape), s * layer.bias + t


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
