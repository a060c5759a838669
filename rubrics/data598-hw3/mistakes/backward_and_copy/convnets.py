"""A right but different convnets.py: layers as attributes with F.relu (one MaxPool2d module
called twice, each BatchNorm2d after it, the homework's placement), flat_norm by torch.cat,
effective_smoothness with .backward() into .grad, the step taken on a deep copy (so the
model's BatchNorm statistics are never touched), and theta restored by subtracting u."""

import copy

import torch
import torch.nn.functional as F
from torch import nn


class ConvNet(nn.Module):
    def __init__(self, batch_norm=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(16) if batch_norm else None
        self.bn2 = nn.BatchNorm2d(32) if batch_norm else None
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(1568, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        if self.bn1 is not None:
            x = self.bn1(x)
        x = self.pool(F.relu(self.conv2(x)))
        if self.bn2 is not None:
            x = self.bn2(x)
        return self.fc(x.reshape(x.shape[0], -1))


class StridedConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2, stride=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2, stride=2)
        self.fc = nn.Linear(1568, 10)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc(torch.flatten(x, 1))


def flat_norm(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors]).norm().item()


def full_gradient(model, loss_fn, loader):
    model.zero_grad()
    n = sum(len(y) for _, y in loader)
    for x, y in loader:
        (loss_fn(model(x), y) * len(y) / n).backward()
    return [p.grad.clone() for p in model.parameters()]


def effective_smoothness(model, loss_fn, full_loader, batch, lr):
    was_training = model.training
    model.eval()
    g0 = full_gradient(model, loss_fn, full_loader)
    stepper = copy.deepcopy(model).train()
    x, y = batch
    loss_fn(stepper(x), y).backward()
    u = [-lr * p.grad for p in stepper.parameters()]
    with torch.no_grad():
        for p, d in zip(model.parameters(), u):
            p.add_(d)
    g1 = full_gradient(model, loss_fn, full_loader)
    with torch.no_grad():
        for p, d in zip(model.parameters(), u):
            p.sub_(d)
    model.train(was_training)
    return flat_norm([a - b for a, b in zip(g1, g0)]) / flat_norm(u)
