"""mfdnn-hw7 LNiN, a right solution in another style than the reference.

The classifier is built in a loop from (in, out, kernel) triples, with a ReLU between
consecutive convolutions. Weights move layer by layer over the zipped Linear/Conv2d
lists: the first Linear weight is unflattened to (256, 18, 18), the others get two unit
axes appended.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class Net1(nn.Module):
    """The given network, for inputs of shape (B, 3, 32, 32); outputs (B, num_classes)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=1),
            nn.ReLU(),
            nn.Conv2d(64, 192, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Conv2d(192, 384, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, stride=1),
        )
        self.classifier = nn.Sequential(
            nn.Linear(256 * 18 * 18, 4096),
            nn.ReLU(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def _conv_classifier(num_classes: int) -> nn.Sequential:
    """Conv2d layers with ReLU between them; None as out_channels stands for num_classes."""
    layers: list[nn.Module] = []
    for in_channels, out_channels, kernel in ((256, 4096, 18), (4096, 4096, 1), (4096, None, 1)):
        if layers:
            layers.append(nn.ReLU())
        layers.append(nn.Conv2d(in_channels, out_channels or num_classes, kernel))
    return nn.Sequential(*layers)


class Net2(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=1),
            nn.ReLU(),
            nn.Conv2d(64, 192, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Conv2d(192, 384, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, stride=1),
        )
        self.classifier = _conv_classifier(num_classes)

    def copy_weights_from(self, net1: Net1) -> None:
        with torch.no_grad():
            for mine, theirs in zip(self.features, net1.features):
                if isinstance(mine, nn.Conv2d):
                    mine.weight.copy_(theirs.weight)
                    mine.bias.copy_(theirs.bias)
            convs = [m for m in self.classifier if isinstance(m, nn.Conv2d)]
            linears = [m for m in net1.classifier if isinstance(m, nn.Linear)]
            for conv, linear in zip(convs, linears):
                if conv.kernel_size == (1, 1):
                    weight = linear.weight[..., None, None]
                else:
                    weight = linear.weight.unflatten(1, (conv.in_channels, *conv.kernel_size))
                conv.weight.copy_(weight)
                conv.bias.copy_(linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def net1_patch(images: torch.Tensor, i: int, j: int) -> torch.Tensor:
    return images[..., i : i + 32, j : j + 32]


def _demo() -> None:
    """Part (a): Net1 and Net2 agree on 32x32 images. Part (b): Net2 slides Net1 over larger ones."""
    torch.manual_seed(0)
    model1 = Net1()  # randomly initialised
    model2 = Net2()
    model2.copy_weights_from(model1)

    with torch.no_grad():
        imgs = torch.rand(10, 3, 32, 32)
        diff = torch.mean((model1(imgs) - model2(imgs).squeeze()) ** 2)
        print(f"(a) mean squared difference on 32x32 images: {diff.item():.3e} (should be tiny)")

        images = torch.rand(2, 3, 36, 38)
        b, h, w = images.shape[0], images.shape[-2], images.shape[-1]
        out1 = torch.empty((b, 10, h - 31, w - 31))
        for i in range(h - 31):
            for j in range(w - 31):
                out1[:, :, i, j] = model1(net1_patch(images, i, j))
        out2 = model2(images)
        diff = torch.mean((out1 - out2) ** 2)
        print(f"(b) mean squared difference on 36x38 images: {diff.item():.3e} (should be tiny)")


if __name__ == "__main__":
    _demo()
