"""ESE 546, Homework 2: which parameters get weight decay.

Weight decay is usually applied to the weights of convolutions and linear layers only: not
to the affine parameters of BatchNorm layers, and not to biases. `split_params` sorts the
parameters of a model into those three groups, by name, so that an optimizer can be given
`[{"params": ..., "weight_decay": wd}, {"params": ..., "weight_decay": 0.0}]`.

For torchvision's resnet18 the groups hold 9600 (batchnorm), 1000 (bias: only fc has
one; its convolutions have none) and 11678912 (rest) numbers: 11,689,512 in all.
"""

from __future__ import annotations

from torch import nn


def split_params(model: nn.Module) -> dict[str, list[str]]:
    """Sort the names of ``model.named_parameters()`` into three groups.

    - "batchnorm": every parameter of a BatchNorm layer (nn.BatchNorm1d, 2d or 3d), whatever
      the layer is called in the model (torchvision names some of them `downsample.1`);
    - "bias": every other parameter that is a layer's bias;
    - "rest": everything else (convolution and linear weights, bare nn.Parameters...).

    Each name appears in exactly one group; the model is left unchanged.

    Returns:
        {"batchnorm": [...], "bias": [...], "rest": [...]}, lists of names as
        ``model.named_parameters()`` gives them (e.g. "layer1.0.bn1.weight").
    """
    raise NotImplementedError("write split_params(model): return {'batchnorm': [...], 'bias': [...], 'rest': [...]}")


if __name__ == "__main__":
    import torchvision

    model = torchvision.models.resnet18()
    sizes = dict((n, p.numel()) for n, p in model.named_parameters())
    for group, names in split_params(model).items():
        print(group, sum(sizes[n] for n in names))
