"""Homework 5, Problem 1: backpropagation for a multilayer perceptron, by hand.

The network has L >= 1 layers. With y_0 = X,

    y_l = sigma(A_l y_{l-1} + b_l)    for l = 1, ..., L-1   (hidden layers: sigmoid)
    y_L = A_L y_{L-1} + b_L                                  (output layer: linear)

and the loss is ||y_L - Y||^2 / 2. In Python the layers are numbered from 0:
A_list[0] is A_1 and A_list[-1] is A_L.

`backprop` returns the gradients of the loss with respect to every A_l and b_l,
computed with one forward and one backward pass written out by hand. Autograd is not
allowed in this problem: no `.backward()`, no `torch.autograd`, no `torch.func`.
"""

from __future__ import annotations

import torch
from torch import Tensor


def sigma(z: Tensor) -> Tensor:
    """The sigmoid activation, sigma(z) = 1 / (1 + exp(-z)), elementwise."""
    return torch.sigmoid(z)


def sigma_prime(z: Tensor) -> Tensor:
    """The derivative of the sigmoid, sigma'(z) = sigma(z) (1 - sigma(z)), elementwise."""
    s = torch.sigmoid(z)
    return s * (1 - s)


class DenseLayer:
    """One layer y = act(A y_in + b) that remembers what its backward pass needs."""

    def __init__(self, A: Tensor, b: Tensor, hidden: bool) -> None:
        self.A = A
        self.b = b
        self.hidden = hidden
        self.y_in = None
        self.z = None
        self.dA = None
        self.db = None

    def forward(self, y_in: Tensor) -> Tensor:
        self.y_in = y_in
        self.z = self.A @ y_in + self.b
        return sigma(self.z) if self.hidden else self.z

    def backward_pass(self, grad_out: Tensor) -> Tensor:
        """grad_out = dloss/d(output of this layer); returns dloss/d(input of this layer)."""
        dz = grad_out * sigma_prime(self.z) if self.hidden else grad_out
        self.dA = dz @ self.y_in.transpose(0, 1)
        self.db = dz
        return self.A.transpose(0, 1) @ dz

    def __repr__(self) -> str:
        kind = "sigmoid" if self.hidden else "linear"
        return f"DenseLayer({self.A.shape[1]} -> {self.A.shape[0]}, {kind})"


class MLP:
    def __init__(self, A_list: list[Tensor], b_list: list[Tensor]) -> None:
        n = len(A_list)
        self.layers = [DenseLayer(A, b, hidden=(i < n - 1)) for i, (A, b) in enumerate(zip(A_list, b_list))]

    def forward(self, X: Tensor) -> Tensor:
        y = X
        for layer in self.layers:
            y = layer.forward(y)
        return y

    def backward_pass(self, grad: Tensor) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward_pass(grad)


def backprop(
    A_list: list[Tensor], b_list: list[Tensor], X: Tensor, Y: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """Gradients of the loss ||y_L - Y||^2 / 2 with respect to every weight and bias.

    Args:
        A_list: the weights [A_1, ..., A_L], L >= 1; A_l has shape (n_l, n_{l-1}).
        b_list: the biases [b_1, ..., b_L]; b_l has shape (n_l, 1).
        X: the input y_0, shape (n_0, 1).
        Y: the target, shape (n_L, 1).

    Returns:
        (dA_list, db_list), two lists of length L: dA_list[i] is the gradient of the
        loss with respect to A_list[i] and has its shape; db_list[i] likewise for
        b_list[i]. The gradients have the dtype of the inputs (float32 or float64).

    The hidden layers apply the sigmoid `sigma`; the last layer is linear. The
    gradients are computed by hand: autograd (`.backward()`, `torch.autograd`,
    `torch.func`) must not be used.
    """

    net = MLP(A_list, b_list)
    out = net.forward(X)
    net.backward_pass(out - Y)  # d(||out - Y||^2 / 2) / d out = out - Y
    dA_list = [layer.dA for layer in net.layers]
    db_list = [layer.db for layer in net.layers]
    return dA_list, db_list


def homework_example() -> tuple[list[Tensor], list[Tensor], Tensor, Tensor]:
    """The homework's network and data: L = 6, five 4x4 layers and a 1x4 last layer."""
    torch.manual_seed(0)
    L = 6
    X_data = torch.rand(4, 1)
    Y_data = torch.rand(1, 1)
    A_list, b_list = [], []
    for _ in range(L - 1):
        A_list.append(torch.rand(4, 4))
        b_list.append(torch.rand(4, 1))
    A_list.append(torch.rand(1, 4))
    b_list.append(torch.rand(1, 1))
    return A_list, b_list, X_data, Y_data


if __name__ == "__main__":
    A_list, b_list, X_data, Y_data = homework_example()
    dA_list, db_list = backprop(A_list, b_list, X_data, Y_data)
    # The homework prints this tensor; its first entry is 2.3943e-05.
    print(dA_list[0])
