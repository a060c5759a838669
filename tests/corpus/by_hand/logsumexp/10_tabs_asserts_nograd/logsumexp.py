"""logsumexp: write a numerically stable log-sum-exp (see README.md, Problem 1)."""

import torch


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
	"""log(sum(exp(x))) along dimension ``dim`` of ``x``.

	x: a float32 or float64 tensor of any shape; dim: the dimension to reduce (negative
	values count from the end, as in torch). Returns a tensor of x's dtype whose shape is
	x's with ``dim`` removed (like keepdim=False): for x of shape (n, d), shape (d,) for
	dim=0 and (n,) for dim=1.

	It must not overflow or underflow where exp(x) does: logsumexp(torch.full((3,), 1000.0), 0)
	is 1000 + log(3), not inf. Use torch.exp, torch.log, sum and max, not torch.logsumexp.
	"""
	assert x.dtype in (torch.float32, torch.float64), f"expected float32/float64, got {x.dtype}"
	assert -x.dim() <= dim < max(x.dim(), 1), f"dim {dim} out of range for a {x.dim()}-D tensor"
	with torch.no_grad():
		m = x.max(dim, keepdim=True)[0]
		out = (m + (x - m).exp().sum(dim, keepdim=True).log()).squeeze(dim)
	expected = tuple(s for i, s in enumerate(x.shape) if i != dim % x.dim())
	assert tuple(out.shape) == expected, f"shape {tuple(out.shape)}, expected {expected}"
	assert out.dtype == x.dtype, f"dtype {out.dtype} != {x.dtype}"
	return out


if __name__ == "__main__":
	big = torch.full((3,), 1000.0)
	print(f"logsumexp(full 1000) = {logsumexp(big, 0).item():.6f}  (expected {1000 + torch.log(torch.tensor(3.0)).item():.6f})")
	x = torch.randn(4, 5, dtype=torch.float64)
	for d in (0, 1, -1, -2):
		naive = torch.log(torch.exp(x).sum(d))
		print(f"dim={d:2d}: shape {tuple(logsumexp(x, d).shape)}, max |diff| vs naive = {(logsumexp(x, d) - naive).abs().max().item():.2e}")
