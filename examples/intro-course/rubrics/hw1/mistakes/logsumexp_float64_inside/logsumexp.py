import torch


def logsumexp(x, dim):
    # Work in float64, shift by the maximum, and give the answer back in x's own dtype.
    z = x.double()
    m = torch.max(z, dim=dim).values
    total = torch.sum(torch.exp(z - m.unsqueeze(dim)), dim=dim)
    return (m + torch.log(total)).to(x.dtype)
