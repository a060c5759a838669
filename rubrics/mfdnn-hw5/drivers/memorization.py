"""Worker-side driver for `memorization`: trains the student's network on the given random
labels and reports its predictions on the training images (the trusted side counts them)."""

from __future__ import annotations

from typing import Any

import torch

from grader.driver import WrongAnswer, keep, plain

# Bound now (the driver is loaded before the student's module): what is read of the model's
# parameters comes from torch's own getters, never from a subclass's or a patched method.
_numel = torch.Tensor.numel
_device = torch._C.TensorBase.__dict__["device"].__get__
_no_tf = torch._C.DisableTorchFunctionSubclass


def memorize(student: Any, images: torch.Tensor, labels: torch.Tensor, device: str) -> dict[str, Any]:
    kept = keep(images=images, labels=labels)  # held before the call: what it did to them is read from here
    model = student.memorize(images, labels, device)
    if not isinstance(model, torch.nn.Module):
        raise WrongAnswer(f"memorize should return the trained torch.nn.Module, got {type(model).__name__}")
    params = list(model.parameters())
    if not params:
        raise WrongAnswer("memorize returned a module without parameters: train a network and return it")
    if not all(isinstance(p, torch.Tensor) for p in params):
        raise WrongAnswer("the parameters() of the module memorize returned are not all tensors")
    with _no_tf():
        count = sum(int(_numel(p)) for p in params)
        devices = sorted({str(_device(p).type) for p in params})
    model.eval()
    predictions = []
    with torch.no_grad():
        for batch in images.split(1024):
            logits = model(batch.to(device))
            if isinstance(logits, torch.Tensor):
                logits = plain(logits, "what the model returned")  # a plain tensor: its argmax is torch's
            if not isinstance(logits, torch.Tensor) or logits.shape != (len(batch), 10):
                shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                raise WrongAnswer(f"the model maps a batch of shape {tuple(batch.shape)} to {shape}; expected logits of shape ({len(batch)}, 10)")
            predictions.append(logits.argmax(1).cpu())
    return {
        "predictions": torch.cat(predictions),
        "parameters": count,
        "devices": devices,
        "inputs": kept.after(),  # whether images and labels changed is judged on the trusted side
    }
