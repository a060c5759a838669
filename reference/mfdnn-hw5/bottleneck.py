"""Mathematical Foundations of DNNs, Homework 5, Problem 5: the 1x1 bottleneck.

Two inception-style blocks on an input of C channels and size H x W. Every convolution
has a bias, keeps H x W (stride 1, padding (k - 1) / 2) and is followed by a ReLU; the
branches' outputs are concatenated along the channels.

- ``NaiveInception(c_in, n1, n3, n5)``: branches conv1x1(c_in -> n1), conv3x3(c_in -> n3),
  conv5x5(c_in -> n5) and maxpool3x3 (stride 1, padding 1), side by side. The homework's
  Model I is ``NaiveInception(256, 124, 192, 96)`` on 256 x 32 x 32.
- ``BottleneckInception(c_in, n1, r3, n3, r5, n5, pool_proj)``: branches conv1x1(c_in -> n1);
  conv1x1(c_in -> r3) then conv3x3(r3 -> n3); conv1x1(c_in -> r5) then conv5x5(r5 -> n5);
  maxpool3x3 then conv1x1(c_in -> pool_proj). (GoogLeNet's inception module.) The
  homework's Model II is ``BottleneckInception(256, 124, 64, 192, 64, 96, 64)``.

Counting rules (the homework's):
- parameters: every weight and every bias of the convolutions (pooling has none):
  k*k*C_in*C_out + C_out for a k x k convolution from C_in to C_out channels.
- additions and multiplications of one forward pass of one input (batch of 1): one
  output entry of a convolution with C_in input channels and a k x k kernel takes
  C_in*k*k multiplications and C_in*k*k additions (C_in*k*k - 1 to sum the products,
  1 for the bias). So a k x k convolution from C_in to C_out channels on H x W takes
  H*W*k*k*C_in*C_out of each.
- activations: one per output entry of each convolution (the ReLU that follows it):
  H*W*C_out. Pooling and the concatenation cost nothing and have no activations.

``naive_ops`` and ``bottleneck_ops`` return the three counts as a tuple
``(additions, multiplications, activations)``. Every count is an exact Python int,
computed from the sizes alone (no modules built).
"""

from __future__ import annotations

from torch import nn


def _conv(c_in: int, c_out: int, k: int) -> nn.Sequential:
    """A k x k convolution that keeps H x W, then its ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=(k - 1) // 2), nn.ReLU())


class NaiveInception(nn.Module):
    """The block without bottleneck (given; your counts must match it)."""

    def __init__(self, c_in: int, n1: int, n3: int, n5: int) -> None:
        super().__init__()
        self.b1 = _conv(c_in, n1, 1)
        self.b3 = _conv(c_in, n3, 3)
        self.b5 = _conv(c_in, n5, 5)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):  # type: ignore[no-untyped-def]
        import torch

        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


class BottleneckInception(nn.Module):
    """The block with 1x1 bottlenecks (given; your counts must match it)."""

    def __init__(self, c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, pool_proj: int) -> None:
        super().__init__()
        self.b1 = _conv(c_in, n1, 1)
        self.b3 = nn.Sequential(_conv(c_in, r3, 1), _conv(r3, n3, 3))
        self.b5 = nn.Sequential(_conv(c_in, r5, 1), _conv(r5, n5, 5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv(c_in, pool_proj, 1))

    def forward(self, x):  # type: ignore[no-untyped-def]
        import torch

        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


def _conv_params(c_in: int, c_out: int, k: int) -> int:
    return k * k * c_in * c_out + c_out


def _conv_ops(c_in: int, c_out: int, k: int, h: int, w: int) -> tuple[int, int, int]:
    """(additions, multiplications, activations) of one k x k convolution and its ReLU."""
    products = h * w * k * k * c_in * c_out
    return products, products, h * w * c_out


def _total(*convs: tuple[int, int, int]) -> tuple[int, int, int]:
    adds, mults, acts = zip(*convs)
    return sum(adds), sum(mults), sum(acts)


def naive_params(c_in: int, n1: int, n3: int, n5: int) -> int:
    """Trainable parameters of NaiveInception(c_in, n1, n3, n5)."""
    return _conv_params(c_in, n1, 1) + _conv_params(c_in, n3, 3) + _conv_params(c_in, n5, 5)


def naive_ops(c_in: int, n1: int, n3: int, n5: int, h: int, w: int) -> tuple[int, int, int]:
    """(additions, multiplications, activations) of NaiveInception on one c_in x h x w input."""
    return _total(_conv_ops(c_in, n1, 1, h, w), _conv_ops(c_in, n3, 3, h, w), _conv_ops(c_in, n5, 5, h, w))


def bottleneck_params(c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, pool_proj: int) -> int:
    """Trainable parameters of BottleneckInception(c_in, n1, r3, n3, r5, n5, pool_proj)."""
    return (_conv_params(c_in, n1, 1) + _conv_params(c_in, r3, 1) + _conv_params(r3, n3, 3)
            + _conv_params(c_in, r5, 1) + _conv_params(r5, n5, 5) + _conv_params(c_in, pool_proj, 1))


def bottleneck_ops(c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, pool_proj: int,
                   h: int, w: int) -> tuple[int, int, int]:
    """(additions, multiplications, activations) of BottleneckInception on one c_in x h x w input."""
    return _total(_conv_ops(c_in, n1, 1, h, w), _conv_ops(c_in, r3, 1, h, w), _conv_ops(r3, n3, 3, h, w),
                  _conv_ops(c_in, r5, 1, h, w), _conv_ops(r5, n5, 5, h, w), _conv_ops(c_in, pool_proj, 1, h, w))


if __name__ == "__main__":
    # The homework's two models on 256 x 32 x 32
    print(naive_params(256, 124, 192, 96), bottleneck_params(256, 124, 64, 192, 64, 96, 64))
    print(naive_ops(256, 124, 192, 96, 32, 32), bottleneck_ops(256, 124, 64, 192, 64, 96, 64, 32, 32))
