"""Random MLPs (one forward/backward from identical parameters) and initialisers as distributions."""

from __future__ import annotations

import pytest

from conformance import profiles
from conformance.checks import INIT_CASES, check_init, check_param_utils
from conformance.strategies.nets import training_case
from conformance.suite.props import run_training_property


def test_network(backend, sink) -> None:  # noqa: ANN001
    """Loss and every parameter gradient of a random MLP (depth, width, activation, loss, init, dtype)."""
    run_training_property(backend, sink, training_case(kind="network"), "network")


@pytest.mark.parametrize("name", sorted(INIT_CASES))
def test_init(name, backend, sink) -> None:  # noqa: ANN001
    """``nn.init.<name>`` (and Linear's default) on a 64x48 weight: bounds, mean and std like torch's."""
    for seed in range(profiles.examples("init")):
        sink.submit(check_init(name, backend, seed))


def test_param_utils(backend, sink) -> None:  # noqa: ANN001
    """parameters_to_vector, vector_to_parameters, get_total_norm (2, 1, inf), clip_grads_with_norm_."""
    for seed in range(3 * profiles.examples("init")):
        sink.submit(check_param_utils(backend, seed))
