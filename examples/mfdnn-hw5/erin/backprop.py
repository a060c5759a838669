import torch


def sigma(z):
    return torch.sigmoid(z)


def sigma_prime(z):
    s = torch.sigmoid(z)
    return s * (1 - s)


def backprop(A_list, b_list, X, Y):
    L = len(A_list)

    # forward: remember every layer's input and pre-activation
    ys = [X]
    zs = []
    for l in range(L):
        zs.append(A_list[l] @ ys[-1] + b_list[l])
        if l == L - 1:
            ys.append(zs[-1])
        else:
            ys.append(sigma(zs[-1]))

    # backward
    dA_list = [None] * L
    db_list = [None] * L
    g = ys[-1] - Y  # dloss/dz at the output (linear layer)
    for l in range(L - 1, -1, -1):
        dA_list[l] = g @ ys[l].t()
        db_list[l] = g.clone()
        if l > 0:
            g = sigma_prime(zs[l - 1]) * (A_list[l].t() @ g)
    return dA_list, db_list


if __name__ == "__main__":
    torch.manual_seed(0)
    L = 6
    X_data = torch.rand(4, 1)
    Y_data = torch.rand(1, 1)
    A_list, b_list = [], []
    for _ in range(L - 1):
        A_list.append(torch.rand(4, 4))
        b_list.append(torch.rand(4, 1))
    A_list.append(torch.rand(1, 4))
    b_list.append(torch.rand(1, 1))
    dA_list, db_list = backprop(A_list, b_list, X_data, Y_data)
    print(dA_list[0])
