"""A right but different convnets.py: each BatchNorm2d right after its convolution, before
the ReLU (the other common placement, which the grader accepts besides the homework's after
the MaxPool2d); the blocks built by a helper; flat_norm as the norm of the tensors' norms;
effective_smoothness on flat vectors (parameters_to_vector), theta + u written into the
model with vector_to_parameters and the entry state_dict loaded back afterwards."""

import copy

import torch
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters


def block(cin, cout, batch_norm):
    layers = [nn.Conv2d(cin, cout, 5, padding=2)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    return layers + [nn.ReLU(), nn.MaxPool2d(2)]


class ConvNet(nn.Module):
    def __init__(self, batch_norm=False):
        super().__init__()
        self.net = nn.Sequential(*block(1, 16, batch_norm), *block(16, 32, batch_norm), nn.Flatten(), nn.Linear(1568, 10))

    def forward(self, x):
        return self.net(x)


class StridedConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 5, stride=2, padding=2), nn.ReLU(),
                                  nn.Conv2d(16, 32, 5, stride=2, padding=2), nn.ReLU())
        self.head = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        return self.head(self.body(x).flatten(1))


def flat_norm(tensors):
    return float(torch.stack([t.detach().double().norm() for t in tensors]).norm())


def full_gradient(model, loss_fn, loader):
    params = list(model.parameters())
    total, n = 0, 0
    for x, y in loader:
        total = total + parameters_to_vector(torch.autograd.grad(loss_fn(model(x), y) * len(y), params))
        n += len(y)
    return total / n


def effective_smoothness(model, loss_fn, full_loader, batch, lr):
    was_training = model.training
    state = copy.deepcopy(model.state_dict())
    model.eval()
    g0 = full_gradient(model, loss_fn, full_loader)
    model.train()
    x, y = batch
    u = -lr * parameters_to_vector(torch.autograd.grad(loss_fn(model(x), y), list(model.parameters())))
    model.load_state_dict(state)
    with torch.no_grad():
        vector_to_parameters(parameters_to_vector(model.parameters()) + u, model.parameters())
    model.eval()
    g1 = full_gradient(model, loss_fn, full_loader)
    model.load_state_dict(state)
    model.train(was_training)
    return float((g1 - g0).norm() / u.norm())
