"""Data 598, Homework 3: BatchNorm and the smoothness of a ConvNet.

Two small ConvNets for 1 x 28 x 28 FashionMNIST images (10 classes), and the "effective
smoothness" of the loss along one SGD step (how much the full-batch gradient changes per
unit of step), which is how the homework compares a ConvNet with and without BatchNorm.

The networks (every layer an nn module held by the network, in this order; the grader
watches the modules with forward hooks, so do not call torch.nn.functional instead):

    ConvNet(batch_norm=False), input (B, 1, 28, 28):
        Conv2d(1, 8, kernel_size=3, padding=1)    -> (B, 8, 28, 28)
        [BatchNorm2d(8)]     only with batch_norm=True, right after the convolution
        ReLU
        MaxPool2d(2)                              -> (B, 8, 14, 14)
        Conv2d(8, 16, kernel_size=3, padding=1)   -> (B, 16, 14, 14)
        [BatchNorm2d(16)]    only with batch_norm=True, right after the convolution
        ReLU
        MaxPool2d(2)                              -> (B, 16, 7, 7)
        Flatten                                   -> (B, 784)
        Linear(16 * 7 * 7, 10)                    -> (B, 10)  the logits

    StridedConvNet(): ConvNet() (no BatchNorm) with each MaxPool2d(2) replaced by a
        Conv2d(c, c, kernel_size=2, stride=2) on its c channels (c = 8, then 16), so
        that every intermediate shape is the same as ConvNet's. Nothing else changes.

All convolutions and the linear layer have biases (PyTorch's default).

effective_smoothness(model, loss_fn, full_loader, batch, lr). Let theta be all of
model.parameters(), N the number of samples in full_loader and

    L(theta) = (1/N) * sum over every sample (x_i, y_i) of full_loader of l(model(x_i), y_i),

the mean loss over all samples (not the mean of the batches' means: the last batch may
be smaller), computed with the model in eval mode (BatchNorm uses its running statistics,
the ones the model has on entry, so L is one fixed function of theta). g(theta) is its
gradient. ``loss_fn(outputs, targets)`` returns the mean loss of a batch, as
nn.CrossEntropyLoss() does.

The step u = -lr * (gradient of loss_fn(model(x), y) with respect to theta) for the one
``batch = (x, y)``, computed with the model in train mode (BatchNorm uses the batch's
statistics), as an SGD step would. Return the float

    ||g(theta + u) - g(theta)|| / ||u||        (|| || = flat_norm: all entries together).

Afterwards the model must be as it was on entry: its parameters, its buffers (BatchNorm's
running statistics, which a train-mode forward pass changes) and its train/eval mode.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import Tensor, nn


class ConvNet(nn.Module):
    """The ConvNet above; with ``batch_norm=True`` a BatchNorm2d follows each convolution."""

    def __init__(self, batch_norm: bool = False) -> None:
        super().__init__()
        raise NotImplementedError("write ConvNet.__init__: the layers of the table above, a BatchNorm2d after each convolution if batch_norm")

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError("write ConvNet.forward: (B, 1, 28, 28) images in, (B, 10) logits out")


class StridedConvNet(nn.Module):
    """ConvNet() with each MaxPool2d(2) replaced by a Conv2d(c, c, kernel_size=2, stride=2)."""

    def __init__(self) -> None:
        super().__init__()
        raise NotImplementedError("write StridedConvNet.__init__: ConvNet() with a Conv2d(c, c, kernel_size=2, stride=2) for each MaxPool2d(2)")

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError("write StridedConvNet.forward: (B, 1, 28, 28) images in, (B, 10) logits out")


def flat_norm(tensors: Iterable[Tensor]) -> float:
    """The L2 norm of all entries of ``tensors`` together, as if concatenated into one vector."""
    raise NotImplementedError("write flat_norm(tensors): the L2 norm of all entries of all tensors together")


def effective_smoothness(model: nn.Module, loss_fn: Callable[[Tensor, Tensor], Tensor], full_loader: Iterable,
                         batch: tuple[Tensor, Tensor], lr: float) -> float:
    """||g(theta + u) - g(theta)|| / ||u|| as defined above; the model is left as it was on entry."""
    raise NotImplementedError("write effective_smoothness(model, loss_fn, full_loader, batch, lr) as defined at the top of this file")


if __name__ == "__main__":
    net = ConvNet(batch_norm=True)
    x = torch.randn(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    print(effective_smoothness(net, nn.CrossEntropyLoss(), loader, (x[:16], y[:16]), lr=0.1))
