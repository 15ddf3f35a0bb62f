"""Random DAGs of catalogue ops (fan-out, shared subexpressions, several outputs, broadcasting)."""

from __future__ import annotations

from hypothesis import given, reject, settings

from conformance import profiles
from conformance.checks import HarnessRejected, check_graph_case
from conformance.strategies.dags import dag_case


def test_dag(backend, sink) -> None:  # noqa: ANN001
    """Forward values of every output and gradients of every leaf, against all three oracles."""

    @settings(max_examples=profiles.examples("graph"))
    @given(case=dag_case())
    def prop(case) -> None:  # noqa: ANN001
        sink.begin(case, kind="graph", subject=f"dag-{len(case.nodes)}-nodes", ops=sorted({n.op for n in case.nodes}))
        try:
            records = check_graph_case(case, backend)
        except HarnessRejected:
            reject()
        sink.submit(records)

    prop()
