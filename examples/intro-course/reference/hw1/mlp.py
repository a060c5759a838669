"""mlp: the reference solution (never released to students)."""

import torch
from torch import nn

HIDDEN = 32  # the hidden layer's width, fixed by the homework


class Model(nn.Module):
    """d_in -> 32 -> d_out: fc1, a ReLU, fc2."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_in, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))
