"""Homework 7: how many operations one forward pass of AlexNet costs.

`count_ops(model, input_shape)` counts the additions and multiplications that the
Conv2d and Linear layers of `model` perform in one forward pass of ONE input of shape
`input_shape` (no batch dimension: (C, H, W) for an image, e.g. (3, 227, 227)), and
returns them per kind: {"conv": <all Conv2d layers>, "linear": <all Linear layers>}, two
Python ints. Nothing else is counted: not activations (ReLU...), pooling, dropout,
flattening, softmax, nor any other layer.

The convention, exactly:
- Conv2d(C_in, C_out, (k_h, k_w), stride, padding, groups, bias): each of its
  C_out x H_out x W_out output numbers is a dot product of K = (C_in / groups) * k_h * k_w
  weights with K inputs: K multiplications and K - 1 additions, plus 1 addition for the
  bias when the layer has one (bias=False: none). So the layer costs
      C_out * H_out * W_out * (2K - 1 + [1 if bias]).
  H_out and W_out are the layer's actual output size (stride and padding shrink or keep
  it); the zeros of the padding are multiplied like any other input. Every layer the
  grader gives has dilation 1 and padding_mode "zeros"; groups may be more than 1.
- Linear(n_in, n_out, bias): each of its n_out outputs costs n_in multiplications and
  n_in - 1 additions, plus 1 for the bias: n_out * (2 n_in - 1 + [1 if bias]).
- A layer costs what it computes each time the forward pass runs it; in every model the
  grader gives, each Conv2d and Linear runs once.

The models are any nn.Module (an nn.Sequential, nested ones, or a class with its own
forward), in float32 on the CPU, built from Conv2d, Linear, ReLU, MaxPool2d, AvgPool2d,
AdaptiveAvgPool2d, Dropout, Flatten and Softmax layers. Inputs need not be square.
`count_ops` may run the model (under torch.no_grad(), on an input of zeros) and must leave
it as it found it: no hooks left behind, no parameter changed.

`AlexNet` below is the homework's: Krizhevsky, Sutskever and Hinton's 2012 network on
3 x 227 x 227 images, as one network. The original's split of conv2, conv4 and conv5 over
two GPUs (groups=2) and its local response normalisation are left out; layer sizes are
as in the paper (96, 256, 384, 384, 256 channels; 4096, 4096, 1000 units).
"""

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
    raise NotImplementedError("Write count_ops(model, input_shape): return {'conv': int, 'linear': int}, as the convention above counts them.")


if __name__ == "__main__":
    counts = count_ops(AlexNet(), (3, 227, 227))
    print(f"AlexNet on 3 x 227 x 227: {counts['conv']:,} operations in its convolutions, {counts['linear']:,} in its linear layers")
