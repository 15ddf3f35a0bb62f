"""The hypothesis property shared by the network and training tests."""

from __future__ import annotations

from typing import Any

from hypothesis import given, reject, settings
from hypothesis import strategies as st

from conformance import profiles
from conformance.checks import HarnessRejected, check_train_case
from conformance.ir import emit_train_repro


def run_training_property(backend: Any, sink: Any, strategy: st.SearchStrategy[Any], kind: str) -> None:
    """Check every drawn training case (``kind`` picks the example budget: "network" or "training")."""

    @settings(max_examples=profiles.examples(kind))
    @given(case=strategy)
    def prop(case: Any) -> None:
        sink.begin(case, kind=case["kind"], subject=kind)
        try:
            records = check_train_case(case, backend)
        except HarnessRejected:
            reject()
        sink.submit(records, script=emit_train_repro)

    prop()
