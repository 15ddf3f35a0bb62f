"""Every catalogue op against torch float64, torch float32 and finite differences."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, reject, settings

from conformance import profiles
from conformance.checks import HarnessRejected, check_dropout_property, check_op_case
from conformance.cli import selected_ops
from conformance.strategies.ops import all_op_specs, op_case

SPECS = all_op_specs()
_PATTERN = os.environ.get("CONFORMANCE_OPS")


_CHOSEN = None if _PATTERN is None else set(selected_ops(_PATTERN))


@pytest.mark.parametrize("spec", [s for s in SPECS if _CHOSEN is None or s.name in _CHOSEN], ids=lambda s: s.name)
def test_op(spec, backend, sink) -> None:  # noqa: ANN001
    """One catalogue op: forward values and VJPs on drawn shapes and edge values."""

    @settings(max_examples=profiles.examples("op"))
    @given(case=op_case(spec))
    def prop(case) -> None:  # noqa: ANN001
        sink.begin(case, kind="op", subject=spec.name)
        try:
            records = check_op_case(spec, case, backend)
        except HarnessRejected:
            reject()
        sink.submit(records)

    prop()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, None])
@pytest.mark.skipif(_CHOSEN is not None and "dropout" not in _CHOSEN, reason="--ops excludes dropout")
def test_dropout_random(p, backend, sink) -> None:  # noqa: ANN001
    """Random dropout as a property: outputs 0 or x / (1 - p), dropped fraction p, matching gradient
    (``None``: called without p, so the default p is torch's)."""
    for seed in range(profiles.examples("init")):
        for dtype in ("float64", "float32"):
            sink.submit(check_dropout_property(backend, p, seed, dtype))
