"""mlp: write a two-layer perceptron (see README.md, Problem 2)."""

import torch
from torch import nn


class Model(nn.Module):
    """A two-layer MLP from d_in features to d_out outputs: d_in -> 32 -> d_out.

    Attributes (the grader loads weights into them by these names):
      fc1: nn.Linear(d_in, 32), with a bias;
      fc2: nn.Linear(32, d_out), with a bias.
    forward(x): x of shape (n, d_in) -> fc2(relu(fc1(x))), of shape (n, d_out).
    """

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        raise NotImplementedError("Model.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Model.forward")
