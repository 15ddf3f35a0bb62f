"""Every planted bug is caught by the property that must catch it, with a shrunk message naming the op or
component and a wrong number; the unmodified backend passes each of those properties (run once each)."""

from __future__ import annotations

import pytest

from conformance import catalog
from conformance.planted import (
    BUDGET,
    PLANTS,
    check_bug,
    implemented,
    names_subject,
    properties,
    run_property,
    stateful_available,
)
from conformance.strategies.nets import CLIPS, OPTIMIZERS, SCHEDULERS

needs_stateful = pytest.mark.skipif(not stateful_available(), reason="conformance.stateful is missing")


def _marks(kind: str) -> list[pytest.MarkDecorator]:
    return [needs_stateful] if kind == "stateful" else []


@pytest.mark.parametrize("bug", [pytest.param(b, marks=_marks(p.kind)) for b, p in PLANTS.items()])
def test_planted_bug_is_caught_and_named(bug: str, base_backend) -> None:  # noqa: ANN001
    caught, msg = check_bug(bug, base_backend)
    assert caught, f"planted bug {bug} ({PLANTS[bug].description}) not caught by its {PLANTS[bug].kind} property: {msg}"


@pytest.mark.parametrize(("kind", "subject"), [pytest.param(k, s, marks=_marks(k), id=f"{k}-{s}")
                                               for k, s in properties()])
def test_unmodified_backend_passes_the_same_property(kind: str, subject: str, base_backend) -> None:  # noqa: ANN001
    assert run_property(kind, subject, base_backend, BUDGET[kind]) is None


def test_every_plant_is_implemented_and_the_table_covers_the_library() -> None:
    """At least 40 plants; every op family, every loss, optimiser, scheduler and clip function, init, the
    engine, nn and DataLoader have one."""
    assert len(PLANTS) >= 40
    assert [b for b in PLANTS if not implemented(b)] == []
    subjects = {p.subject for p in PLANTS.values()}
    kinds = {p.kind for p in PLANTS.values()}
    op_groups = {catalog.get(p.subject).group for p in PLANTS.values() if p.kind == "op"}
    assert {"arithmetic", "elementwise", "activation", "softmax", "reduction", "shape", "indexing", "linalg",
            "loss"} <= op_groups
    losses = {s.name for s in catalog.CATALOG.values() if s.group == "loss"}
    assert losses <= subjects, losses - subjects
    assert set(OPTIMIZERS) | set(SCHEDULERS) | set(CLIPS) | {"dag", "Linear", "DataLoader"} <= subjects
    assert {"op", "graph", "network", "training", "init", "stateful"} <= kinds


def test_a_name_is_matched_whole() -> None:
    assert names_subject("op exp [torch64] ops=['exp']", "exp")
    assert not names_subject("op expand [torch64] ops=['expand']", "exp")
    assert names_subject("network init.kaiming_uniform_ [torch64]", "init.kaiming_uniform_")
    assert names_subject("graph dag-3-nodes [torch64]", "dag")
