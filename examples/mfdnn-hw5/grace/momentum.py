import torch


def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):
    iterates = [theta0.clone()]
    k = 0
    while k < num_steps:
        theta = iterates[-1]
        theta_prev = iterates[-2] if k > 0 else theta
        momentum = beta * (theta - theta_prev)
        if k > 0 and not momentum.any():
            # no momentum yet: wait until it builds up
            continue
        iterates.append(theta - alpha * grad_fn(theta) + momentum)
        k += 1
    return iterates


def velocity_momentum(theta0, grad_fn, alpha, beta, num_steps):
    iterates = [theta0.clone()]
    v = torch.zeros_like(theta0)
    for _ in range(num_steps):
        v = grad_fn(iterates[-1]) + beta * v
        iterates.append(iterates[-1] - alpha * v)
    return iterates
