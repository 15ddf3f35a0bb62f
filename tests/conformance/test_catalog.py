"""The catalogue is complete (every op minigrad exports has an entry) and well formed."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import HealthCheck, given, reject, settings

from conformance import catalog
from conformance.compare import TOLERANCE_CLASSES
from conformance.coverage import exported_names, uncovered
from conformance.strategies.ops import FAMILIES, op_case
from conformance.strategies.values import DOMAINS


def test_every_minigrad_export_has_a_catalogue_entry() -> None:
    minigrad = importlib.import_module("minigrad")
    missing = uncovered(minigrad)
    assert not missing, f"exported by minigrad but not in the catalogue (add an entry or NOT_OPS): {missing}"


def test_coverage_sees_the_public_api() -> None:
    """The coverage scan itself finds ops, Tensor methods, functional ops, modules and optimisers."""
    names = set(exported_names(importlib.import_module("torch")))
    for expected in ("exp", "Tensor.exp", "Tensor.__add__", "nn.functional.relu", "nn.Linear", "optim.Adam",
                     "nn.init.xavier_uniform_", "optim.lr_scheduler.StepLR", "nn.utils.clip_grad_norm_"):
        assert expected in names


def test_exports_are_claimed_once_and_not_also_non_ops() -> None:
    seen: dict[str, str] = {}
    for spec in catalog.CATALOG.values():
        for e in spec.exports:
            assert e not in seen, f"{e} claimed by {seen[e]} and {spec.name}"
            seen[e] = spec.name
    assert not set(seen) & catalog.NOT_OPS


@pytest.mark.parametrize("spec", list(catalog.CATALOG.values()), ids=lambda s: s.name)
def test_entry_is_well_formed(spec: catalog.OpSpec) -> None:
    assert spec.tol in TOLERANCE_CLASSES or spec.tol == "distribution"
    assert spec.smooth in ("smooth", "piecewise", "none")
    if spec.family == "component":
        assert spec.group in catalog.COMPONENT_KINDS
        return
    assert spec.family in FAMILIES
    assert spec.calls
    for d in spec.domain:
        assert d in DOMAINS or d in ("bool", "index", "int")
    for v in spec.attrs.values():
        assert isinstance(v, str) or "choice" in v or "float" in v
    assert set(spec.grad) <= set(range(max(len(spec.domain), 3)))


@pytest.mark.parametrize("spec", catalog.op_entries(), ids=lambda s: s.name)
def test_every_op_is_drawable_and_torch_accepts_it(spec: catalog.OpSpec, torch_backend) -> None:  # noqa: ANN001
    """Each op's strategy yields cases torch evaluates (the harness never compares junk)."""
    from conformance.ir import evaluate

    seen = []

    @settings(max_examples=5, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(op_case(spec))
    def prop(case) -> None:  # noqa: ANN001
        out = evaluate(case, torch_backend)
        if not out.outputs:
            reject()
        seen.append(case)

    prop()
    assert seen and all(c.nodes[0].op == spec.name for c in seen)


def test_markdown_table_lists_every_entry() -> None:
    table = catalog.markdown_table()
    for name in catalog.CATALOG:
        assert f"| {name} |" in table


def test_render_call_fills_inputs_attrs_and_optional_tensors() -> None:
    ce = catalog.get("cross_entropy")
    src = catalog.render_call(ce, "F", ["a", "b", "c"], {"w": {"input": 2}, "ignore_index": -100,
                                                        "reduction": "sum", "label_smoothing": 0.1})
    assert src == "F.cross_entropy(a, b, weight=c, ignore_index=-100, reduction='sum', label_smoothing=0.1)"
    vn = catalog.get("vector_norm")
    assert catalog.render_call(vn, "fn", ["x"], {"ord": float("inf"), "dim": [0, -1], "keepdim": True,
                                                 "dtype": {"dtype": "float64"}}) == \
        "T.linalg.vector_norm(x, ord=float('inf'), dim=(0, -1), keepdim=True, dtype=T.float64)"
    # a keyword tail after an empty optional head: "x.var(, correction=1)" would not parse
    assert catalog.render_call(catalog.get("var"), "method", ["x"], {"correction": 1}) == "x.var(correction=1)"
