"""Tolerance policy, array comparison, and records (see ``conformance.schema``).

**The tolerance policy** (one table, :data:`BASE` x :data:`TOLERANCE_CLASSES`). An element passes when::

    |actual - expected| <= m * (atol + rtol * |expected|)  [+ m * rtol * M  for magnitude-scaled classes]

(``torch.testing.assert_close`` semantics, scaled). ``atol``/``rtol`` come from the dtype, ``m`` is the op
class multiplier times the depth/step factor, and ``M`` is the magnitude of the data (the largest finite
value among the inputs and the expected result): sums, matmuls, norms and losses can cancel, so their
absolute error is relative to the size of what was summed, not of the result. Graphs scale ``m`` by
``1 + depth / 2``, training runs by ``1 + step`` (error honestly compounds there). NaN against NaN at the
same place is equal; infinities must match in sign; integer and boolean results must be identical, and
the dtype of every value and gradient must match the oracle's.

The finite-difference oracle compares one scalar ``<J^T v, u>`` with ``(f(x + h u) - f(x - h u)) / 2h``
(``h`` = :data:`FD_STEP`, ``u`` scaled by ``max(1, |x|)``) with ``rtol = 1e-5`` and
``atol = 1e-6 * max(1, sum |g_i u_i|)`` plus the rounding bound ``4 eps |f| / h`` plus the truncation
estimate ``|D(2h) - D(h)|`` (Richardson).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .schema import json_float

BASE: dict[str, dict[str, float]] = {
    "float64": {"rtol": 1e-7, "atol": 1e-7},
    "float32": {"rtol": 1.3e-6, "atol": 1e-5},
}

#: class -> (multiplier, magnitude-scaled, what it is for)
TOLERANCE_CLASSES: dict[str, tuple[float, bool, str]] = {
    "exact": (0.0, False, "sign, comparisons, argmax, one_hot, deterministic dropout: identical results"),
    "movement": (1.0, False, "reshape/index/cat...: values moved; gradients scatter-add repeated indices"),
    "elementwise": (1.0, False, "+ - * /, abs, relu, clamp, maximum, ...: one rounding per element"),
    "transcendental": (4.0, False, "exp, log, tan, erf, pow, gelu, ...: libm implementations differ by ulps"),
    "softmax": (4.0, True, "softmax / log_softmax: a max-shift and a sum per row"),
    "reduction": (4.0, True, "sum, mean, var, prod, norm, logsumexp, cumsum: summation order differs"),
    "matmul": (4.0, True, "matmul family and linear: dot products of length K"),
    "loss": (8.0, True, "losses: a pointwise part and a reduction"),
    "graph": (4.0, True, "random DAGs, times 1 + depth / 2"),
    "training": (8.0, True, "networks and training runs, times 1 + step"),
}

FD_STEP = 1e-6
FD_RTOL = 1e-5
FD_ATOL = 1e-6

#: Sample statistics of random initialisers: |mean| <= 6 sd/sqrt(n), |std/expected - 1| <= DIST_STD_RTOL.
DIST_STD_RTOL = 0.1


def tolerance(dtype: str, tol_class: str, factor: float = 1.0) -> tuple[float, float, float, bool]:
    """``(rtol, atol, multiplier, magnitude_scaled)`` for a dtype, an op class and a depth/step factor."""
    base = BASE[dtype]
    mult, scaled, _ = TOLERANCE_CLASSES[tol_class]
    return base["rtol"], base["atol"], mult * factor, scaled


def policy_table() -> list[dict[str, Any]]:
    """The policy as rows (README and report)."""
    rows = []
    for cls, (mult, scaled, what) in TOLERANCE_CLASSES.items():
        rows.append({"class": cls, "multiplier": mult, "magnitude_scaled": scaled, "applies_to": what,
                     "float64": {k: v * mult for k, v in BASE["float64"].items()},
                     "float32": {k: v * mult for k, v in BASE["float32"].items()}})
    return rows


def _finite_max(*arrays: np.ndarray) -> float:
    m = 0.0
    for a in arrays:
        a = np.asarray(a)
        if a.size and a.dtype.kind == "f":
            fa = np.abs(a[np.isfinite(a)])
            if fa.size:
                m = max(m, float(fa.max()))
    return m


def element_ratios(actual: Any, expected: Any, atol: Any, rtol: float) -> np.ndarray:
    """``err / tol`` per element with ``tol = atol + rtol * |expected|`` (``atol`` a scalar or per element): 0
    where equal (NaN against NaN counts as equal), inf for a NaN against a number, an infinity against anything
    else, any difference where the tolerance is 0, and any difference in an integer or boolean result. An
    element fails when its ratio exceeds 1 (:func:`bad_mask`); the record and the report both use this."""
    a, b = np.asarray(actual), np.asarray(expected)
    if b.dtype.kind in "biu" or a.dtype.kind in "biu":
        return np.where(a != b, np.inf, 0.0)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        tol = np.asarray(atol, dtype=np.float64) + rtol * np.abs(b64)
        err = np.abs(a64 - b64)
        same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
        err = np.where(same, 0.0, err)
        err = np.where(np.isnan(err), np.inf, err)
        ratio = np.where(err == 0, 0.0, np.where(tol > 0, err / np.where(tol > 0, tol, 1.0), np.inf))
        ratio = np.where(np.isnan(ratio) | ~np.isfinite(tol) & (err > 0), np.inf, ratio)  # inf vs other
    return ratio


def bad_mask(actual: Any, expected: Any, atol: Any, rtol: float) -> np.ndarray:
    """The elements that fail the policy (see :func:`element_ratios`)."""
    return element_ratios(actual, expected, atol, rtol) > 1.0


def check_tolerance(check: dict[str, Any]) -> tuple[Any, float]:
    """``(atol, rtol)`` a check applied: ``atol`` already holds the multiplier and the magnitude-scaled term;
    ``extra_atol`` (scalar or nested list) is the widening where a quantity is not determined."""
    atol = float(check.get("atol") or 0.0)
    extra = check.get("extra_atol")
    return (atol if extra is None else atol + np.asarray(extra, dtype=np.float64)), float(check.get("rtol") or 0.0)


def compare_arrays(quantity: str, actual: Any, expected: Any, dtype: str, tol_class: str,
                   factor: float = 1.0, magnitude: float = 0.0, extra_atol: Any = 0.0) -> dict[str, Any]:
    """One check (schema.py) comparing ``actual`` with ``expected`` under the policy; ``extra_atol``
    (scalar or per element) widens it where the policy says a quantity is not determined (see
    ``checks.undetermined_steps``). The check's ``atol`` is the absolute tolerance applied: the policy's
    times the multiplier, plus the magnitude-scaled term."""
    a = np.asarray(actual)
    b = np.asarray(expected)
    rtol, atol, mult, scaled = tolerance(dtype, tol_class, factor)
    if scaled:
        atol_applied = mult * atol + mult * rtol * max(_finite_max(b.astype(np.float64)) if b.dtype.kind == "f"
                                                       else 0.0, magnitude)
    else:
        atol_applied = mult * atol
    extra = np.asarray(extra_atol, dtype=np.float64)
    check: dict[str, Any] = {"quantity": quantity, "shape": list(b.shape), "ratio": 0.0, "max_abs_err": 0.0,
                             "max_rel_err": 0.0, "index": [0] * b.ndim, "expected": None, "actual": None,
                             "atol": atol_applied, "rtol": rtol * mult, "ok": True}
    if extra.any():
        check["extra_atol"] = float(extra) if extra.ndim == 0 else extra.tolist()
    if a.shape != b.shape or a.dtype != b.dtype:
        check.update(ratio="inf", index=None, ok=False, note=f"shape/dtype {list(a.shape)} {a.dtype} "
                     f"!= expected {list(b.shape)} {b.dtype}")
        return check
    if b.size == 0:
        return check
    ratio = element_ratios(a, b, atol_applied + extra, rtol * mult)
    if b.dtype.kind in "biu":
        bad = ratio > 1.0
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), b.shape)
            check.update(ratio="inf", ok=False, index=[int(i) for i in idx], expected=_scalar(b[idx]),
                         actual=_scalar(a[idx]), max_abs_err=json_float(float(np.max(np.abs(
                             a.astype(np.float64) - b.astype(np.float64))))))
        else:
            check["expected"], check["actual"] = _scalar(b.flat[0]), _scalar(a.flat[0])
        return check
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a64 - b64)
        err = np.where((a64 == b64) | (np.isnan(a64) & np.isnan(b64)), 0.0, err)
        err = np.where(np.isnan(err), np.inf, err)
        # relative error is defined where the reference is not 0 (elsewhere only the absolute error means anything)
        nonzero = b64 != 0
        rel = np.where(err == 0, 0.0, err / np.where(nonzero, np.abs(b64), 1.0))
        rel = np.where(np.isnan(rel), np.inf, rel)
    max_rel = json_float(float(rel[nonzero].max())) if nonzero.any() else None
    k = int(np.argmax(ratio))
    idx = np.unravel_index(k, b.shape)
    worst = float(ratio.flat[k])
    check.update(
        ratio=json_float(worst), max_abs_err=json_float(float(err.max())), max_rel_err=max_rel,
        index=[int(i) for i in idx], expected=json_float(float(b64[idx])), actual=json_float(float(a64[idx])),
        ok=bool(worst <= 1.0),
    )
    return check


def _scalar(v: Any) -> Any:
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return json_float(float(v))


def scalar_check(quantity: str, actual: float, expected: float, rtol: float, atol: float) -> dict[str, Any]:
    """A check between two scalars with explicit tolerances (finite differences, statistics)."""
    err = abs(actual - expected)
    tol = atol + rtol * abs(expected)
    if math.isnan(err):
        ratio = 0.0 if math.isnan(actual) and math.isnan(expected) else math.inf
    else:
        ratio = 0.0 if err == 0 else (err / tol if tol > 0 else math.inf)
    return {"quantity": quantity, "shape": [], "ratio": json_float(ratio), "max_abs_err": json_float(err),
            "max_rel_err": json_float(0.0 if err == 0 else err / abs(expected)) if expected else None,
            "index": [], "expected": json_float(expected), "actual": json_float(actual), "atol": atol,
            "rtol": rtol, "ok": bool(ratio <= 1.0)}


def ratio_of(check: dict[str, Any]) -> float:
    return float(check["ratio"])


def worst_check(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(checks, key=ratio_of) if checks else None


# ---- known differences -------------------------------------------------------------------------
KNOWN_DIFFERENCES_FILE = Path(__file__).with_name("known_differences.json")


def known_differences() -> list[dict[str, Any]]:
    """Deliberate divergences from torch of one ``backend`` (default minigrad): ``id, ops, oracles, quantities``
    (``*`` wildcard), optional ``edge`` (an edge-value tag the case must have) and ``when`` (a name in
    :data:`CONDITIONS`), ``deviates`` (``"torch"`` or ``"backend"``: which side is wrong), ``exact`` (a name in
    ``conformance.exact.ORACLES``: the oracle that decides each record), ``reason``, ``evidence``, and ``case``:
    the IR case that shows it (replayed by the suite; the entry goes stale when it passes)."""
    from .exact import ORACLES

    entries = json.loads(KNOWN_DIFFERENCES_FILE.read_text())
    for kd in entries:
        if kd.get("deviates") not in DEVIATING_SIDES or kd.get("exact") not in ORACLES:
            raise ValueError(f"known difference {kd.get('id')!r} in {KNOWN_DIFFERENCES_FILE.name}: 'deviates' must be "
                             f"one of {DEVIATING_SIDES} (got {kd.get('deviates')!r}) and 'exact' one of "
                             f"{sorted(ORACLES)} (got {kd.get('exact')!r})")
    return entries


#: who a known difference can say is wrong; only a deviating *reference* excuses a record
DEVIATING_SIDES = ("torch", "backend")


def quantity_matches(quantity: str, pattern: str) -> bool:
    """``*`` is the only wildcard (brackets are literal: ``grad[*]`` matches ``grad[x0]``)."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), quantity) is not None


def _zero_variance(case: dict[str, Any]) -> bool:
    """Some reduced slice of the std/var input has all-equal values (std is not differentiable there)."""
    from .ir import decode_array

    if not case or "nodes" not in case:
        return False
    leaves = {lf["name"]: lf for lf in case["leaves"]}
    for node in case["nodes"]:
        if node["op"] not in ("std", "var") or node["inputs"][0] not in leaves:
            continue
        x = decode_array(leaves[node["inputs"][0]])
        dim = node["attrs"].get("dim")
        axis = None if dim is None or x.ndim == 0 else tuple(np.atleast_1d(dim) % x.ndim)
        if x.size and (np.ptp(x, axis=axis) == 0).any():
            return True
    return False


def _dtype_upcast(case: dict[str, Any]) -> bool:
    """Some node is asked to reduce in a wider dtype (``dtype=`` given)."""
    return bool(case) and any(node["attrs"].get("dtype") for node in case.get("nodes", []))


#: named conditions a known difference can require of the case (``"when"``)
CONDITIONS = {"zero_variance": _zero_variance, "dtype_upcast": _dtype_upcast}


def exact_decision(kd: dict[str, Any], case: dict[str, Any] | None, failing: list[dict[str, Any]],
                   values: dict[str, tuple[Any, Any]] | None) -> dict[str, Any]:
    """Which side the entry's exact oracle sides with on the failing checks of one record.

    Per check, each side is within tolerance of the exact value or not (the check's own atol/rtol): the oracle
    sides with ``backend`` when only the backend is, ``torch`` when only torch is, else ``both``/``neither``;
    ``undefined`` where the oracle does not apply or the arrays are missing. The record's ``sided_with`` is the
    checks' common answer (``mixed`` when they disagree)."""
    from .exact import exact_values

    exact = exact_values(kd["exact"], case) if values is not None else None
    per: list[dict[str, Any]] = []
    for c in failing:
        q = c["quantity"]
        if exact is None or values is None or q not in exact or q not in values:
            per.append({"quantity": q, "sided_with": "undefined"})
            continue
        actual, expected = (np.asarray(v) for v in values[q])
        atol, rtol = check_tolerance(c)
        e = exact[q]
        ok = {side: arr.shape == e.shape and not bad_mask(arr, e, atol, rtol).any()
              for side, arr in (("backend", actual), ("torch", expected))}
        side = {(True, False): "backend", (False, True): "torch", (True, True): "both"}.get(
            (ok["backend"], ok["torch"]), "neither")
        per.append({"quantity": q, "sided_with": side,
                    "backend_ratio": _max_ratio(actual, e, atol, rtol), "torch_ratio": _max_ratio(expected, e, atol, rtol)})
    sides = {p["sided_with"] for p in per}
    return {"entry": kd["id"], "oracle": kd["exact"], "deviates": kd["deviates"],
            "sided_with": sides.pop() if len(sides) == 1 else "mixed", "checks": per}


def _max_ratio(actual: np.ndarray, exact: np.ndarray, atol: Any, rtol: float) -> Any:
    if actual.shape != exact.shape:
        return "inf"
    return json_float(float(element_ratios(actual, exact, atol, rtol).max(initial=0.0)))


def match_known_difference(ops: list[str], oracle: str, edge_values: list[str], failing: list[dict[str, Any]],
                           case: dict[str, Any] | None = None, backend: str = "minigrad",
                           values: dict[str, tuple[Any, Any]] | None = None,
                           ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(known difference, exact decision)`` for a failing record. An entry whose scope (backend, oracle, ops,
    edge, ``when``, quantities) covers every failing check is decided by its exact oracle on the record's arrays
    (``values``: quantity -> (backend, torch)): the record is excused only when the entry says torch deviates and
    the oracle sides with the backend. The decision is returned either way, so a record that stays a failure
    says which side the oracle found right."""
    decision = None
    for kd in known_differences():
        if kd.get("backend", "minigrad") != backend.split("+")[0]:
            continue
        if oracle not in kd["oracles"] or not set(kd["ops"]) & set(ops):
            continue
        if kd.get("edge") and kd["edge"] not in edge_values:
            continue
        if kd.get("when") and not CONDITIONS[kd["when"]](case or {}):
            continue
        if not all(any(quantity_matches(c["quantity"], q) for q in kd["quantities"]) for c in failing):
            continue
        decision = exact_decision(kd, case, failing, values)
        if kd["deviates"] == "torch" and decision["sided_with"] == "backend":
            return {"id": kd["id"], "reason": kd["reason"], "evidence": kd["evidence"], "deviates": kd["deviates"],
                    "exact": kd["exact"], "sided_with": "backend"}, decision
    return None, decision


# ---- records -----------------------------------------------------------------------------------------
def make_record(*, kind: str, subject: str, ops: list[str], oracle: str, dtype: str, backend: str,
                checks: list[dict[str, Any]], case: dict[str, Any] | None, digest: str,
                edge_values: list[str] | None = None, nodeid: str = "", message: str | None = None,
                verdict: str | None = None, trajectory: dict[str, Any] | None = None, duration_s: float = 0.0,
                first_bad_node: int | None = None, values: dict[str, tuple[Any, Any]] | None = None,
                ) -> dict[str, Any]:
    """A record (schema.py). The verdict is ``fail`` when a check fails, unless a known difference explains it
    (decided by its exact oracle on ``values``: quantity -> (backend array, torch array)); passing records drop
    their checks (the worst one is kept) and their case, to keep results small."""
    edge_values = sorted(set(edge_values or []))
    failing = [c for c in checks if not c["ok"]]
    kd = exact = None
    if verdict is None:
        verdict = "pass"
        if failing:
            kd, exact = match_known_difference(ops, oracle, edge_values, failing, case, backend, values)
            verdict = "known_difference" if kd else "fail"
    keep = verdict != "pass"
    return {
        "id": f"{kind}-{subject}-{oracle}-{digest}",
        "nodeid": nodeid,
        "kind": kind,
        "subject": subject,
        "ops": sorted(set(ops)),
        "oracle": oracle,
        "dtype": dtype,
        "backend": backend,
        "verdict": verdict,
        "worst": worst_check(checks),
        "checks": checks if keep else [],
        "edge_values": edge_values,
        "message": message,
        "known_difference": kd,
        "exact": exact,
        "case": case if keep else None,
        "first_bad_node": first_bad_node,
        "arrays_file": None,
        "repro": None,
        "reproduce_failure": None,
        "trajectory": trajectory,
        "duration_s": round(duration_s, 6),
    }


def describe_failure(rec: dict[str, Any]) -> str:
    """One line naming subject, ops, oracle, quantity and worst err/tol (assertion messages)."""
    w = rec.get("worst") or {}
    bad = rec.get("first_bad_node")
    where = ""
    if bad is not None and rec.get("case"):
        node = next((n for n in rec["case"].get("nodes", []) if n["id"] == bad), None)
        if node:
            where = f" first bad node n{bad} = {node['op']}"
    ops = rec["ops"]
    if isinstance(ops, list) and len(ops) > 8:  # a stateful record lists every API it touched
        ops = ops[:8] + [f"... {len(ops) - 8} more"]
    head = f"{rec['kind']} {rec['subject']} [{rec['oracle']}, {rec['dtype']}] ops={ops}"
    # an error, or a failure that is not a numeric check (a stateful step's exception, an observable that
    # differs): its message says what failed, the worst numeric check would not
    if rec["verdict"] in ("error", "crashed") or (rec.get("message") and (not w or w.get("ok"))):
        return f"{head}: {rec['verdict']}: {rec['message']}"
    return (f"{head}{where}: "
            f"{w.get('quantity')} worst err/tol={w.get('ratio')} at {w.get('index')} "
            f"(expected {w.get('expected')}, actual {w.get('actual')}, abs err {w.get('max_abs_err')})"
            + (f" [{w['note']}]" if w.get("note") else ""))
