"""mfdnn-hw7 bn_remove, a right solution in another style than the reference.

Works on state_dicts only: for each BatchNorm, a = gamma * rsqrt(running_var + eps)
scales the output channels of the layer before it (an einsum over the leading axis),
and the new bias is beta + a * (b - running_mean). The folded dictionary is loaded
strictly into a smallNetTest moved to train_net's dtype and device first.
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


# (layer, BatchNorm) name pairs, in forward order.
PAIRS = [("conv1", "bn1"), ("conv2", "bn2"), ("fc1", "bn3")]


def remove_bn(train_net: smallNetTrain) -> smallNetTest:
    """A new smallNetTest whose state_dict is train_net's with every BatchNorm folded in."""
    source = {key: value.detach() for key, value in train_net.state_dict().items()}
    folded: dict[str, torch.Tensor] = {"fc2.weight": source["fc2.weight"], "fc2.bias": source["fc2.bias"]}
    for layer, bn in PAIRS:
        eps = getattr(train_net, bn).eps  # not in the state_dict, and not the same for every layer
        a = source[f"{bn}.weight"] * torch.rsqrt(source[f"{bn}.running_var"] + eps)
        folded[f"{layer}.weight"] = torch.einsum("o...,o->o...", source[f"{layer}.weight"], a)
        folded[f"{layer}.bias"] = source[f"{bn}.bias"] + a * (source[f"{layer}.bias"] - source[f"{bn}.running_mean"])
    test_net = smallNetTest().to(source["conv1.weight"])  # same dtype and device
    test_net.load_state_dict(folded, strict=True)
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
