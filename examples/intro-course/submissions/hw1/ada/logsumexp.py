import torch


def logsumexp(x, dim):
    # Shift by the largest value along dim so that no exp overflows.
    biggest, _ = x.max(dim=dim, keepdim=True)
    shifted = torch.exp(x - biggest)
    return torch.log(shifted.sum(dim=dim)) + biggest.squeeze(dim)
