import torch


def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):
    thetas = [theta0.clone()]
    prev = theta0.clone()
    cur = theta0.clone()
    k = 0
    while k < num_steps:
        nxt = cur - alpha * grad_fn(cur) + beta * (cur - prev)
        prev, cur = cur, nxt
        thetas.append(nxt)
        k += 1
    return thetas


def velocity_momentum(theta0, grad_fn, alpha, beta, num_steps):
    thetas = [theta0.clone()]
    v = torch.zeros_like(theta0)
    for k in range(num_steps):
        v = beta * v + grad_fn(thetas[k])
        thetas.append(thetas[k] - alpha * v)
    return thetas
