"""The three oracles: torch float64 (tight), torch float32 (float32 tolerances), central finite differences.

``torch64``/``torch32`` evaluate the same IR case with the torch backend at that dtype. ``fd64`` is
independent of torch: it projects the backend's own float64 gradient on a random direction ``u`` and compares
with a central difference of the backend's forward pass (``conformance.compare`` documents the tolerance).
Finite differences are only an oracle where they are accurate: the case must have finite reference gradients
and pass a local smoothness test (one-sided differences agree), which also keeps them off kinks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backends import reference
from .compare import FD_ATOL, FD_RTOL, FD_STEP, scalar_check
from .ir import Case, Evaluation, evaluate, forward_only

ORACLE_DTYPES = {"torch64": "float64", "torch32": "float32"}

#: one-sided differences must agree to this relative tolerance for the FD oracle to apply
SMOOTHNESS_RTOL = 1e-3


def torch_oracle(case: Case, dtype: str) -> Evaluation:
    """torch's forward values and VJP for ``case`` cast to ``dtype``."""
    return evaluate(case.astype(dtype), reference())


def _objective(case: Case, backend: Any, values: dict[str, np.ndarray]) -> float:
    outs = forward_only(case, backend, values)
    total = 0.0
    for o, c in zip(outs, case.cotangents):
        if c is not None and o.dtype.kind == "f":
            total += float(np.sum(c * o.astype(np.float64)))
    return total


def fd_check(case: Case, backend: Any, grads: dict[str, np.ndarray], ref_grads: dict[str, np.ndarray],
             frozen: dict[str, np.ndarray] | None = None) -> dict[str, Any] | None:
    """The ``vjp.u`` check against a central difference, or None where FD is not a valid oracle here.

    ``frozen`` marks elements next to a catalogue kink: the direction ``u`` is 0 there."""
    gl = case.grad_leaves()
    if not gl or not all(np.isfinite(ref_grads[lf.name]).all() for lf in gl):
        return None
    if not all(lf.name in grads for lf in gl):
        return None
    rng = np.random.default_rng(int(case.meta.get("fd_seed", 0)) + 1)
    base = {lf.name: lf.values.astype(np.float64) for lf in case.leaves if lf.values.dtype.kind == "f"}
    dirs = {lf.name: rng.standard_normal(lf.values.shape) * np.maximum(1.0, np.abs(lf.values)) for lf in gl}
    for k, m in (frozen or {}).items():
        if k in dirs:
            dirs[k] = np.where(m, 0.0, dirs[k])
    if not any(np.any(d != 0) for d in dirs.values()):
        return None
    if not all(np.isfinite(v).all() for v in base.values()):
        return None
    h = FD_STEP

    def shifted(t: float) -> dict[str, np.ndarray]:
        return {k: v + t * dirs[k] if k in dirs else v for k, v in base.items()}

    try:
        with np.errstate(all="ignore"):
            f0 = _objective(case, backend, base)
            fp = _objective(case, backend, shifted(h))
            fm = _objective(case, backend, shifted(-h))
            fp2 = _objective(case, backend, shifted(2 * h))
            fm2 = _objective(case, backend, shifted(-2 * h))
    except Exception:  # noqa: BLE001 - a shifted point outside the domain: FD does not apply
        return None
    if not np.isfinite([f0, fp, fm, fp2, fm2]).all():
        return None
    central = (fp - fm) / (2 * h)
    truncation = abs((fp2 - fm2) / (4 * h) - central)  # Richardson: D(2h) - D(h) ~ 3 x the error of D(h)
    dplus, dminus = (fp - f0) / h, (f0 - fm) / h
    terms = sum(float(np.sum(np.abs(grads[k] * dirs[k]))) for k in dirs)
    eps = np.finfo(np.float64).eps
    if abs(dplus - dminus) > SMOOTHNESS_RTOL * (abs(dplus) + abs(dminus)) + 100 * eps * abs(f0) / h + 1e-9:
        return None
    analytic = float(sum(float(np.sum(grads[k].astype(np.float64) * dirs[k])) for k in dirs))
    atol = FD_ATOL * max(1.0, terms) + 4 * eps * abs(f0) / h + truncation
    return scalar_check("vjp.u", analytic, float(central), FD_RTOL, atol)


#: full Jacobians are computed only to explain a failure, and only up to this many output elements
JACOBIAN_MAX_OUTPUTS = 64


def jacobians(case: Case, backend: Any) -> dict[str, np.ndarray] | None:
    """``{leaf: J}`` with ``J[i, j] = d out_flat[i] / d leaf_flat[j]`` (all float outputs concatenated), by one
    VJP per output element; None when the outputs are too large to be worth it."""
    shapes = [None if c is None else c.shape for c in case.cotangents]
    sizes = [0 if s is None else int(np.prod(s)) for s in shapes]
    total = sum(sizes)
    if total == 0 or total > JACOBIAN_MAX_OUTPUTS or not case.grad_leaves():
        return None
    rows: dict[str, list[np.ndarray]] = {lf.name: [] for lf in case.grad_leaves()}
    for k, size in enumerate(sizes):
        for e in range(size):
            cots = [None if s is None else np.zeros(s, dtype=case.cotangents[i].dtype) for i, s in enumerate(shapes)]
            cots[k].reshape(-1)[e] = 1.0
            one = Case(case.leaves, case.nodes, case.outputs, cots, case.meta)
            ev = evaluate(one, backend)
            for name in rows:
                rows[name].append(ev.grads[name].astype(np.float64).reshape(-1))
    return {name: np.stack(r) for name, r in rows.items()}
