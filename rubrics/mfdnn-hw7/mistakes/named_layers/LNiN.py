"""mfdnn-hw7 LNiN, a right solution in another style than the reference.

The classifier's layers are named (fc6, relu6, ...) through an OrderedDict, and the
weights are moved by translating net1's state_dict keys to these names, reshaping every
tensor to the shape this network expects (the flatten order C, H, W of Net1 is the
memory order of a Conv2d weight) and loading the result strictly.
"""

from __future__ import annotations

from collections import OrderedDict

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


# Net1's classifier indices -> this network's classifier layer names.
_RENAME = {"classifier.0": "classifier.fc6", "classifier.2": "classifier.fc7", "classifier.4": "classifier.fc8"}


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
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("fc6", nn.Conv2d(256, 4096, kernel_size=(18, 18))),
                    ("relu6", nn.ReLU(inplace=True)),
                    ("fc7", nn.Conv2d(4096, 4096, kernel_size=(1, 1))),
                    ("relu7", nn.ReLU(inplace=True)),
                    ("fc8", nn.Conv2d(4096, num_classes, kernel_size=(1, 1))),
                ]
            )
        )

    def copy_weights_from(self, net1: Net1) -> None:
        own = self.state_dict()
        translated = {}
        for key, value in net1.state_dict().items():
            prefix, _, kind = key.rpartition(".")
            target = f"{_RENAME.get(prefix, prefix)}.{kind}"
            translated[target] = value.reshape(own[target].shape)
        self.load_state_dict(translated, strict=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def net1_patch(images: torch.Tensor, i: int, j: int) -> torch.Tensor:
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
