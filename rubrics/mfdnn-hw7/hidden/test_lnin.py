"""Hidden checks for `lnin` (mfdnn-hw7, Problem 5): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

import pytest
import torch

from grader import public_checks
from grader.checks import close

public = public_checks(__file__)

net1_seed = public.net1_seed  # the public module's fixture: the same seed as its Net1's


@pytest.fixture(scope="session")
def wide_image(seed: int) -> torch.Tensor:
    return torch.randn(1, 3, 41, 36, generator=torch.Generator().manual_seed(seed + 41))


@pytest.fixture(scope="session")
def expected_windows(template, net1_seed, wide_image):  # type: ignore[no-untyped-def]
    """net1 on every 32x32 window of the wide image, laid out as Net2's output, once per batch.
    net1 is the grader's float32 Net1, as the public module's ``net1`` fixture builds it
    (fixtures do not cross modules): built, used, dropped."""
    h, w = wide_image.shape[-2:]
    with torch.no_grad():
        net1 = public.seeded_net1(template("lnin"), net1_seed, 10, torch.float32, "cpu")
        return net1(torch.cat([win for _, _, win in public.windows(wide_image)])).T.reshape(1, 10, h - 31, w - 31)


def test_equal_on_patches(submission, net1_seed, wide_image, expected_windows):  # type: ignore[no-untyped-def]
    h, w = wide_image.shape[-2:]
    got = submission.call("equal", seed=net1_seed, x=wide_image, dtype="float32",
                          context=f"copy_weights_from(net1), then Net2 on a (1, 3, {h}, {w}) image")["out"]
    close(got, expected_windows, what=f"Net2(images) vs net1 on every 32x32 window of a {h}x{w} image (float32)",
          tol=public.scaled(public.F32, expected_windows), index_names=("image", "class", "row i", "column j"))
