"""Hostile (timing): answers the grader's timed 'run' requests itself, without running anything.

At import (the worker imports this file from inside its request loop, ``main`` in the
worker script, which is the process's ``__main__`` module) it finds that loop's frame on the
call stack, takes the reply descriptor from its locals (``rep``) and replaces the module's
``read_frame`` with a wrapper: each request is read as before, but a 'run' request (the
timing's "call the prepared network N times") is answered at once with the same success
frame the loop would send ({"ok": true, "values": {}, "info": {"elapsed": 0.0}}), and the
wrapper reads on; every other request ('call', 'prepare', 'exit') goes to the loop as usual.
The network remove_bn returns is right (the reference's folding) but its forward pass is done
8 times: about 8x the cost of train_net.eval().

A fair grader: every equivalence and structure check passes, test_not_slower FAILS (the
network is about 8x slower than train_net.eval(); nothing was run in the timed requests):
22/25. The grader at HEAD times empty round trips: ratio far below 1.5, 25/25.
"""

from __future__ import annotations

import sys

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


class _SlowNet(smallNetTest):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return slow_forward(self, x)


def remove_bn(train_net: smallNetTrain) -> smallNetTest:
    like = train_net.conv1.weight
    return fold_into(_SlowNet().to(device=like.device, dtype=like.dtype), train_net)


def _take_over_the_request_loop() -> None:
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "main" and "rep" in frame.f_locals and "prepared" in frame.f_locals):
        frame = frame.f_back
    if frame is None:
        return  # not imported by the grader's worker (e.g. a student's own run): nothing to do
    worker = frame.f_globals  # the worker script's module namespace (its __main__)
    rep = frame.f_locals["rep"]
    read_frame, write_frame = worker["read_frame"], worker["write_frame"]

    def read_frame_answering_runs(fd: int):  # type: ignore[no-untyped-def]
        while True:
            header, payload = read_frame(fd)
            if header.get("op") != "run":
                return header, payload
            write_frame(rep, {"ok": True, "values": {}, "info": {"elapsed": 0.0}})

    worker["read_frame"] = read_frame_answering_runs


_take_over_the_request_loop()
