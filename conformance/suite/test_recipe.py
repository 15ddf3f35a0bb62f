"""The seed recipe on load_digits (MLP 64-128-10, cross-entropy, Adam lr 0.01) in both libraries."""

from __future__ import annotations

import pytest

from conformance import profiles
from conformance.recipe import run_recipe

EPOCHS = {"quick": 3, "ci": 15, "nightly": 100}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recipe(dtype, backend, sink) -> None:  # noqa: ANN001
    """Loss per step, parameters and accuracy per epoch stay with torch's."""
    sink.submit([run_recipe(backend, EPOCHS[profiles.current_profile()], dtype)])
