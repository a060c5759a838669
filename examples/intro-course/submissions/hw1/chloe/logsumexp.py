import torch


def logsumexp(x, dim):
    m = torch.amax(x, dim=dim, keepdim=True)
    return (m + torch.log(torch.sum(torch.exp(x - m), dim=dim, keepdim=True))).squeeze(dim)
