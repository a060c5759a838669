"""Worker-side driver of `mlp` (hw1): it runs next to the student's code, because an
nn.Module cannot cross to the trusted side; it reports plain values, never judges."""

from __future__ import annotations

from typing import Any

import torch

from grader.driver import WrongAnswer, plain


def _shapes(state: dict[str, torch.Tensor]) -> str:
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in state.items()) or "nothing"


def build_and_run(student: Any, d_in: int, d_out: int, x: torch.Tensor, device: str,
                  state: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """Build the student's Model(d_in, d_out) in x's dtype, load ``state`` into it when the
    check gives one (else keep the student's own initialisation), and run it on x.

    Reports its parameter count (before anything is loaded: a network of the wrong size is
    still counted) and its output, read once with ``plain``."""
    model = student.Model(d_in, d_out)
    if not isinstance(model, torch.nn.Module):
        raise WrongAnswer(f"Model({d_in}, {d_out}) should be an nn.Module, got {type(model).__name__}")
    model = model.to(device=device, dtype=x.dtype)
    parameters = sum(int(t.numel()) for t in model.parameters())
    if state is not None:
        have = dict(model.state_dict())
        try:
            model.load_state_dict(state)  # strict: the same names and shapes, nothing more
        except RuntimeError as exc:  # torch's message lists the missing, unexpected and mis-shaped keys
            detail = str(exc).split("\n", 1)[-1].strip()
            raise WrongAnswer(
                f"Model({d_in}, {d_out}) cannot take the weights of the network the homework describes. "
                f"Expected exactly: {_shapes(state)}. Your model's state_dict has: {_shapes(have)}. "
                f"({detail})") from None
    model.eval()
    with torch.no_grad():
        out = model(x.to(device))
    return {"parameters": parameters, "out": plain(out, f"Model({d_in}, {d_out})(x)")}
