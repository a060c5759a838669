"""HW5 problem 1 -- Frank"""

import torch


def backprop(A_list, b_list, X, Y):
    # forward pass, keeping the activations
    acts = [X]
    for A, b in zip(A_list[:-1], b_list[:-1]):
        acts.append(torch.sigmoid(A @ acts[-1] + b))
    out = A_list[-1] @ acts[-1] + b_list[-1]

    # backward pass: err = dloss/d(pre-activation)
    err = out - Y
    dA_list, db_list = [], []
    for l in reversed(range(len(A_list))):
        dA_list.insert(0, err @ acts[l].T)
        db_list.insert(0, err)
        if l > 0:
            a = acts[l]  # = sigmoid(z), so sigmoid'(z) = a (1 - a)
            err = (A_list[l].T @ err) * a * (1 - a)
    return dA_list, db_list
