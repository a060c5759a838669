#!/usr/bin/env python
# coding: utf-8

# ## Problem 1 -- stable log-sum-exp
# (exported from my hw1.ipynb)

# In[1]:
"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch


# In[2]:


# idea from lecture: log sum exp(x) = m + log sum exp(x - m), with m = max so every exp(.) <= 1


# In[3]:


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along dimension ``dim`` of ``x``.

    x: a float32 or float64 tensor of any shape; dim: the dimension to reduce (negative
    values count from the end, as in torch). Returns a tensor of x's dtype whose shape is
    x's with ``dim`` removed (like keepdim=False): for x of shape (n, d), shape (d,) for
    dim=0 and (n,) for dim=1.

    It must not overflow or underflow where exp(x) does: logsumexp(torch.full((3,), 1000.0), 0)
    is 1000 + log(3), not inf. Use torch.exp, torch.log, sum and max, not torch.logsumexp.
    """
    c = x.max(dim=dim).values
    z = x - c.unsqueeze(dim)
    return c + torch.log(torch.sum(torch.exp(z), dim=dim))


# In[4]:


if __name__ == "__main__":
    x = torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    print(logsumexp(x, 1))
    print(logsumexp(x, 0))
    print(logsumexp(torch.full((3,), -1000.0), 0))


# In[ ]:
