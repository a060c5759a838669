"""Make the "pre-trained" checkpoint ``smallNetSaved`` shipped with the mfdnn-hw7 template.

The homework's checkpoint came from training on CIFAR-10; this one is made without any
download and bit for bit reproducibly: ``smallNetTrain`` (imported from the template, so
the two can never differ) is trained briefly in float64 on one thread, on seeded synthetic
images whose channels have nonzero means and unequal scales, so that every BatchNorm
layer ends with running statistics far from (0, 1) and different per channel. The
BatchNorm affine parameters are then redrawn from a seeded generator (some weights
negative), since a short training run leaves them close to (1, 0). The result is cast to
float32 and saved as a ``state_dict`` with ``torch.save``.

Usage: ``python reference/mfdnn-hw7/make_smallnet_checkpoint.py [--out PATH]``.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "student_template" / "mfdnn-hw7"
DEFAULT_OUT = TEMPLATE_DIR / "smallNetSaved"

SEED = 7
TRAIN_STEPS = 40
BATCH_SIZE = 64
LEARNING_RATE = 0.05
# Per-channel mean and standard deviation of the synthetic images. The unequal scales
# spread bn1's running variances over its channels; the means keep running means off 0.
CHANNEL_MEAN = (0.49, 0.48, 0.45)
CHANNEL_STD = (0.1, 0.3, 0.8)
NEGATIVE_GAMMA_FRACTION = 0.2


def load_template_module() -> ModuleType:
    """Import ``student_template/mfdnn-hw7/bn_remove.py`` by path (its folder is no package)."""
    path = TEMPLATE_DIR / "bn_remove.py"
    spec = importlib.util.spec_from_file_location("mfdnn_hw7_bn_remove_template", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_batch(generator: torch.Generator, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Images with shifted, scaled channels and labels from a fixed random linear teacher."""
    mean = torch.tensor(CHANNEL_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(CHANNEL_STD, dtype=torch.float64).view(1, 3, 1, 1)
    images = mean + std * torch.randn(BATCH_SIZE, 3, 32, 32, generator=generator, dtype=torch.float64)
    # The teacher reads the images average-pooled to 4x4, so labels depend on their layout.
    pooled = F.avg_pool2d(images - mean, 8).flatten(1)
    labels = (pooled @ teacher).argmax(dim=1)
    return images, labels


def train(net: nn.Module, generator: torch.Generator) -> None:
    """A few SGD steps in train mode: enough to move every running statistic off its start."""
    teacher = torch.randn(3 * 4 * 4, 10, generator=generator, dtype=torch.float64)
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE, momentum=0.9)
    net.train()
    for _ in range(TRAIN_STEPS):
        images, labels = synthetic_batch(generator, teacher)
        loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def redraw_bn_affine(net: nn.Module, generator: torch.Generator) -> None:
    """Give every BatchNorm weights of magnitude in [0.5, 1.5], some negative, and biases ~ N(0, 0.3^2)."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = module.num_features
                magnitude = 0.5 + torch.rand(n, generator=generator, dtype=torch.float64)
                sign = torch.where(
                    torch.rand(n, generator=generator, dtype=torch.float64) < NEGATIVE_GAMMA_FRACTION, -1.0, 1.0
                )
                module.weight.copy_(sign * magnitude)
                module.bias.copy_(0.3 * torch.randn(n, generator=generator, dtype=torch.float64))


def make_checkpoint() -> dict[str, torch.Tensor]:
    """The float32 ``state_dict`` of the trained ``smallNetTrain``; the same tensors on every call.

    Runs on one CPU thread so that the summation order, hence every rounding, is the same
    whatever the machine's core count. The caller's thread count and global random state
    are left as they were.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)  # the layers' default initialisation draws from the global generator
            generator = torch.Generator().manual_seed(SEED)
            net = load_template_module().smallNetTrain().to(torch.float64)
            train(net, generator)
            redraw_bn_affine(net, generator)
    finally:
        torch.set_num_threads(previous_threads)
    # The integer num_batches_tracked buffers stay as they are.
    return {
        name: tensor.float() if tensor.is_floating_point() else tensor.clone()
        for name, tensor in net.state_dict().items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default: {DEFAULT_OUT})")
    args = parser.parse_args()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(make_checkpoint(), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
