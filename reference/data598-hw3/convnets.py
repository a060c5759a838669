"""Data 598, Homework 3: BatchNorm and the smoothness of a ConvNet.

Two small ConvNets for 1 x 28 x 28 FashionMNIST images (10 classes), and the "effective
smoothness" of the loss along one SGD step (how much the full-batch gradient changes per
unit of step), which is how the homework compares a ConvNet with and without BatchNorm.

The networks (every layer an nn module held by the network, in this order; the grader
watches the modules with forward hooks, so do not call torch.nn.functional instead):

    ConvNet(batch_norm=False), input (B, 1, 28, 28), two conv blocks and a linear layer:
                                                   output shape        parameters
        Conv2d(1, 16, kernel_size=5, padding=2)    (B, 16, 28, 28)            416
        ReLU
        MaxPool2d(2)                               (B, 16, 14, 14)
        [BatchNorm2d(16)]  only if batch_norm      (B, 16, 14, 14)             32
        Conv2d(16, 32, kernel_size=5, padding=2)   (B, 32, 14, 14)         12,832
        ReLU
        MaxPool2d(2)                               (B, 32, 7, 7)
        [BatchNorm2d(32)]  only if batch_norm      (B, 32, 7, 7)               64
        Flatten                                    (B, 1568)
        Linear(32 * 7 * 7, 10)                     (B, 10), the logits     15,690

    28,938 parameters; 29,034 with batch_norm=True. The homework inserts each BatchNorm2d
    after the block's MaxPool2d, as here (this is the network it defines). The grader also
    accepts the other common placements: exactly one BatchNorm2d(c) of the block's c
    channels in each conv block (Conv2d -> ReLU -> MaxPool2d), anywhere after that block's
    Conv2d and before the next block's Conv2d (or the Flatten): right after the Conv2d,
    after the ReLU, or after the MaxPool2d. With batch_norm=False there is none.

    StridedConvNet() (the bonus exercise; no BatchNorm): each Conv2d -> ReLU -> MaxPool2d(2)
    of ConvNet() becomes one convolution of stride s -> ReLU, with no max-pool:
        Conv2d(1, 16, kernel_size=5, padding=2, stride=s)
        ReLU
        Conv2d(16, 32, kernel_size=5, padding=2, stride=s)
        ReLU
        Flatten
        Linear(32 * 7 * 7, 10)                               -> (B, 10)
    The stride s is the one the homework asks you to find: the one for which the input to
    the second convolution and the input to the linear layer are identical in shape to
    those in ConvNet(). The layers are ConvNet()'s without the max-pools: 28,938
    parameters too.

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
    """The ConvNet above; with ``batch_norm=True`` a BatchNorm2d follows each MaxPool2d."""

    def __init__(self, batch_norm: bool = False) -> None:
        super().__init__()
        norm: Callable[[int], nn.Module] = nn.BatchNorm2d if batch_norm else (lambda c: nn.Identity())
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2), norm(16),
            nn.Conv2d(16, 32, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2), norm(32),
        )  # fmt: skip
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class StridedConvNet(nn.Module):
    """ConvNet() with strided convolutions and no max-pool (the bonus exercise)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, padding=2, stride=2), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=5, padding=2, stride=2), nn.ReLU(),
        )  # fmt: skip
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def flat_norm(tensors: Iterable[Tensor]) -> float:
    """The L2 norm of all entries of ``tensors`` together, as if concatenated into one vector."""
    return float(torch.sqrt(sum((t.detach() ** 2).sum() for t in tensors)))


def _full_gradient(model: nn.Module, loss_fn: Callable[[Tensor, Tensor], Tensor], loader: Iterable, params: list[Tensor]) -> list[Tensor]:
    """The gradient of the mean loss over every sample of ``loader`` (in the model's current mode)."""
    total = [torch.zeros_like(p) for p in params]
    n = 0
    for x, y in loader:
        loss = loss_fn(model(x), y) * len(y)  # the batch's sum of losses
        for acc, g in zip(total, torch.autograd.grad(loss, params)):
            acc += g
        n += len(y)
    return [g / n for g in total]


def effective_smoothness(model: nn.Module, loss_fn: Callable[[Tensor, Tensor], Tensor], full_loader: Iterable,
                         batch: tuple[Tensor, Tensor], lr: float) -> float:
    """||g(theta + u) - g(theta)|| / ||u|| as defined above; the model is left as it was on entry."""
    was_training = model.training
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}  # parameters and buffers
    params = [p for p in model.parameters()]
    try:
        model.eval()
        g0 = _full_gradient(model, loss_fn, full_loader, params)
        model.train()
        x, y = batch
        u = [-lr * g for g in torch.autograd.grad(loss_fn(model(x), y), params)]
        model.load_state_dict(saved)  # undo the train-mode pass's change of the running statistics
        with torch.no_grad():
            for p, step in zip(params, u):
                p += step
        model.eval()
        g1 = _full_gradient(model, loss_fn, full_loader, params)
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    return flat_norm([a - b for a, b in zip(g1, g0)]) / flat_norm(u)


if __name__ == "__main__":
    net = ConvNet(batch_norm=True)
    x = torch.randn(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    print(effective_smoothness(net, nn.CrossEntropyLoss(), loader, (x[:16], y[:16]), lr=0.1))
