"""mfdnn-hw7 bn_remove, a right solution in another style than the reference.

Lets PyTorch do the algebra: torch.nn.utils.fusion fuses each (layer, BatchNorm) pair.
Those helpers want both modules in eval mode, so they get eval-mode copies and
train_net itself is never touched, not even its training flag. The fused modules, which
keep train_net's dtype and device, replace the freshly initialised layers of a smallNetTest.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval


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


def _eval_copy(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module).eval()


def remove_bn(train_net: smallNetTrain) -> smallNetTest:
    """A new smallNetTest computing train_net.eval(), built from fused copies of its layers."""
    test_net = smallNetTest()
    with torch.no_grad():
        test_net.conv1 = fuse_conv_bn_eval(_eval_copy(train_net.conv1), _eval_copy(train_net.bn1))
        test_net.conv2 = fuse_conv_bn_eval(_eval_copy(train_net.conv2), _eval_copy(train_net.bn2))
        test_net.fc1 = fuse_linear_bn_eval(_eval_copy(train_net.fc1), _eval_copy(train_net.bn3))
        test_net.fc2 = copy.deepcopy(train_net.fc2)
    return test_net


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
