import torch


def backprop(A_list, b_list, X, Y):
    L = len(A_list)
    n = X.shape[0]

    # outputs of the input and hidden layers, stacked: ys[l] = y_l
    ys = torch.zeros(L, n, 1, dtype=X.dtype)
    ys[0] = X
    for l in range(L - 1):
        ys[l + 1] = torch.sigmoid(A_list[l] @ ys[l] + b_list[l])
    y_out = A_list[L - 1] @ ys[L - 1] + b_list[L - 1]

    dA_list = [None] * L
    db_list = [None] * L
    delta = y_out - Y
    for l in range(L - 1, -1, -1):
        dA_list[l] = delta @ ys[l].T
        db_list[l] = delta
        if l > 0:
            delta = (A_list[l].T @ delta) * ys[l] * (1 - ys[l])
    return dA_list, db_list
