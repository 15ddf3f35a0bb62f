"""``bench`` pins NumPy's BLAS threads (threadpoolctl) as it pins torch's, and prints the thread counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import bench
from conformance.ir import Case


def test_bench_pins_and_prints_thread_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from threadpoolctl import threadpool_info

    seen: list[dict[str, int]] = []

    def chain(backend, n):  # noqa: ANN001, ANN202 - the real workload, watching the pools while it runs
        seen.append({p["internal_api"]: p["num_threads"] for p in threadpool_info()})
        return bench._chain(backend, n)

    small = Case.from_json({"version": 1, "leaves": [{"name": "x0", "shape": [2], "dtype": "float64",
                                                      "requires_grad": True, "values": [0.5, 1.0]}],
                            "nodes": [{"id": 0, "op": "exp", "inputs": ["x0"], "attrs": {}}], "outputs": ["n0"]})
    monkeypatch.setattr(bench, "WORKLOADS", {"chain": (chain, (100,), 1)})
    monkeypatch.setattr(bench, "_dag_case", lambda: small)
    out = tmp_path / "bench.json"
    assert bench.main("minigrad", 1, str(out)) == 0
    assert seen and all(n == 1 for pools in seen for n in pools.values())  # every BLAS/OpenMP pool on one thread
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("threads:"))
    doc = json.loads(out.read_text())
    assert doc["threads"]["torch"] == 1 and all(n == 1 for n in doc["threads"].values())
    assert line == "threads: " + ", ".join(f"{k} {v}" for k, v in doc["threads"].items())
    assert [r["workload"] for r in doc["workloads"]] == ["chain", "random DAG fwd+VJP (1 nodes)"]
