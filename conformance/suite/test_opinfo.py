"""torch's own OpInfo samples of every catalogue op that has them, as fixed cases: forward and VJP with a
seeded random cotangent against torch float64 and float32 (``conformance/opinfo.py``)."""

from __future__ import annotations

import os

import pytest

from conformance import catalog
from conformance.checks import HarnessRejected, check_case
from conformance.cli import selected_ops

_PATTERN = os.environ.get("CONFORMANCE_OPS")
_CHOSEN = None if _PATTERN is None else set(selected_ops(_PATTERN))
#: entries whose catalogue data may name an OpInfo (resolved against torch's database lazily, per test)
SPECS = [s for s in catalog.op_entries() if s.opinfo != () and (_CHOSEN is None or s.name in _CHOSEN)]


@pytest.mark.parametrize(("spec", "dtype"), [(s, d) for s in SPECS for d in s.dtypes],
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_opinfo(spec, dtype, backend, sink) -> None:  # noqa: ANN001
    """Every OpInfo sample of one entry at one dtype; skipped samples are counted by reason."""
    from conformance.opinfo import opinfo_names, plan

    if not opinfo_names(spec):
        pytest.skip(f"{spec.name}: no OpInfo samples at {dtype}")
    oracle = "torch64" if dtype in ("float64", "int64", "bool") else "torch32"
    records = []
    for sample in plan(spec.name, dtype).cases():
        try:
            records += check_case(sample.case, backend, kind="opinfo", subject=spec.name, tol_class=spec.tol,
                                  fd=False, oracles=(oracle,))
        except HarnessRejected as e:  # torch accepted the call once (to_case) and must do so again
            raise AssertionError(f"{spec.name}: torch rejects its own sample {sample.index}: {e}") from e
    sink.submit(records)
