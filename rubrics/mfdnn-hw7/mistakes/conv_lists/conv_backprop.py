"""Right but different: pre-activations and layer outputs kept in lists, sigma_prime applied
to the incoming gradient at the top of each backward step, views instead of reshapes."""

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
        dy = F.conv_transpose1d(dz, ws[l].view(1, 1, -1))
    return dws, dbs
