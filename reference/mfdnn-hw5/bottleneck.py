"""Mathematical Foundations of DNNs, Homework 5, Problem 5: the 1x1 bottleneck.

Two inception-style blocks on an input of C channels and size H x W. Every convolution
has a bias and keeps H x W (padding (k - 1) / 2, stride 1); the branches' outputs are
concatenated along the channels.

- ``NaiveInception(c_in, n1, n3, n5)``: branches conv1x1(c_in -> n1), conv3x3(c_in -> n3),
  conv5x5(c_in -> n5) and maxpool3x3 (stride 1, padding 1), side by side.
- ``BottleneckInception(c_in, n1, r3, n3, r5, n5, pool_proj)``: branches conv1x1(c_in -> n1);
  conv1x1(c_in -> r3) then conv3x3(r3 -> n3); conv1x1(c_in -> r5) then conv5x5(r5 -> n5);
  maxpool3x3 then conv1x1(c_in -> pool_proj). (GoogLeNet's inception module.)

Counting rules:
- parameters: every weight and every bias of the convolutions (pooling has none).
- operations: additions plus multiplications of the convolutions in one forward pass of
  one input (batch of 1). One output entry of a conv with C input channels and a k x k
  kernel costs C*k*k multiplications, C*k*k - 1 additions to sum them and 1 addition for
  the bias: 2*C*k*k operations. Pooling, ReLU and the concatenation cost nothing here.

Write the four counts as exact Python ints, from the sizes alone (no modules built).
"""

from __future__ import annotations

from torch import nn


class NaiveInception(nn.Module):
    """The block without bottleneck (given; your counts must match it)."""

    def __init__(self, c_in: int, n1: int, n3: int, n5: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(c_in, n1, 1)
        self.b3 = nn.Conv2d(c_in, n3, 3, padding=1)
        self.b5 = nn.Conv2d(c_in, n5, 5, padding=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):  # type: ignore[no-untyped-def]
        import torch

        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


class BottleneckInception(nn.Module):
    """The block with 1x1 bottlenecks (given; your counts must match it)."""

    def __init__(self, c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, pool_proj: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(c_in, n1, 1)
        self.b3 = nn.Sequential(nn.Conv2d(c_in, r3, 1), nn.ReLU(), nn.Conv2d(r3, n3, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(c_in, r5, 1), nn.ReLU(), nn.Conv2d(r5, n5, 5, padding=2))
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(c_in, pool_proj, 1))

    def forward(self, x):  # type: ignore[no-untyped-def]
        import torch

        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


def _conv_params(c_in: int, c_out: int, k: int) -> int:
    return c_out * c_in * k * k + c_out


def _conv_ops(c_in: int, c_out: int, k: int, h: int, w: int) -> int:
    return c_out * h * w * 2 * c_in * k * k


def naive_params(c_in: int, n1: int, n3: int, n5: int) -> int:
    """Parameters of NaiveInception(c_in, n1, n3, n5)."""
    return _conv_params(c_in, n1, 1) + _conv_params(c_in, n3, 3) + _conv_params(c_in, n5, 5)


def naive_ops(c_in: int, n1: int, n3: int, n5: int, h: int, w: int) -> int:
    """Additions plus multiplications of NaiveInception on one c_in x h x w input."""
    return _conv_ops(c_in, n1, 1, h, w) + _conv_ops(c_in, n3, 3, h, w) + _conv_ops(c_in, n5, 5, h, w)


def bottleneck_params(c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, pool_proj: int) -> int:
    """Parameters of BottleneckInception(c_in, n1, r3, n3, r5, n5, pool_proj)."""
    return (_conv_params(c_in, n1, 1) + _conv_params(c_in, r3, 1) + _conv_params(r3, n3, 3)
            + _conv_params(c_in, r5, 1) + _conv_params(r5, n5, 5) + _conv_params(c_in, pool_proj, 1))


def bottleneck_ops(c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, pool_proj: int, h: int, w: int) -> int:
    """Additions plus multiplications of BottleneckInception on one c_in x h x w input."""
    return (_conv_ops(c_in, n1, 1, h, w) + _conv_ops(c_in, r3, 1, h, w) + _conv_ops(r3, n3, 3, h, w)
            + _conv_ops(c_in, r5, 1, h, w) + _conv_ops(r5, n5, 5, h, w) + _conv_ops(c_in, pool_proj, 1, h, w))


if __name__ == "__main__":
    # GoogLeNet's inception (3a) on 192 x 28 x 28
    print(naive_params(192, 64, 128, 32), bottleneck_params(192, 64, 96, 128, 16, 32, 32))
    print(naive_ops(192, 64, 128, 32, 28, 28), bottleneck_ops(192, 64, 96, 128, 16, 32, 32, 28, 28))
