"""Homework 7, problem 5 (lnin), Eve's submission: Net2 is Net1 with its Linear layers as convolutions."""

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


class Net2(nn.Module):
    """Net1 with a convolutional classifier: (B, 3, h, w) -> (B, num_classes, h - 31, w - 31)."""

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
        # Net1's fc1 looks at all 256 x 18 x 18 features at once: a convolution with an 18x18
        # kernel does the same at every position; fc2 and fc3 become 1x1 convolutions.
        self.classifier = nn.Sequential(
            nn.Conv2d(256, 4096, 18),
            nn.ReLU(),
            nn.Conv2d(4096, 4096, 1),
            nn.ReLU(),
            nn.Conv2d(4096, num_classes, 1),
        )

    def copy_weights_from(self, net1: Net1) -> None:
        """Copy net1's weights into this network so that both compute the same function."""
        with torch.no_grad():
            for i in range(0, len(self.features), 2):
                self.features[i].weight.copy_(net1.features[i].weight)
                self.features[i].bias.copy_(net1.features[i].bias)
            linears = [m for m in net1.classifier if isinstance(m, nn.Linear)]
            convs = [m for m in self.classifier if isinstance(m, nn.Conv2d)]
            for fc, conv in zip(linears, convs):
                # torch.flatten orders the features (channel, row, column), as the conv weight does
                conv.weight.copy_(fc.weight.reshape(conv.weight.shape))
                conv.bias.copy_(fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def net1_patch(images: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """The input of Net1 whose output is ``Net2(images)[:, :, i, j]`` (i: row, j: column)."""
    # output (i, j) of Net2 comes from the 32x32 window whose top-left corner is (i, j)
    return images.narrow(2, i, 32).narrow(3, j, 32)


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
