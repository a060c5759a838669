"""Hidden checks for `count_ops` (mfdnn-hw7): never released to students (`grader release`
leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

from grader import public_checks
from grader.fixtures import Submission

public = public_checks(__file__)


def test_hidden_networks(submission: Submission) -> None:
    """Convolutions the public tests do not have: their conv counts."""
    for model, shape in (("nonsquare", (3, 45, 70)), ("grouped", (8, 20, 33)), ("custom", (3, 16, 24))):
        public.same_counts(public.counts_of(submission, model, shape), model, shape, f"the model {model!r}", ("conv",))


def test_hidden_containers(submission: Submission) -> None:
    """Containers and linear layers the public tests do not have: their linear counts."""
    for model, shape in (("nested", (1, 29, 29)), ("mlp", (1, 28, 28)), ("strided_no_bias", (3, 50, 37))):
        public.same_counts(public.counts_of(submission, model, shape), model, shape, f"the model {model!r}", ("linear",))
