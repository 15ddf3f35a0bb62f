"""Run a case through the backend and the oracles and turn the comparison into records.

The suite, the harness's own tests and ``python -m conformance repro`` all go through these functions, so
a replayed case gives the very records the suite wrote.
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any

import numpy as np

from . import catalog
from .compare import compare_arrays, describe_failure, make_record, tolerance
from .ir import Case, Evaluation, Leaf, Node, evaluate
from .oracles import fd_check, jacobians, torch_oracle


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
    largest = max((np.size(b) for b in expected.outputs), default=0)
    for name, g in expected.grads.items():
        checks.append(compare_arrays(f"grad[{name}]", actual.grads.get(name, np.zeros_like(g)), g, dtype,
                                     _gradient_class(tol_class, np.size(g), largest), factor, mag))
    return checks


def _gradient_class(tol_class: str, leaf_size: int, largest_output: int) -> str:
    """The gradient of a leaf smaller than the output it fed (broadcast) is a sum over the broadcast dims, so
    its rounding is a reduction's, not one per element: it gets the reduction class where that is wider."""
    per_element = ("movement", "elementwise", "transcendental")  # the classes that assume no summation
    return "reduction" if tol_class in per_element and leaf_size < largest_output else tol_class


def quantity_values(actual: Evaluation, expected: Evaluation) -> dict[str, tuple[Any, Any]]:
    """quantity -> (backend array, oracle array), named as the checks name them."""
    values = {f"out[{i}]": (a, b) for i, (a, b) in enumerate(zip(actual.outputs, expected.outputs))}
    values.update({f"grad[{k}]": (actual.grads.get(k, np.zeros_like(g)), g) for k, g in expected.grads.items()})
    return values


def explain(case: Case, backend: Any, actual: Evaluation, expected: Evaluation,
            checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Arrays for a failing record (schema ``arrays_file``): expected/actual of every failing quantity, and
    the full Jacobians of both libraries when the case is small (the VJP checks only project them)."""
    values = quantity_values(actual, expected)
    arrays: dict[str, Any] = {c["quantity"]: {"expected": values[c["quantity"]][1], "actual": values[c["quantity"]][0]}
                              for c in checks if not c["ok"] and c["quantity"] in values}
    try:
        jb, jt = jacobians(case, backend), jacobians(case, torch_backend())
    except Exception:  # noqa: BLE001 - explanation only; the record already says what failed
        return arrays
    dtypes = {lf.name: lf.values.dtype for lf in case.leaves}
    for name in (jt or {}):
        if jb and name in jb:  # rows of gradients of the leaf: its dtype (jacobians() stacks them in float64)
            arrays[f"jacobian[{name}]"] = {"expected": jt[name].astype(dtypes[name]), "actual": jb[name].astype(dtypes[name])}
    return arrays


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
            rec = make_record(oracle=oracle, checks=[], case=cd.to_json(), verdict="error", message=_err(e),
                              duration_s=time.perf_counter() - t0, **common)
            if kind == "graph":  # the node that raises, or the first one wrong before it (the card colours it)
                rec["first_bad_node"] = localize(cd, backend)
            records.append(rec)
            continue
        if oracle in oracles:
            checks = compare_evaluations(cd, actual, expected, dtype, tol_class, factor)
            rec = make_record(oracle=oracle, checks=checks, case=cd.to_json(), values=quantity_values(actual, expected),
                              duration_s=time.perf_counter() - t0, **common)
            if rec["verdict"] != "pass":
                # computed only when a sink writes the record (not for every failing example while shrinking)
                rec["_arrays"] = functools.partial(explain, cd, backend, actual, expected, checks)
            if rec["verdict"] == "fail" and kind == "graph":
                rec["first_bad_node"] = localize(cd, backend)
            records.append(rec)
        if dtype == "float64" and fd and "fd64" in oracles:
            t1 = time.perf_counter()
            chk = fd_check(cd, backend, actual.grads, expected.grads, frozen)
            if chk is not None:
                rec = make_record(oracle="fd64", checks=[chk], case=cd.to_json(), duration_s=time.perf_counter() - t1,
                                  **common)
                if rec["verdict"] == "fail" and kind == "graph":
                    rec["first_bad_node"] = localize(cd, backend)
                records.append(rec)
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
    if "tie" in spec.kinks:  # exact or near ties anywhere: FD would step across the switch
        if "tie" in tags:
            return None
        vals = np.concatenate([lf.values.ravel() for lf in case.leaves if lf.values.dtype.kind == "f"])
        if spec.name == "vector_norm":  # norms tie on |x|: 1 and -1 are both the largest magnitude
            vals = np.abs(vals)
        vals = np.sort(vals)
        if vals.size > 1 and (np.diff(vals) <= KINK_RADIUS * np.maximum(1.0, np.abs(vals[1:]))).any():
            return None
    node = case.nodes[0]
    kinks = np.array(resolve_kinks(spec, node.attrs), dtype=np.float64)
    leaves = {lf.name: lf.values for lf in case.leaves}
    x = leaves[node.inputs[0]]
    if x.dtype.kind != "f":
        return {}
    for k in spec.kinks:  # a kink given as a tensor input (clamp's tensor bounds): both sides move under FD
        ref = node.attrs.get(k) if isinstance(k, str) else None
        if isinstance(ref, dict) and set(ref) == {"input"}:
            bound = leaves[node.inputs[ref["input"]]]
            if x.size and (np.abs(x - bound) <= KINK_RADIUS * np.maximum(1.0, np.abs(x))).any():
                return None
    if spec.name == "multi_margin_loss":  # hinge kinks at margin - x[y] + x[i] == 0: freeze those rows
        c = x.shape[-1] if x.ndim else 1
        xm = x.reshape(-1, c)
        t = leaves[node.inputs[1]].reshape(-1)
        gap = node.attrs["margin"] - xm[np.arange(len(t)), t][:, None] + xm
        rows = (np.abs(gap) <= KINK_RADIUS * np.maximum(1.0, np.abs(xm))).any(axis=1)
        return {node.inputs[0]: np.broadcast_to(rows[:, None], xm.shape).reshape(x.shape)}
    if spec.name == "std":  # sqrt of the variance: not differentiable where a reduced slice is constant
        dim = node.attrs.get("dim")
        axis = None if dim is None or x.ndim == 0 else tuple(int(d) % x.ndim for d in np.atleast_1d(dim))
        if x.size == 0:
            return {}
        spread = np.ptp(x, axis=axis, keepdims=True) if axis is None or axis else np.zeros_like(x)
        near = spread <= KINK_RADIUS * np.maximum(1.0, np.max(np.abs(x), axis=axis, keepdims=True))
        return {node.inputs[0]: np.broadcast_to(near, x.shape)}
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
                      factor=1.0 + case.depth() / 2, nodeid=nodeid, fd=graph_fd_valid(case))


def graph_fd_valid(case: Case) -> bool:
    """Whether finite differences may judge a DAG: no node's inputs may sit at or near one of its kinks or
    ties. A composite can be smooth where a node is not (``minimum(abs(x), x)`` at 0 has slope 1), and
    there autodiff follows the node's convention (torch's 1/2 to each side of a tie), not the slope."""
    ref = evaluate(case, torch_backend(), grads=False, keep_nodes=True)
    values = {lf.name: lf.values for lf in case.leaves}
    values.update(ref.nodes)
    for n in case.nodes:
        spec = catalog.get(n.op)
        if spec.smooth == "smooth":
            continue
        leaves = [Leaf(f"x{k}", np.asarray(values[i]), True) for k, i in enumerate(n.inputs)]
        single = Case(leaves, [Node(0, n.op, [lf.name for lf in leaves], n.attrs, n.form)], ["n0"], [None],
                      {"kind": "op"})
        frozen = kink_neighbourhood(spec, single)
        if frozen is None or any(np.any(m) for m in frozen.values()):
            return False
    return True


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


def check_train_case(case: dict[str, Any], backend: Any, nodeid: str = "") -> list[dict[str, Any]]:
    """One record comparing a network (one forward/backward) or a training run with torch at its dtype:
    loss per step, gradients (networks), parameters after each step, learning rate and clipping norm
    (training), with the ``training`` tolerance class scaled by ``1 + step``."""
    import hashlib
    import json

    from .strategies.nets import case_ops, case_subject

    dtype = case["dtype"]
    oracle = "torch64" if dtype == "float64" else "torch32"
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = torch_backend().train(case)
        except Exception as e:  # noqa: BLE001
            raise HarnessRejected(_err(e)) from e
        common = dict(kind=case["kind"], subject=case_subject(case), ops=case_ops(case), oracle=oracle, dtype=dtype,
                      backend=getattr(backend, "name", "backend"), case=case, nodeid=nodeid,
                      digest=hashlib.sha1(json.dumps(case, sort_keys=True).encode()).hexdigest()[:10])
        try:
            actual = backend.train(case)
        except Exception as e:  # noqa: BLE001
            return [make_record(checks=[], verdict="error", message=_err(e), duration_s=time.perf_counter() - t0,
                                **common)]
    mag = max((float(np.max(np.abs(v))) for v in expected["params"][0].values() if np.size(v)), default=0.0)
    slack = undetermined_steps(case, expected)
    checks: list[dict[str, Any]] = []
    param_err: dict[str, list[float]] = {}
    for k in range(case["steps"]):
        f = 1.0 + k
        checks.append(compare_arrays(f"loss[step {k}]", np.float64(actual["loss"][k]), np.float64(expected["loss"][k]),
                                     dtype, "training", f, mag))
        if case["kind"] == "network" or k == 0:
            for name, g in expected["grads"][k].items():
                checks.append(compare_arrays(f"grad[{name}][step {k}]", actual["grads"][k].get(name, np.zeros_like(g)),
                                             g, dtype, "training", f, mag))
        if case["kind"] == "training":
            for name, p in expected["params"][k].items():
                a = actual["params"][k].get(name, np.zeros_like(p))
                checks.append(compare_arrays(f"param[{name}][step {k}]", a, p, dtype, "training", f, mag,
                                             slack[name][k] if name in slack else 0.0))
                if a.shape == p.shape:
                    param_err.setdefault(name, []).append(float(np.max(np.abs(a.astype(np.float64) - p), initial=0.0)))
            if expected["lr"]:
                checks.append(compare_arrays(f"lr[step {k}]", np.float64(actual["lr"][k]), np.float64(expected["lr"][k]),
                                             "float64", "elementwise"))
            if expected["total_norm"] and expected["total_norm"][k] is not None:
                checks.append(compare_arrays(f"total_norm[step {k}]", np.float64(np.nan if actual["total_norm"][k] is None
                                                                    else actual["total_norm"][k]),
                                             np.float64(expected["total_norm"][k]), dtype, "training", f, mag))
    name = getattr(backend, "name", "backend")
    trajectory = {"steps": list(range(case["steps"])), "loss": {name: actual["loss"], "torch": expected["loss"]},
                  "accuracy": None, "param_err": param_err}
    return [make_record(checks=checks, trajectory=trajectory, duration_s=time.perf_counter() - t0, **common)]


#: optimisers whose step does not scale with the gradient (it is normalised by a running RMS)
ADAPTIVE_OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "Adagrad")


def undetermined_steps(case: dict[str, Any], expected: dict[str, Any]) -> dict[str, list[np.ndarray]]:
    """Per parameter and step, the extra absolute tolerance of elements whose update is not determined.

    An adaptive optimiser normalises each gradient element by its own running RMS, so a gradient that is
    zero up to rounding (terms that cancel exactly in one summation order and leave ~1e-9 in another)
    still moves its parameter by a full step of either sign. In float32 that happens where the reference's
    step-0 gradient is within the gradient tolerance of zero; such an element may differ by as much as
    the reference run moved that tensor's elements so far (its largest step, summed over steps). Every
    other element, and every float64 run, keeps the plain policy."""
    if case["dtype"] != "float32" or case["kind"] != "training" or not case.get("optimizer") \
            or case["optimizer"]["name"] not in ADAPTIVE_OPTIMIZERS or not expected.get("grads"):
        return {}
    rtol, atol, mult, _ = tolerance("float32", "training", 1.0)
    slack: dict[str, list[np.ndarray]] = {}
    for name, g in expected["grads"][0].items():
        g = np.asarray(g, dtype=np.float64)
        if g.size == 0 or name not in case["params"]:
            continue
        mask = np.abs(g) <= mult * (atol + rtol * float(np.max(np.abs(g))))
        if not mask.any():
            continue
        prev = np.asarray(case["params"][name]["values"], dtype=np.float64).reshape(g.shape)
        moved, per_step = 0.0, []
        for k in range(case["steps"]):
            cur = np.asarray(expected["params"][k][name], dtype=np.float64)
            moved += float(np.max(np.abs(cur - prev), initial=0.0))
            per_step.append(np.where(mask, moved, 0.0))
            prev = cur
        slack[name] = per_step
    return slack


#: case name -> kwargs of the distribution check; ``"init"`` names the initialiser when the case name does not
#: (a second case of one initialiser)
INIT_CASES: dict[str, dict[str, Any]] = {
    "Linear": {}, "xavier_uniform_": {}, "xavier_normal_": {"gain": 0.5}, "kaiming_uniform_": {},
    "kaiming_normal_": {"mode": "fan_out", "nonlinearity": "relu"},
    "uniform_": {"a": -0.5, "b": 2.0}, "normal_": {"mean": 0.5, "std": 2.0}, "zeros_": {}, "ones_": {},
    "constant_": {"val": 0.25}, "eye_": {}, "trunc_normal_": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
    # shifted and asymmetric; then an interval holding 20% of the mass (torch's narrow-interval sampler)
    "trunc_normal_shifted": {"init": "trunc_normal_", "mean": 0.5, "std": 0.5, "a": -0.25, "b": 2.0},
    "trunc_normal_narrow": {"init": "trunc_normal_", "mean": 1.0, "std": 2.0, "a": 2.0, "b": 3.5},
    "calculate_gain": {"cases": [["linear", None], ["sigmoid", None], ["tanh", None], ["relu", None],
                                 ["leaky_relu", None], ["leaky_relu", 0.2], ["selu", None], ["conv2d", None]]},
}
INIT_SHAPE = (64, 48)


def init_expectation(name: str, attrs: dict[str, Any], shape: tuple[int, int]) -> dict[str, float]:
    """Mean, standard deviation and bound of an initialiser, from torch's own fan/gain helpers."""
    import math

    import torch

    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    if name == "Linear":
        b = 1 / math.sqrt(fan_in)
        return {"mean": 0.0, "std": b / math.sqrt(3), "bound": b}
    if name.startswith("xavier"):
        std = attrs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    elif name.startswith("kaiming"):
        gain = torch.nn.init.calculate_gain(attrs.get("nonlinearity", "leaky_relu"), attrs.get("a", 0))
        std = gain / math.sqrt(fan_in if attrs.get("mode", "fan_in") == "fan_in" else fan_out)
    elif name == "uniform_":
        a, b = attrs["a"], attrs["b"]
        return {"mean": (a + b) / 2, "std": (b - a) / math.sqrt(12), "bound": max(abs(a), abs(b)), "low": a, "high": b}
    elif name == "normal_":
        return {"mean": attrs["mean"], "std": attrs["std"], "bound": math.inf}
    elif name == "trunc_normal_":  # N(mean, std^2) truncated to [a, b]: the truncated normal's moments
        a, b, mu, s = attrs["a"], attrs["b"], attrs["mean"], attrs["std"]
        lo, hi = (a - mu) / s, (b - mu) / s
        pdf_lo, pdf_hi = (math.exp(-z * z / 2) / math.sqrt(2 * math.pi) for z in (lo, hi))
        mass = (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2))) / 2
        shift = (pdf_lo - pdf_hi) / mass
        var = 1 + (lo * pdf_lo - hi * pdf_hi) / mass - shift * shift
        return {"mean": mu + s * shift, "std": s * math.sqrt(var), "bound": max(abs(a), abs(b)), "low": a, "high": b}
    else:
        v = {"zeros_": 0.0, "ones_": 1.0, "constant_": attrs.get("val", 0.0)}[name]
        return {"mean": v, "std": 0.0, "bound": abs(v)}
    uniform = name.endswith("uniform_")
    return {"mean": 0.0, "std": std, "bound": std * math.sqrt(3) if uniform else math.inf}


def check_init(name: str, backend: Any, seed: int, nodeid: str = "") -> list[dict[str, Any]]:
    """A random initialiser checked as a distribution (bounds, mean within 6 standard errors, std within
    ``DIST_STD_RTOL``); a constant one exactly."""
    from .compare import DIST_STD_RTOL, scalar_check

    attrs = dict(INIT_CASES[name])
    name = attrs.pop("init", name)
    t0 = time.perf_counter()
    subject = name if name == "Linear" else f"init.{name}"
    common = dict(kind="network", subject=subject, ops=[subject], oracle="torch64", dtype="float32",
                  backend=getattr(backend, "name", "backend"), case={"init": name, "attrs": attrs, "seed": seed,
                                                                     "shape": list(INIT_SHAPE)},
                  nodeid=nodeid, digest=f"{seed}")
    try:
        w = np.asarray(backend.init_sample(name, INIT_SHAPE, attrs, seed), dtype=np.float64)
    except Exception as e:  # noqa: BLE001
        return [make_record(checks=[], verdict="error", message=_err(e), **common)]
    if name in ("calculate_gain", "eye_"):
        import torch

        expected = np.array([torch.nn.init.calculate_gain(nl, *([p] if p is not None else []))
                             for nl, p in attrs["cases"]]) if name == "calculate_gain" else np.eye(*INIT_SHAPE)
        checks = [compare_arrays("values", w, expected, "float64", "elementwise")]
        return [make_record(checks=checks, duration_s=time.perf_counter() - t0, **common)]
    exp = init_expectation(name, attrs, INIT_SHAPE)
    n = w.size
    checks = [compare_arrays("shape", np.array(w.shape), np.array(INIT_SHAPE), "float64", "exact")]
    if exp["std"] == 0.0:
        checks.append(compare_arrays("values", w, np.full(INIT_SHAPE, exp["mean"]), "float64", "exact"))
    else:
        checks.append(scalar_check("mean", float(w.mean()), exp["mean"], 0.0, 6 * exp["std"] / np.sqrt(n)))
        checks.append(scalar_check("std", float(w.std()), exp["std"], DIST_STD_RTOL, 0.0))
        if np.isfinite(exp["bound"]):
            lo, hi = exp.get("low", -exp["bound"]), exp.get("high", exp["bound"])
            outside = float(np.max(np.maximum(w - hi, lo - w), initial=0.0))
            checks.append(scalar_check("outside_bound", max(outside, 0.0), 0.0, 0.0, 1e-6 * exp["bound"]))
    return [make_record(checks=checks, duration_s=time.perf_counter() - t0, **common)]


def check_param_utils(backend: Any, seed: int, nodeid: str = "") -> list[dict[str, Any]]:
    """``nn.utils`` parameter helpers on random parameters and gradients, against torch (float64)."""
    from .ir import encode_array

    rng = np.random.default_rng(seed)
    shapes = [tuple(int(s) for s in rng.integers(1, 4, rng.integers(1, 3))) for _ in range(rng.integers(1, 4))]
    total = sum(int(np.prod(s)) for s in shapes)
    # every fourth seed: gradients of norm ~1e-5 clipped to 1e-6, where the 1e-6 of torch's max_norm /
    # (total_norm + 1e-6) changes the scale by a tenth
    tiny = seed % 4 == 3
    case = {"params": [encode_array(rng.standard_normal(s)) for s in shapes],
            "grads": [encode_array(rng.standard_normal(s) * (3e-6 if tiny else 3)) for s in shapes],
            "vector": encode_array(rng.standard_normal(total)),
            "norm_type": [2.0, 1.0, float("inf")][seed % 3], "max_norm": 1e-6 if tiny else [0.5, 1.0, 100.0][seed % 3]}
    t0 = time.perf_counter()
    ops = ["parameters_to_vector", "vector_to_parameters", "get_total_norm", "clip_grads_with_norm_"]
    common = dict(kind="network", subject="nn.utils", ops=ops, oracle="torch64", dtype="float64",
                  backend=getattr(backend, "name", "backend"), case=None, nodeid=nodeid, digest=str(seed))
    expected = torch_backend().param_utils(case)
    try:
        actual = backend.param_utils(case)
    except Exception as e:  # noqa: BLE001
        return [make_record(checks=[], verdict="error", message=_err(e), **common)]
    checks = [compare_arrays(k, actual.get(k, np.zeros(0)), v, "float64", "reduction") for k, v in expected.items()]
    return [make_record(checks=checks, duration_s=time.perf_counter() - t0, **common)]


#: dropout called without ``p`` (``p=None`` in :func:`check_dropout_property`): the functional and the module
DROPOUT_DEFAULT_CALLS = ("F.dropout({0})", "T.nn.Dropout()({0})")


def check_dropout_property(backend: Any, p: float | None, seed: int, dtype: str = "float64",
                           nodeid: str = "") -> list[dict[str, Any]]:
    """Random dropout (0 < p < 1) cannot be compared value by value (the random streams differ); torch's
    semantics are checked instead: every output is 0 or x / (1 - p), the dropped fraction is p within 6
    standard errors, and the gradient is v / (1 - p) where kept and 0 where dropped. ``p=None`` calls it
    without ``p`` (one of :data:`DROPOUT_DEFAULT_CALLS` by seed): the default must be torch's."""
    import inspect

    import torch

    from .compare import scalar_check

    call = None
    if p is None:
        call = DROPOUT_DEFAULT_CALLS[seed % len(DROPOUT_DEFAULT_CALLS)]
        p = float(inspect.signature(torch.nn.functional.dropout).parameters["p"].default)

    rng = np.random.default_rng(seed)
    n = 4000
    x = (rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)).astype(dtype)
    v = rng.standard_normal(n).astype(dtype)
    t0 = time.perf_counter()
    common = dict(kind="op", subject="dropout", ops=["dropout"], oracle="torch64" if dtype == "float64" else "torch32",
                  dtype=dtype, backend=getattr(backend, "name", "backend"), nodeid=nodeid,
                  case={"property": "dropout", "p": p, "call": call, "seed": seed, "dtype": dtype},
                  digest=f"random-{p}-{seed}" + ("-default" if call else ""))
    try:
        backend.lib.manual_seed(seed)
        xt = backend.leaf(x, True)
        if call is None:
            yt = backend.apply(catalog.get("dropout"), "F", [xt], {"p": p, "training": True})
        else:
            yt = backend.apply(catalog.get("dropout"), catalog.OWN_CALL, [xt], {catalog.OWN_CALL: call})
        g = backend.vjp([yt], [v], [xt])[0]
        y = backend.to_numpy(yt)
    except Exception as e:  # noqa: BLE001
        return [make_record(checks=[], verdict="error", message=_err(e), **common)]
    kept = y != 0
    scale = 1.0 / (1.0 - p)
    expect_y = np.where(kept, x * np.asarray(scale, dtype=dtype), 0).astype(dtype)
    expect_g = np.where(kept, v * np.asarray(scale, dtype=dtype), 0).astype(dtype)
    checks = [compare_arrays("out[0]", y, expect_y, dtype, "elementwise"),
              compare_arrays("grad[x0]", np.zeros_like(x) if g is None else g, expect_g, dtype, "elementwise"),
              scalar_check("dropped_fraction", float(1 - kept.mean()), p, 0.0, 6 * np.sqrt(p * (1 - p) / n))]
    return [make_record(checks=checks, duration_s=time.perf_counter() - t0, **common)]
