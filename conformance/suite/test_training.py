"""Training runs: K steps from identical parameters and batches; losses, parameters, lr, clipping norms."""

from __future__ import annotations

import pytest

from conformance.strategies.nets import CLIPS, OPTIMIZERS, SCHEDULERS, training_case
from conformance.suite.props import run_training_property


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_training(optimizer, backend, sink) -> None:  # noqa: ANN001
    """One optimiser with drawn hyper-parameters (schedulers and clipping drawn sometimes)."""
    run_training_property(backend, sink, training_case(kind="training", optimizer=optimizer), "training")


@pytest.mark.parametrize("component", SCHEDULERS + CLIPS)
def test_training_component(component, backend, sink) -> None:  # noqa: ANN001
    """A scheduler or a clipping function in every run, with any optimiser."""
    run_training_property(backend, sink, training_case(kind="training", component=component), "training")
