"""The seed recipe on real data: MLP 64 -> 128 -> 10 (ReLU), cross-entropy, Adam lr 0.01, large batches,
trained on scikit-learn's ``load_digits`` (ships with scikit-learn, no download) for a fixed number of epochs
in both libraries from identical initial parameters and identical batches.

The result is one record of kind ``recipe`` with a ``trajectory`` (loss and accuracy per epoch for both
libraries, parameter error per epoch). Losses per step and parameters per epoch are compared with the
``training`` tolerance class (scaled by ``1 + step``); accuracies may differ by at most
:data:`ACCURACY_ATOL` (a few samples whose arg-max flips under rounding).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from typing import Any

import numpy as np

from .compare import compare_arrays, make_record, scalar_check
from .ir import encode_array
from .strategies.nets import init_params

SIZES = [64, 128, 10]
BATCH = 512
LR = 0.01
#: accuracies may differ by this much (3 of 1797 samples)
ACCURACY_ATOL = 3 / 1797


def recipe_case(epochs: int, dtype: str, seed: int = 0) -> dict[str, Any]:
    """The recipe as a training case (see ``conformance.strategies.nets``) with a per-epoch evaluation."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float64)
    y = y.astype(np.int64)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    batches = [{"x": encode_array(x[i:i + BATCH]), "y": encode_array(y[i:i + BATCH])}
               for i in range(0, len(y), BATCH)]
    return {
        "version": 1, "kind": "recipe", "dtype": dtype,
        "model": {"sizes": SIZES, "activation": "relu", "bias": True}, "init": "default",
        "params": {k: encode_array(v) for k, v in init_params(rng, SIZES, True, "default").items()},
        "loss": {"name": "cross_entropy", "attrs": {"reduction": "mean"}, "module": False},
        "batches": batches, "steps": epochs * len(batches),
        "optimizer": {"name": "Adam", "attrs": {"lr": LR}}, "scheduler": None, "clip": None,
        "eval": {"x": encode_array(x), "y": encode_array(y), "every": len(batches)}, "seed": seed,
    }


def run_recipe(backend: Any, epochs: int, dtype: str = "float32", nodeid: str = "") -> dict[str, Any]:
    """Train in the backend and in torch; one ``recipe`` record."""
    from .backends import reference

    case = recipe_case(epochs, dtype)
    nb = len(case["batches"])
    t0 = time.perf_counter()
    name = getattr(backend, "name", "backend")
    digest = hashlib.sha1(f"{epochs}-{dtype}".encode()).hexdigest()[:10]
    common = dict(kind="recipe", subject=f"digits-mlp-{epochs}epochs", ops=["Linear", "Sequential", "relu",
                  "cross_entropy", "Adam"], oracle="torch64" if dtype == "float64" else "torch32", dtype=dtype,
                  backend=name, case=None, nodeid=nodeid, digest=digest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference().train(case)
        try:
            actual = backend.train(case)
        except Exception as e:  # noqa: BLE001
            return make_record(checks=[], verdict="error", message=f"{type(e).__name__}: {e}", **common)
    mag = max(float(np.max(np.abs(v))) for v in expected["params"][0].values())
    checks = []
    for k in range(case["steps"]):
        checks.append(compare_arrays(f"loss[step {k}]", np.float64(actual["loss"][k]),
                                     np.float64(expected["loss"][k]), dtype, "training", 1.0 + k, mag))
    param_err: dict[str, list[float]] = {}
    for e in range(epochs):
        k = (e + 1) * nb - 1
        for pname, p in expected["params"][k].items():
            a = actual["params"][k][pname]
            checks.append(compare_arrays(f"param[{pname}][epoch {e}]", a, p, dtype, "training", 1.0 + k, mag))
            param_err.setdefault(pname, []).append(float(np.max(np.abs(a.astype(np.float64) - p))))
        checks.append(scalar_check(f"accuracy[epoch {e}]", actual["accuracy"][e], expected["accuracy"][e],
                                   0.0, ACCURACY_ATOL))

    def per_epoch(losses: list[float]) -> list[float]:
        return [float(np.mean(losses[e * nb:(e + 1) * nb])) for e in range(epochs)]

    trajectory = {"steps": list(range(1, epochs + 1)),
                  "loss": {name: per_epoch(actual["loss"]), "torch": per_epoch(expected["loss"])},
                  "accuracy": {name: actual["accuracy"], "torch": expected["accuracy"]},
                  "param_err": param_err}
    return make_record(checks=checks, trajectory=trajectory, duration_s=time.perf_counter() - t0, **common)
