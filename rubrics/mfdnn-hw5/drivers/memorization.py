"""Worker-side driver for `memorization`: trains the student's network on the given random
labels and reports its predictions on the training images (the trusted side counts them)."""

from __future__ import annotations

from typing import Any

import torch

WrongAnswer: type[Exception]  # provided by the worker


def memorize(student: Any, images: torch.Tensor, labels: torch.Tensor, device: str) -> dict[str, Any]:
    model = student.memorize(images, labels, device)
    if not isinstance(model, torch.nn.Module):
        raise WrongAnswer(f"memorize should return the trained torch.nn.Module, got {type(model).__name__}")
    params = list(model.parameters())
    if not params:
        raise WrongAnswer("memorize returned a module without parameters: train a network and return it")
    model.eval()
    predictions = []
    with torch.no_grad():
        for batch in images.split(1024):
            logits = model(batch.to(device))
            if not isinstance(logits, torch.Tensor) or logits.shape != (len(batch), 10):
                shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                raise WrongAnswer(f"the model maps a batch of shape {tuple(batch.shape)} to {shape}; expected logits of shape ({len(batch)}, 10)")
            predictions.append(logits.argmax(1).cpu())
    return {
        "predictions": torch.cat(predictions),
        "parameters": sum(p.numel() for p in params),
        "devices": sorted({str(p.device.type) for p in params}),
        "images_after": images,  # whether they changed is judged on the trusted side
        "labels_after": labels,
    }
