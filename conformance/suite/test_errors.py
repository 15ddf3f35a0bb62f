"""Error parity: invalid inputs drawn for every catalogue entry and for the engine raise alike in both libraries.

Each example runs the same statements in torch and in the backend; :func:`conformance.errors.compare_exceptions`
decides (same class, matching message after normalisation, or neither raises). One record per example.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import Phase, given, settings

from conformance import profiles
from conformance.backends import reference
from conformance.cli import selected_ops
from conformance.compare import make_record
from conformance.errors import ErrorCase, compare_exceptions, repro_script, run_error_case
from conformance.strategies.errors import engine_case, error_case, error_specs

_PATTERN = os.environ.get("CONFORMANCE_OPS")
_CHOSEN = None if _PATTERN is None else set(selected_ops(_PATTERN))
PAIRS = [(s, c) for s, c in error_specs() if _CHOSEN is None or s.name in _CHOSEN]
#: error cases are a few statements on tensors of at most a dozen elements, small as drawn: no shrinking
#: (shrinking every failing entry/category pair would cost minutes when a backend differs in many places)
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


def error_records(case: ErrorCase, backend) -> list[dict]:  # noqa: ANN001
    """One record: torch's outcome against the backend's."""
    expected = run_error_case(case, reference())
    actual = run_error_case(case, backend)
    check = compare_exceptions(expected, actual, backend.name)
    dtypes = [str(v.dtype) for v, _ in case.leaves.values() if v.dtype.kind == "f"]
    return [make_record(kind="error", subject=case.subject, ops=case.ops or [case.subject], oracle="error",
                        dtype=dtypes[0] if dtypes else "none", backend=backend.name, checks=[check],
                        case=case.to_json(), digest=case.digest(), edge_values=[case.category])]


@pytest.mark.parametrize(("spec", "category"), PAIRS, ids=[f"{s.name}-{c}" for s, c in PAIRS])
def test_error_parity(spec, category, backend, sink) -> None:  # noqa: ANN001
    """Invalid inputs of one category for one catalogue entry."""

    @settings(max_examples=profiles.examples("errors"), phases=NO_SHRINK)
    @given(case=error_case(spec, category))
    def prop(case: ErrorCase) -> None:
        sink.submit(error_records(case, backend), script=repro_script)

    prop()


@pytest.mark.skipif(_CHOSEN is not None, reason="--ops selects catalogue entries")
def test_engine_error_parity(backend, sink) -> None:  # noqa: ANN001
    """Misuse of autograd: backward twice, .grad assignments, in-place on leaves and views, devices, ..."""

    @settings(max_examples=profiles.examples("engine_errors"), phases=NO_SHRINK)
    @given(case=engine_case())
    def prop(case: ErrorCase) -> None:
        sink.submit(error_records(case, backend), script=repro_script)

    prop()


#: every entry-specific invalid statement (catalogue field ``invalid``), once per (entry, category): the drawn
#: examples pick among them at random and may miss some, and they are torch's checks no perturbation reaches
LISTED = [(s, c) for s, c in PAIRS if s.invalid.get(c)]


@pytest.mark.parametrize(("spec", "category"), LISTED, ids=[f"{s.name}-{c}" for s, c in LISTED])
def test_listed_invalid_statements(spec, category, backend, sink) -> None:  # noqa: ANN001
    """Each of an entry's own invalid statements of one category, once, on a (2, 3) float64 ``p``."""
    p = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    for code in spec.invalid[category]:
        case = ErrorCase(spec.name, category, code, {"p": (p, True)}, [spec.name])
        sink.submit(error_records(case, backend), script=repro_script)
