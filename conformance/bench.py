"""``python -m conformance bench``: speed of the backend under test against torch, in the same run.

Workloads: an MLP forward+backward, an Adam training step, a 30-node random DAG forward+VJP, and a
large elementwise chain. Each is timed (best of ``repeat`` runs of ``inner`` iterations) in both libraries
and reported as time per iteration and the ratio backend / torch (lower is better; torch = 1.0).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .backends import load_backend, reference
from .ir import Case, evaluate


def _timeit(fn: Callable[[], Any], repeat: int, inner: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def _mlp(backend: Any, batch: int, sizes: list[int]) -> Callable[[], Any]:
    lib = backend.lib
    lib.manual_seed(0)
    model = backend.build_mlp(sizes, "relu", True)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    y = lib.tensor(rng.integers(0, sizes[-1], batch))

    def step() -> None:
        for p in model.parameters():
            p.grad = None
        lib.nn.functional.cross_entropy(model(x), y).backward()

    return step


def _train_step(backend: Any, batch: int, sizes: list[int]) -> Callable[[], Any]:
    lib = backend.lib
    lib.manual_seed(0)
    model = backend.build_mlp(sizes, "relu", True)
    opt = lib.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    y = lib.tensor(rng.integers(0, sizes[-1], batch))

    def step() -> None:
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def _dag_case() -> Case:
    from hypothesis import HealthCheck, given, settings

    from .strategies.dags import dag_case

    found: list[Case] = []

    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(dag_case())
    def grab(c: Case) -> None:
        if len(c.nodes) >= 20 and (not found or len(c.nodes) > len(found[0].nodes)):
            found[:] = [c]

    grab()
    return found[0]


def _dag(backend: Any, case: Case) -> Callable[[], Any]:
    return lambda: evaluate(case, backend)


def _chain(backend: Any, n: int) -> Callable[[], Any]:
    lib = backend.lib
    x = lib.tensor(np.linspace(-2, 2, n), requires_grad=True)

    def step() -> None:
        x.grad = None
        y = x
        for _ in range(20):
            y = lib.tanh(y) * 1.5 + lib.sin(y)
        y.sum().backward()

    return step


WORKLOADS: dict[str, tuple[Callable[..., Callable[[], Any]], tuple[Any, ...], int]] = {
    "mlp fwd+bwd (batch 256, 64-128-10)": (_mlp, (256, [64, 128, 10]), 20),
    "mlp fwd+bwd (batch 32, 784-128-10)": (_mlp, (32, [784, 128, 10]), 20),
    "Adam train step (batch 512, 64-128-10)": (_train_step, (512, [64, 128, 10]), 20),
    "elementwise chain (60 ops, 100k elements)": (_chain, (100_000,), 3),
}


def thread_counts() -> dict[str, int]:
    """Threads each library computes with now: torch's intra-op pool and every BLAS/OpenMP pool NumPy (and
    anything else loaded) uses, as threadpoolctl sees them, e.g. ``{"torch": 1, "openblas (blas)": 1}``."""
    import torch
    from threadpoolctl import threadpool_info

    counts = {"torch": int(torch.get_num_threads())}
    for pool in threadpool_info():
        counts[f"{pool.get('internal_api')} ({pool.get('user_api')})"] = int(pool.get("num_threads") or 0)
    return counts


def run(backend_name: str = "minigrad", repeat: int = 5) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """(rows: workload, seconds per iteration in each library, ratio backend / torch; the thread counts).

    Both sides compute on one thread: torch's pool is pinned (``profiles.pin_threads``, as in the suite's
    workers) and so is NumPy's BLAS (threadpoolctl; an unpinned OpenBLAS makes the ratio depend on how busy
    the machine is: 6.6x on a busy one, 1.8x on a quiet one for the same command)."""
    from threadpoolctl import threadpool_limits

    from .profiles import pin_threads

    pin_threads()
    be, ref = load_backend(backend_name), reference()
    rows = []
    jobs = list(WORKLOADS.items())
    case = _dag_case()
    jobs.append((f"random DAG fwd+VJP ({len(case.nodes)} nodes)", (_dag, (case,), 20)))
    with threadpool_limits(limits=1):
        threads = thread_counts()
        for name, (make, args, inner) in jobs:
            t_be = _timeit(make(be, *args), repeat, inner)
            t_ref = _timeit(make(ref, *args), repeat, inner)
            rows.append({"workload": name, backend_name: t_be, "torch": t_ref, "ratio": t_be / t_ref})
    return rows, threads


def main(backend_name: str = "minigrad", repeat: int = 5, json_path: str | None = None) -> int:
    """Print a rich table (and optionally write JSON)."""
    from rich.console import Console
    from rich.table import Table

    rows, threads = run(backend_name, repeat)
    table = Table(title=f"{backend_name} vs torch (best of {repeat}; ratio = {backend_name} / torch)")
    for col in ("workload", f"{backend_name} ms", "torch ms", "ratio"):
        table.add_column(col, justify="left" if col == "workload" else "right")
    for r in rows:
        table.add_row(r["workload"], f"{r[backend_name] * 1e3:.3f}", f"{r['torch'] * 1e3:.3f}", f"{r['ratio']:.2f}x")
    console = Console()
    console.print(table)
    console.print("threads: " + ", ".join(f"{name} {n}" for name, n in threads.items()))
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"threads": threads, "workloads": rows}, f, indent=1)
    return 0
