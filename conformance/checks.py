"""Run a case through the backend and the oracles and turn the comparison into records.

The suite, the harness's own tests and ``python -m conformance repro`` all go through these functions, so
a replayed case gives the very records the suite wrote.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from . import catalog
from .compare import compare_arrays, describe_failure, make_record
from .ir import Case, Evaluation, Leaf, Node, evaluate
from .oracles import fd_check, torch_oracle


class HarnessRejected(Exception):
    """The reference itself rejects the case (an invalid draw); the suite turns this into ``reject()``."""


def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _magnitude(case: Case) -> float:
    m = 0.0
    for lf in case.leaves:
        v = lf.values
        if v.dtype.kind == "f" and v.size:
            fin = np.abs(v[np.isfinite(v)])
            if fin.size:
                m = max(m, float(fin.max()))
    return m


def compare_evaluations(case: Case, actual: Evaluation, expected: Evaluation, dtype: str, tol_class: str,
                        factor: float = 1.0) -> list[dict[str, Any]]:
    """Checks for every output and every leaf gradient."""
    mag = _magnitude(case)
    checks = [compare_arrays(f"out[{i}]", a, b, dtype, tol_class, factor, mag)
              for i, (a, b) in enumerate(zip(actual.outputs, expected.outputs))]
    for name, g in expected.grads.items():
        checks.append(compare_arrays(f"grad[{name}]", actual.grads.get(name, np.zeros_like(g)), g, dtype,
                                     tol_class, factor, mag))
    return checks


def _case_dtypes(case: Case) -> list[str]:
    has_float = any(lf.values.dtype.kind == "f" for lf in case.leaves)
    return ["float64", "float32"] if has_float else ["float64"]


def check_case(case: Case, backend: Any, *, kind: str, subject: str, tol_class: str, factor: float = 1.0,
               fd: bool = True, nodeid: str = "", oracles: tuple[str, ...] = ("torch64", "torch32", "fd64"),
               frozen: dict[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """Records for one case against each oracle (torch64 and fd64 share the backend's float64 run)."""
    with warnings.catch_warnings():
        return _check_case(case, backend, kind=kind, subject=subject, tol_class=tol_class, factor=factor, fd=fd,
                           nodeid=nodeid, oracles=oracles, frozen=frozen)


def _check_case(case: Case, backend: Any, *, kind: str, subject: str, tol_class: str, factor: float,
                fd: bool, nodeid: str, oracles: tuple[str, ...], frozen: dict[str, np.ndarray] | None,
                ) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    ops = case.ops()
    tags = list(case.meta.get("edge_values", []))
    name = getattr(backend, "name", "backend")
    for dtype in _case_dtypes(case):
        oracle = "torch64" if dtype == "float64" else "torch32"
        if oracle not in oracles and not (dtype == "float64" and "fd64" in oracles):
            continue
        cd = case.astype(dtype)
        t0 = time.perf_counter()
        warnings.simplefilter("ignore")
        try:
            expected = torch_oracle(case, dtype)
        except Exception as e:  # noqa: BLE001
            raise HarnessRejected(_err(e)) from e
        common = dict(kind=kind, subject=subject, ops=ops, dtype=dtype, backend=name, edge_values=tags,
                      nodeid=nodeid, digest=cd.digest())
        try:
            actual = evaluate(cd, backend)
        except Exception as e:  # noqa: BLE001 - the backend failed where torch did not
            records.append(make_record(oracle=oracle, checks=[], case=cd.to_json(), verdict="error",
                                       message=_err(e), duration_s=time.perf_counter() - t0, **common))
            continue
        if oracle in oracles:
            checks = compare_evaluations(cd, actual, expected, dtype, tol_class, factor)
            rec = make_record(oracle=oracle, checks=checks, case=cd.to_json(),
                              duration_s=time.perf_counter() - t0, **common)
            if rec["verdict"] == "fail" and kind == "graph":
                rec["first_bad_node"] = localize(cd, backend)
            records.append(rec)
        if dtype == "float64" and fd and "fd64" in oracles:
            t1 = time.perf_counter()
            chk = fd_check(cd, backend, actual.grads, expected.grads, frozen)
            if chk is not None:
                records.append(make_record(oracle="fd64", checks=[chk], case=cd.to_json(),
                                           duration_s=time.perf_counter() - t1, **common))
    return records


def check_op_case(spec: catalog.OpSpec, case: Case, backend: Any, nodeid: str = "") -> list[dict[str, Any]]:
    """Records for a single-op case."""
    frozen = kink_neighbourhood(spec, case)
    return check_case(case, backend, kind="op", subject=spec.name, tol_class=spec.tol,
                      fd=spec.smooth != "none" and bool(spec.grad) and frozen is not None, nodeid=nodeid,
                      frozen=frozen)


KINK_RADIUS = 1e-4


def kink_neighbourhood(spec: catalog.OpSpec, case: Case) -> dict[str, np.ndarray] | None:
    """Elements within ``KINK_RADIUS * max(1, |x|)`` of a catalogue kink (finite differences must not step
    across one). None when the case sits on kinks finite differences cannot avoid (exact ties, planted
    margins)."""
    from .strategies.ops import resolve_kinks

    tags = case.meta.get("edge_values", [])
    if spec.smooth == "smooth":
        return {}
    if "tie" in spec.kinks and "tie" in tags:
        return None
    node = case.nodes[0]
    kinks = np.array(resolve_kinks(spec, node.attrs), dtype=np.float64)
    leaves = {lf.name: lf.values for lf in case.leaves}
    x = leaves[node.inputs[0]]
    if x.dtype.kind != "f":
        return {}
    if spec.name == "multi_margin_loss":  # hinge kinks at margin - x[y] + x[i] == 0: freeze those rows
        c = x.shape[-1] if x.ndim else 1
        xm = x.reshape(-1, c)
        t = leaves[node.inputs[1]].reshape(-1)
        gap = node.attrs["margin"] - xm[np.arange(len(t)), t][:, None] + xm
        rows = (np.abs(gap) <= KINK_RADIUS * np.maximum(1.0, np.abs(xm))).any(axis=1)
        return {node.inputs[0]: np.broadcast_to(rows[:, None], xm.shape).reshape(x.shape)}
    if spec.family == "loss_pointwise" and spec.name != "hinge_embedding_loss":
        t = leaves[node.inputs[1]]
        d = x - t
        near = np.zeros(d.shape, dtype=bool)
        for k in np.concatenate([kinks, -kinks, [0.0]]):
            near |= np.abs(d - k) <= KINK_RADIUS * np.maximum(1.0, np.abs(x) + np.abs(t))
        return {node.inputs[0]: near, node.inputs[1]: near}
    near = np.zeros(x.shape, dtype=bool)
    for k in kinks:
        near |= np.abs(x - k) <= KINK_RADIUS * np.maximum(1.0, np.abs(x))
    return {node.inputs[0]: near}


def check_graph_case(case: Case, backend: Any, nodeid: str = "") -> list[dict[str, Any]]:
    """Records for a random DAG (tolerance class ``graph`` scaled by depth)."""
    return check_case(case, backend, kind="graph", subject=f"dag-{len(case.nodes)}-nodes", tol_class="graph",
                      factor=1.0 + case.depth() / 2, nodeid=nodeid)


def localize(case: Case, backend: Any) -> int | None:
    """The first node that is wrong on its own: each node replayed alone, on torch's values of its inputs."""
    ref = evaluate(case, torch_backend(), grads=False, keep_nodes=True)
    values = {lf.name: lf.values for lf in case.leaves}
    values.update(ref.nodes)
    rng = np.random.default_rng(0)
    for n in case.nodes:
        leaves = []
        for k, i in enumerate(n.inputs):
            v = values[i]
            src = next((lf for lf in case.leaves if lf.name == i), None)
            rg = v.dtype.kind == "f" and (src.requires_grad if src else True)
            leaves.append(Leaf(f"x{k}", np.array(v), rg))
        out = values[n.ref]
        cot = rng.standard_normal(out.shape).astype(out.dtype) if out.dtype.kind == "f" else None
        single = Case(leaves, [Node(0, n.op, [lf.name for lf in leaves], n.attrs, n.form)], ["n0"], [cot],
                      {"kind": "op"})
        spec = catalog.get(n.op)
        recs = check_case(single, backend, kind="op", subject=n.op, tol_class=spec.tol, fd=False,
                          oracles=("torch64" if case.meta.get("dtype", "float64") == "float64" else "torch32",))
        if any(r["verdict"] in ("fail", "error") for r in recs):
            return n.id
    return None


def torch_backend() -> Any:
    from .backends import reference
    return reference()


def failures(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records whose verdict is a discrepancy (fail, error, crashed)."""
    return [r for r in records if r["verdict"] in ("fail", "error", "crashed")]


def assert_no_failures(records: list[dict[str, Any]]) -> None:
    """Raise AssertionError naming op, oracle, quantity and worst err/tol of every failing record."""
    bad = failures(records)
    if bad:
        raise AssertionError("conformance discrepancy:\n" + "\n".join("  " + describe_failure(r) for r in bad))
