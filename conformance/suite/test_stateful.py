"""The stateful API (in-place ops, hooks, grad modes, modules, optimisers, schedulers, checkpoints,
DataLoader) driven call by call in the backend and in torch by hypothesis state machines."""

from __future__ import annotations

import pytest

from conformance import profiles
from conformance.stateful import MACHINES, program_script, stateful_record


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_stateful(machine, backend, sink, request) -> None:  # noqa: ANN001
    """Every step's results, exceptions and tracked state agree with torch's."""
    record = stateful_record(backend, machine, profiles.examples("stateful"), nodeid=request.node.nodeid)
    sink.submit([record], script=program_script)
