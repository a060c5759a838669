"""Mathematical Foundations of DNNs, Homework 5: memorization (training on random labels).

Zhang et al. (2017), "Understanding deep learning requires rethinking generalization":
a network with enough parameters fits labels that have nothing to do with the images. You
get N images and labels drawn uniformly at random from 0..9, and train a network of your
choice until it classifies (almost) every training image as its random label.

This problem is graded on a CUDA GPU (`device` is "cuda" there): a machine without one
reports it as skipped.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def memorize(images: Tensor, labels: Tensor, device: str) -> nn.Module:
    """Train a classifier on (images, labels) until it has memorised them; return it.

    Args:
        images: float32, shape (N, 3, 32, 32), values in [0, 1]; leave it unchanged.
        labels: int64, shape (N,), random classes in 0..9; leave it unchanged.
        device: where to train ("cuda" when graded, "cpu" on a machine without a GPU).

    Returns:
        An nn.Module on ``device`` mapping a batch (B, 3, 32, 32) to logits (B, 10). The
        grader calls ``model.eval()`` and counts how many training images it gets right:
        at least 95% is required.
    """
    torch.manual_seed(0)
    x, y = images.to(device).flatten(1), labels.to(device)
    mean = x.mean(0, keepdim=True)
    model = nn.Sequential(nn.Flatten(), _Center(mean), nn.Linear(x.shape[1], 512), nn.ReLU(), nn.Linear(512, 10)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = min(256, len(y))
    for epoch in range(100):
        for idx in torch.randperm(len(y), device=device).split(batch):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            if (model(x).argmax(1) == y).float().mean() >= 0.995:
                break
    return model


class _Center(nn.Module):
    """Subtracts the training images' mean (a fixed buffer, not a parameter)."""

    def __init__(self, mean: Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.clone())

    def forward(self, x: Tensor) -> Tensor:
        return x - self.mean


if __name__ == "__main__":
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator().manual_seed(1)
    images, labels = torch.rand(2048, 3, 32, 32, generator=g), torch.randint(0, 10, (2048,), generator=g)
    model = memorize(images, labels, device).eval()
    with torch.no_grad():
        print("train accuracy on random labels:", (model(images.to(device)).argmax(1).cpu() == labels).float().mean().item())
