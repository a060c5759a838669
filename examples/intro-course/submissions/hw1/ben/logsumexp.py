import torch


def logsumexp(x, dim):
    return torch.log(torch.sum(torch.exp(x), dim=dim))
