"""The catalogue's call templates themselves: every form and every attribute choice of every entry runs in
both libraries (a typo fails here, not when hypothesis happens to draw it), and every parameter of every
exported callable is varied by some entry or excused in ``catalog.NOT_VARIED`` with a reason."""

from __future__ import annotations

import importlib
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from conformance import catalog
from conformance.backends import load_backend
from conformance.coverage import parameters_not_varied, resolve_export
from conformance.ir import Case, evaluate
from conformance.strategies.ops import all_op_specs, op_case

SWEEP_EXAMPLES = 600  # enough to draw each of the inplace entry's 32 calls; entries stop once all are seen
SWEEP = settings(max_examples=SWEEP_EXAMPLES, derandomize=True, database=None, deadline=None,
                 phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def _same(drawn: Any, choice: Any) -> bool:
    if choice == "tensor":  # drawn as an input (conformance.strategies.ops.tensor_attrs)
        return isinstance(drawn, dict) and set(drawn) == {"input"}
    if isinstance(choice, float) and math.isnan(choice):
        return isinstance(drawn, float) and math.isnan(drawn)
    return type(drawn) is type(choice) and drawn == choice


def _targets(spec: catalog.OpSpec) -> set[tuple[Any, ...]]:
    out: set[tuple[Any, ...]] = {("form", f) for f in spec.calls}
    for name, strat in spec.attrs.items():
        if isinstance(strat, dict) and "choice" in strat:
            out |= {("attr", name, i) for i in range(len(strat["choice"]))}
    return out


def sweep(spec: catalog.OpSpec) -> tuple[set[tuple[Any, ...]], dict[tuple[Any, ...], Case]]:
    """Draw cases until every form and every attribute choice has appeared (or the budget is spent);
    returns the targets and the first case that hit each."""
    targets, seen = _targets(spec), {}

    def covers(case: Case) -> bool:
        node = case.nodes[0]
        seen.setdefault(("form", node.form), case)
        for name, strat in spec.attrs.items():
            for i, choice in enumerate(strat.get("choice", []) if isinstance(strat, dict) else []):
                if name in node.attrs and _same(node.attrs[name], choice):
                    seen.setdefault(("attr", name, i), case)
        return targets <= seen.keys()

    try:
        find(op_case(spec), covers, settings=SWEEP)
    except NoSuchExample:
        pass
    return targets, seen


def _describe(target: tuple[Any, ...], spec: catalog.OpSpec) -> str:
    if target[0] == "form":
        return f"form {target[1]!r} ({spec.calls[target[1]]})"
    return f"attribute {target[1]}={spec.attrs[target[1]]['choice'][target[2]]!r}"


@pytest.mark.parametrize("spec", all_op_specs(), ids=lambda s: s.name)
def test_every_form_and_choice_runs_in_both_libraries(spec: catalog.OpSpec, torch_backend) -> None:  # noqa: ANN001
    minigrad_backend = load_backend("minigrad")
    targets, seen = sweep(spec)
    never = sorted(_describe(t, spec) for t in targets - seen.keys())
    assert not never, (f"{spec.name}: never drawn in {SWEEP_EXAMPLES} examples (torch rejects every case: a typo in "
                       f"the template? or the strategy never picks it): {never}")
    problems = []
    for case in {id(c): c for c in seen.values()}.values():
        node = case.nodes[0]
        call = catalog.render_call(spec, node.form, node.inputs, node.attrs)
        results = {}
        for backend in (torch_backend, minigrad_backend):
            try:
                results[backend.name] = evaluate(case, backend)
            except Exception as exc:  # noqa: BLE001 - collect every broken call, then fail once
                problems.append(f"{backend.name}: {call}: {type(exc).__name__}: {exc}")
        if len(results) == 2:
            shapes = {name: [o.shape for o in ev.outputs] for name, ev in results.items()}
            if len(set(map(str, shapes.values()))) > 1:
                problems.append(f"{call}: output shapes differ {shapes}")
    assert not problems, "\n".join(problems)


def test_every_parameter_of_an_exported_callable_is_varied() -> None:
    minigrad = importlib.import_module("minigrad")
    missing = parameters_not_varied(minigrad)
    assert not missing, (
        "parameters no catalogue entry varies (pass them in a call template with an attribute of several choices "
        f"or an input, or excuse them in catalog.NOT_VARIED with the reason): {missing}")


def test_not_varied_names_real_parameters() -> None:
    """Every NOT_VARIED key names a parameter that exists (no stale excuses)."""
    import inspect

    minigrad = importlib.import_module("minigrad")
    names: set[str] = set()
    for export, entry in catalog.export_index().items():
        obj = resolve_export(minigrad, export)
        try:
            params = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            continue
        group = catalog.get(entry).group
        for p in params:
            names |= {f"*.{p}", f"{export}.{p}", f"{group}.{p}"}
    stale = sorted(set(catalog.NOT_VARIED) - names)
    assert not stale, f"NOT_VARIED keys naming no parameter of a catalogued export: {stale}"
    assert all(len(reason) > 20 for reason in catalog.NOT_VARIED.values())


def test_parameter_analysis_sees_keywords_positions_and_operators() -> None:
    """The analysis reads templates as Python: keywords, positions, {dimargs}, operators, raw attributes."""
    from conformance.coverage import call_sites, render_symbolic

    div = catalog.get("div")
    (src,) = render_symbolic(div, div.calls["fn"])
    (site,) = call_sites(src)
    assert site.export == "div" and len(site.positional) == 2 and set(site.keywords) == {"rounding_mode"}
    (src,) = render_symbolic(catalog.get("sum"), catalog.get("sum").calls["method"])
    assert call_sites(src)[0].export == "Tensor.sum" and {"dim", "keepdim", "dtype"} <= set(call_sites(src)[0].keywords)
    scalar = catalog.get("scalar_arith")
    exports = {s.export for src in render_symbolic(scalar, scalar.calls["left"]) for s in call_sites(src)}
    assert {"Tensor.__radd__", "Tensor.__rpow__", "Tensor.__rtruediv__"} <= exports
    inplace = catalog.get("inplace")
    assert len(render_symbolic(inplace, inplace.calls["method"])) == len(inplace.attrs["call"]["choice"])
