"""Training runs: K steps from identical parameters and batches; losses, parameters, lr, clipping norms."""

from __future__ import annotations

import pytest
from hypothesis import given, reject, settings

from conformance import profiles
from conformance.checks import HarnessRejected, check_train_case
from conformance.ir import emit_train_repro
from conformance.strategies.nets import CLIPS, OPTIMIZERS, SCHEDULERS, training_case


def _run(backend, sink, strategy) -> None:  # noqa: ANN001
    @settings(max_examples=profiles.examples("training"))
    @given(case=strategy)
    def prop(case) -> None:  # noqa: ANN001
        try:
            records = check_train_case(case, backend)
        except HarnessRejected:
            reject()
        sink.submit(records, script=emit_train_repro)

    prop()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_training(optimizer, backend, sink) -> None:  # noqa: ANN001
    """One optimiser with drawn hyper-parameters (schedulers and clipping drawn sometimes)."""
    _run(backend, sink, training_case(kind="training", optimizer=optimizer))


@pytest.mark.parametrize("component", SCHEDULERS + CLIPS)
def test_training_component(component, backend, sink) -> None:  # noqa: ANN001
    """A scheduler or a clipping function in every run, with any optimiser."""
    _run(backend, sink, training_case(kind="training", component=component))
