"""Hidden checks for `bn_remove` (mfdnn-hw7, Problem 3): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

from typing import Any

import torch

from grader import public_checks
from types import ModuleType
from grader.fixtures import Generator, Submission

public = public_checks(__file__)


def random_state(given: Any, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """A smallNetTrain as training might leave it: any weights, BN statistics far from (0, 1),
    negative BN scales, and a few nearly-dead channels with tiny running variance."""
    state = {}
    for name, v in given.smallNetTrain().state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(int(torch.randint(1, 10_000, (1,), generator=gen)))
        elif name.endswith("running_var"):
            var = torch.exp(torch.randn(v.shape, generator=gen, dtype=torch.float64) * 1.5)
            var[torch.rand(v.shape, generator=gen) < 0.1] = 1e-4
            state[name] = var
        elif name.endswith("running_mean"):
            state[name] = torch.randn(v.shape, generator=gen, dtype=torch.float64) * 2
        elif ".weight" in name and v.dim() == 1:  # BN scale, of either sign
            state[name] = torch.randn(v.shape, generator=gen, dtype=torch.float64)
        else:
            fan_in = v[0].numel() if v.dim() > 1 else 1
            state[name] = torch.randn(v.shape, generator=gen, dtype=torch.float64) * (2 / fan_in) ** 0.5
    return state


def test_random_networks(submission: Submission, given: ModuleType, generator: Generator) -> None:
    gen = generator()
    for k in range(3):
        state = random_state(given, gen)
        x = torch.randn(64, 3, 32, 32, generator=gen, dtype=torch.float64)
        public.check_fold(submission, given, state, x, public.F64,
                          f"logits of remove_bn(train_net) vs train_net.eval() on random network {k + 1} of 3 "
                          "(random BN statistics, negative BN scales, tiny variances), float64")
