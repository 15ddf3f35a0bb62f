"""The graph IR: exact JSON round-trip, evaluation in each backend, standalone reproducers."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

from conformance import catalog
from conformance.ir import Case, Leaf, Node, decode_array, emit_repro, emit_train_repro, encode_array, evaluate
from conformance.strategies.dags import dag_case
from conformance.strategies.nets import training_case
from conformance.strategies.ops import op_case

ROOT = Path(__file__).resolve().parents[2]
WEIRD = [0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1 / 3, math.pi,
         math.nan, math.inf, -math.inf]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-for-bit equal (so -0.0 != 0.0 and nan == nan)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_arrays_round_trip_exactly() -> None:
    for arr in (np.array(WEIRD), np.array([w for w in WEIRD if abs(w) < 1e38 or not math.isfinite(w)], dtype=np.float32), np.array(3.5), np.zeros((0, 3)),
                np.array([[1, -2], [3, 4]], dtype=np.int64), np.array([True, False])):
        assert _same(decode_array(encode_array(arr)), arr)


def test_case_json_round_trip_is_exact_and_strict_json() -> None:
    case = Case([Leaf("x0", np.array(WEIRD)), Leaf("x1", np.array([0, 2], dtype=np.int64), False)],
                [Node(0, "vector_norm", ["x0"], {"ord": math.inf, "dim": [0], "keepdim": True}, "fn"),
                 Node(1, "index_select", ["n0", "x1"], {"dim": 0}, "fn")],
                ["n0", "n1"], [np.array([1.5]), None], {"kind": "graph"})
    text = case.dumps()
    assert "NaN" not in text and "Infinity" not in text
    back = Case.loads(text)
    assert back.dumps() == text
    assert _same(back.leaves[0].values, case.leaves[0].values)
    assert back.nodes[0].attrs["ord"] == math.inf
    assert back.to_json()["nodes"][0] == {"id": 0, "op": "vector_norm", "inputs": ["x0"],
                                         "attrs": {"ord": {"float": "inf"}, "dim": [0], "keepdim": True},
                                         "form": "fn"}


@settings(max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=dag_case())
def test_drawn_cases_round_trip(case: Case) -> None:
    back = Case.loads(case.dumps())
    assert back.dumps() == case.dumps()
    for a, b in zip(case.leaves, back.leaves):
        assert _same(a.values, b.values)


def seed_example_1() -> Case:
    """Seed example 1: y = 2 * log(x0 + sin(x0)) / log(10) * max(x[1:])."""
    ln10 = math.log(10)
    return Case(
        [Leaf("x", np.array([5.0, -2.0, -5.0]))],
        [Node(0, "getitem", ["x"], {"index": {"index": [0]}}, "op"),
         Node(1, "sin", ["n0"], {}, "fn"),
         Node(2, "add", ["n0", "n1"], {}, "op"),
         Node(3, "log", ["n2"], {}, "fn"),
         Node(4, "scalar_arith", ["n3"], {"sym": "*", "c": 2}, "left"),
         Node(5, "scalar_arith", ["n4"], {"sym": "/", "c": ln10}, "right"),
         Node(6, "getitem", ["x"], {"index": {"index": [{"slice": [1, None, None]}]}}, "op"),
         Node(7, "max", ["n6"], {}, "fn"),
         Node(8, "mul", ["n5", "n7"], {}, "op")],
        ["n8"], [np.array(1.0)], {"kind": "graph"})


def test_seed_example_through_the_ir(base_backend, torch_backend) -> None:  # noqa: ANN001
    for backend in (torch_backend, base_backend):
        ev = evaluate(seed_example_1(), backend)
        assert abs(float(ev.outputs[0]) - (-2.425988)) < 1e-6
        np.testing.assert_allclose(ev.grads["x"], [-0.551821, 1.212994, 0.0], atol=1e-6)


def _run_script(text: str, tmp_path: Path) -> str:
    path = tmp_path / "repro.py"
    path.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_emitted_repro_runs_and_prints_both_results(tmp_path: Path) -> None:
    text = emit_repro(seed_example_1(), "seed example 1")
    assert "import conformance" not in text
    out = _run_script(text, tmp_path)
    assert "torch   :" in out and "minigrad:" in out and "grad[x]" in out and "abs diff" in out


def test_emitted_training_repro_runs(tmp_path: Path) -> None:
    cases = []

    @settings(max_examples=1, database=None, derandomize=True, deadline=None)
    @given(training_case(kind="training", optimizer="Adam"))
    def grab(c) -> None:  # noqa: ANN001
        cases.append(c)

    grab()
    out = _run_script(emit_train_repro(cases[0]), tmp_path)
    assert "step 0: loss torch=" in out and "param[" in out


@settings(max_examples=20, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=op_case(catalog.get("getitem")))
def test_op_cases_evaluate_identically_after_round_trip(case: Case, torch_backend) -> None:  # noqa: ANN001
    a = evaluate(case, torch_backend)
    b = evaluate(Case.loads(case.dumps()), torch_backend)
    for x, y in zip(a.outputs + list(a.grads.values()), b.outputs + list(b.grads.values())):
        assert _same(x, y)
