"""Wrong at scale: A_w^T g as the full convolution of g with w, i.e. conv1d
of g zero-padded by k - 1 on both sides with the flipped filter; the loop runs over
pre-activations kept in a list. Right on small signals; but for the last layer (a filter as
long as the signal) PyTorch's conv1d unfolds an n x n matrix: 8 TB for a million samples."""

import torch
import torch.nn.functional as F


def conv_net_grads(x, ws, bs, sigma, sigma_prime):
    L = len(ws)
    ys = [x.view(1, 1, -1)]
    zs = []
    for l in range(L):
        z = F.conv1d(ys[-1], ws[l].view(1, 1, -1)) + bs[l]
        zs.append(z)
        ys.append(sigma(z) if l < L - 1 else z)
    dws, dbs = [None] * L, [None] * L
    dy = torch.ones_like(zs[-1])  # d y_L / d y_L
    for l in reversed(range(L)):
        dz = dy if l == L - 1 else dy * sigma_prime(zs[l])
        dws[l] = F.conv1d(ys[l], dz).view(-1)
        dbs[l] = dz.sum()
        k = ws[l].numel()
        dy = F.conv1d(F.pad(dz, (k - 1, k - 1)), ws[l].flip(0).view(1, 1, -1))
    return dws, dbs
