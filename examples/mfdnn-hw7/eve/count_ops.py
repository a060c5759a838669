"""Homework 7, count_ops: Eve's submission (forward hooks note each layer's output size)."""

from __future__ import annotations

import torch
from torch import nn


class AlexNet(nn.Module):
    """The homework's AlexNet, for inputs of shape (B, 3, 227, 227)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),  # 96 x 55 x 55
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 96 x 27 x 27
            nn.Conv2d(96, 256, kernel_size=5, padding=2),  # 256 x 27 x 27
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 256 x 13 x 13
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # 384 x 13 x 13
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1),  # 384 x 13 x 13
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),  # 256 x 13 x 13
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 256 x 6 x 6
        )
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def count_ops(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Additions plus multiplications of model's Conv2d and Linear layers, for one input.

    Args:
        model: an nn.Module (see the convention above); left unchanged.
        input_shape: the shape of one input, without the batch dimension, e.g. (3, 227, 227).

    Returns:
        {"conv": int, "linear": int}: the operations of all Conv2d layers, and of all Linear
        layers, in one forward pass of one input of that shape.
    """
    # Run the model once on a batch of one and note every Conv2d / Linear output; the cost
    # of an output number depends only on the layer, so count them afterwards.
    seen: list[tuple[nn.Module, int]] = []

    def note(layer: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        seen.append((layer, output[0].numel()))

    hooks = [m.register_forward_hook(note) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        p = next(model.parameters())
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), dtype=p.dtype, device=p.device))
    finally:
        for h in hooks:
            h.remove()

    total = {"conv": 0, "linear": 0}
    for layer, outputs in seen:
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            k = (layer.in_channels // layer.groups) * kh * kw
            total["conv"] += outputs * (2 * k - 1 + (1 if layer.bias is not None else 0))
        else:
            k = layer.in_features
            total["linear"] += outputs * (2 * k - 1 + (1 if layer.bias is not None else 0))
    return total


if __name__ == "__main__":
    counts = count_ops(AlexNet(), (3, 227, 227))
    print(f"AlexNet on 3 x 227 x 227: {counts['conv']:,} operations in its convolutions, {counts['linear']:,} in its linear layers")
