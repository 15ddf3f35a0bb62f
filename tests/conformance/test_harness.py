"""Comparison semantics, the command line, and how a planted bug shows (every plant: ``test_planted.py``)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conformance import compare, exact
from conformance.checks import check_graph_case, check_op_case, failures
from conformance.compare import compare_arrays, make_record
from conformance.ir import Case, Leaf, Node
from conformance.planted import PlantedBackend, run_property
from conformance.strategies.dags import dag_case

ROOT = Path(__file__).resolve().parents[2]


def test_shrunk_case_is_small(base_backend) -> None:  # noqa: ANN001
    """Shrinking leaves a tiny exp case: one element, one node."""
    msg = run_property("op", "exp", PlantedBackend("exp_sign", base_backend), 60)
    assert msg is not None and "op exp" in msg and "grad[x0]" in msg


def test_fd_oracle_is_independent_of_torch(base_backend) -> None:  # noqa: ANN001
    """A wrong VJP fails the finite-difference oracle too (which never calls torch)."""
    case = Case([Leaf("x0", np.array([0.3, -1.2]))], [Node(0, "exp", ["x0"], {}, "fn")], ["n0"],
                [np.array([1.0, 0.5])], {"kind": "op", "fd_seed": 1})
    from conformance.catalog import get

    recs = check_op_case(get("exp"), case, PlantedBackend("exp_sign", base_backend))
    assert {r["oracle"] for r in failures(recs)} == {"torch64", "torch32", "fd64"}
    assert not failures(check_op_case(get("exp"), case, base_backend))


def test_graph_failure_names_the_first_bad_node(base_backend) -> None:  # noqa: ANN001
    planted = PlantedBackend("exp_sign", base_backend)
    found = []

    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(dag_case())
    def prop(case: Case) -> None:
        if "exp" not in case.ops():
            return
        bad = failures(check_graph_case(case, planted))
        if bad:
            found.append(bad[0])

    prop()
    assert found, "no failing DAG with exp drawn"
    rec = found[0]
    node = next(n for n in rec["case"]["nodes"] if n["id"] == rec["first_bad_node"])
    assert node["op"] == "exp"
    assert f"first bad node n{node['id']} = exp" in compare.describe_failure(rec)


# ---- comparison semantics ----------------------------------------------------------------------------
def test_nan_matches_nan_and_inf_must_match_sign() -> None:
    ok = compare_arrays("q", np.array([np.nan, np.inf, 1.0]), np.array([np.nan, np.inf, 1.0]), "float64", "elementwise")
    assert ok["ok"] and ok["ratio"] == 0.0
    bad = compare_arrays("q", np.array([1.0, -np.inf]), np.array([1.0, np.inf]), "float64", "elementwise")
    assert not bad["ok"] and bad["index"] == [1] and bad["ratio"] == "inf"
    nan_vs_num = compare_arrays("q", np.array([np.nan]), np.array([0.0]), "float64", "elementwise")
    assert not nan_vs_num["ok"]


def test_tolerance_is_atol_plus_rtol_times_expected() -> None:
    rtol, atol = compare.BASE["float64"]["rtol"], compare.BASE["float64"]["atol"]
    b = np.array([2.0])
    at_edge = compare_arrays("q", b + 0.999 * (atol + rtol * 2.0), b, "float64", "elementwise")
    over = compare_arrays("q", b + 1.01 * (atol + rtol * 2.0), b, "float64", "elementwise")
    assert at_edge["ok"] and not over["ok"]
    assert math.isclose(over["ratio"], 1.01, rel_tol=1e-6)
    scaled = compare_arrays("q", b + 3.9 * (atol + rtol * 2.0), b, "float64", "transcendental")
    assert scaled["ok"]  # transcendental class: 4x


def test_relative_error_is_defined_only_where_the_reference_is_not_zero() -> None:
    """A passing row used to show a max rel err of 4.36e+307 (1e-300 off a reference of 0 divided by the tiniest
    float); where the reference is 0 only the absolute error means something."""
    passing = compare_arrays("q", np.array([1e-300, 1.0 + 1e-9]), np.array([0.0, 1.0]), "float64", "elementwise")
    assert passing["ok"] and math.isclose(passing["max_rel_err"], 1e-9, rel_tol=1e-6)
    zeros = compare_arrays("q", np.array([1e-300, 0.0]), np.array([0.0, 0.0]), "float64", "elementwise")
    assert zeros["ok"] and zeros["max_rel_err"] is None and zeros["max_abs_err"] == 1e-300
    inf = compare_arrays("q", np.array([1.0]), np.array([np.inf]), "float64", "elementwise")
    assert not inf["ok"] and inf["max_rel_err"] == "inf"
    assert compare.scalar_check("vjp.u", 1e-12, 0.0, 1e-5, 1e-6)["max_rel_err"] is None


def test_shape_dtype_and_integer_mismatches_fail() -> None:
    assert not compare_arrays("q", np.zeros(3), np.zeros((3, 1)), "float64", "elementwise")["ok"]
    assert not compare_arrays("q", np.zeros(3, np.float32), np.zeros(3), "float64", "elementwise")["ok"]
    r = compare_arrays("q", np.array([1, 2, 4]), np.array([1, 2, 3]), "float64", "exact")
    assert not r["ok"] and r["index"] == [2]


def test_record_shape_and_known_difference_matching(monkeypatch: pytest.MonkeyPatch) -> None:
    chk = compare_arrays("grad[x0]", np.array([1.0]), np.array([2.0]), "float64", "elementwise")
    rec = make_record(kind="op", subject="exp", ops=["exp"], oracle="torch64", dtype="float64", backend="minigrad",
                      checks=[chk], case={"c": 1}, digest="d", edge_values=["zero"])
    assert rec["verdict"] == "fail" and rec["worst"] is chk and rec["case"] == {"c": 1}
    json.dumps(rec, allow_nan=False)
    kd = [{"id": "kd1", "ops": ["exp"], "oracles": ["torch64"], "quantities": ["grad[*]"], "edge": "zero",
           "deviates": "torch", "exact": "planted", "reason": "r", "evidence": "e", "case": None}]
    monkeypatch.setattr(compare, "known_differences", lambda: kd)
    truth = {"grad[x0]": np.array([1.0])}
    monkeypatch.setitem(exact.ORACLES, "planted", lambda case: truth)
    values = {"grad[x0]": (np.array([1.0]), np.array([2.0]))}  # (backend, torch)
    common = dict(kind="op", subject="exp", ops=["exp"], oracle="torch64", dtype="float64", backend="minigrad",
                  checks=[chk], case={"c": 1}, digest="d")
    rec2 = make_record(**common, edge_values=["zero"], values=values)
    assert rec2["verdict"] == "known_difference" and rec2["known_difference"]["id"] == "kd1"
    assert rec2["exact"]["sided_with"] == "backend"
    rec3 = make_record(**common, edge_values=[], values=values)
    assert rec3["verdict"] == "fail" and rec3["exact"] is None
    truth["grad[x0]"] = np.array([2.0])  # now torch is the side that is right
    rec4 = make_record(**common, edge_values=["zero"], values=values)
    assert rec4["verdict"] == "fail" and rec4["exact"]["sided_with"] == "torch"
    rec5 = make_record(**common, edge_values=["zero"])  # no arrays: the oracle cannot decide, nothing is excused
    assert rec5["verdict"] == "fail" and rec5["exact"]["sided_with"] == "undefined"


# ---- the command line ----------------------------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_cli_run_and_repro_find_a_planted_bug(tmp_path: Path) -> None:
    run = _cli("run", "--profile", "quick", "--ops", "exp", "--backend", "conformance.planted:PlantedExpSign",
               "--report", str(tmp_path / "bad"), cwd=tmp_path)
    assert run.returncode != 0, run.stdout[-2000:]
    results = json.loads((tmp_path / "bad" / "results.json").read_text())
    fails = [r for r in results["records"] if r["verdict"] == "fail"]
    assert fails and all(r["subject"] == "exp" for r in fails)
    case_file = tmp_path / "bad" / fails[0]["repro"]["case_file"]
    assert (tmp_path / "bad" / fails[0]["repro"]["script_file"]).exists()
    bad = _cli("repro", str(case_file), "--backend", "conformance.planted:PlantedExpSign", cwd=tmp_path)
    assert bad.returncode == 1 and "DISCREPANCY" in bad.stdout
    good = _cli("repro", str(case_file), "--backend", "torch", cwd=tmp_path)
    assert good.returncode == 0, good.stdout


def test_cli_run_passes_on_the_reference(tmp_path: Path) -> None:
    run = _cli("run", "--profile", "quick", "--ops", "exp,relu", "--backend", "torch", "--report",
               str(tmp_path / "ok"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:]
    results = json.loads((tmp_path / "ok" / "results.json").read_text())
    assert {"exp", "relu"} <= {r["subject"] for r in results["records"]}
    assert (tmp_path / "ok" / "junit.xml").exists()


def test_suite_runs_without_the_plugin(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONFORMANCE_BACKEND": "torch", "CONFORMANCE_PROFILE": "quick"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs",
                          "conformance.suite.test_ops", "-k", "test_op and (exp or abs)"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "passed" in out.stdout


def test_graph_finite_differences_skip_node_level_ties() -> None:
    """minimum(abs(x), x) at x = 0 is smooth as a whole (slope 1) but autodiff follows the tie convention
    (1/2 each side): finite differences must not judge it, and must judge it away from the tie."""
    from conformance.checks import graph_fd_valid
    from conformance.ir import Case, Leaf, Node

    def case(x: float) -> Case:
        nodes = [Node(0, "abs", ["x0"], {}, "fn"), Node(1, "minimum", ["n0", "x0"], {}, "fn")]
        return Case([Leaf("x0", np.array([x]), True)], nodes, ["n1"], [np.array([0.5])], {"kind": "graph"})

    assert not graph_fd_valid(case(0.0))
    assert graph_fd_valid(case(-0.7))


def test_run_rejects_an_ops_pattern_that_matches_no_op(capsys) -> None:  # noqa: ANN001
    """``--ops SGD`` would silently check nothing (optimisers are not single ops): it is an error."""
    from conformance import cli

    assert cli.main(["run", "--profile", "quick", "--ops", "SGD"]) == 2
    assert "matches no single-op catalogue entry" in capsys.readouterr().err
    assert set(cli.selected_ops("exp,log1?")) == {"exp", "log10", "log1p"}


def test_adaptive_optimiser_slack_only_for_gradients_that_are_zero_up_to_rounding() -> None:
    """Adam turns rounding noise of a zero gradient into a full step: only those float32 elements get slack
    (as far as the reference moved the tensor), and never float64 runs or SGD."""
    from conformance.checks import undetermined_steps

    case = {"dtype": "float32", "kind": "training", "steps": 2, "optimizer": {"name": "Adam", "attrs": {}},
            "params": {"b": {"shape": [2], "dtype": "float64", "values": [1.0, 2.0]}}}
    expected = {"grads": [{"b": np.array([0.0, 0.5])}],
                "params": [{"b": np.array([0.99, 1.99])}, {"b": np.array([0.98, 1.97])}]}
    slack = undetermined_steps(case, expected)["b"]
    np.testing.assert_allclose(slack[0], [0.01, 0.0])
    np.testing.assert_allclose(slack[1], [0.03, 0.0])  # 0.01 + the largest step of step 1 (0.02)
    assert undetermined_steps({**case, "dtype": "float64"}, expected) == {}
    assert undetermined_steps({**case, "optimizer": {"name": "SGD", "attrs": {}}}, expected) == {}


def test_a_broadcast_leafs_gradient_is_judged_as_a_sum() -> None:
    """The gradient of a 0-d operand of mul is a sum over the output: float32 summation order alone moved
    -2376.7265625 (torch) to -2376.73046875 (18 terms of size 1e4); a per-element tolerance called that a
    failure. The reduction class applies to it, and only to leaves smaller than the output."""
    from conformance.checks import _gradient_class

    assert _gradient_class("elementwise", 1, 18) == "reduction"
    assert _gradient_class("elementwise", 18, 18) == "elementwise"
    assert _gradient_class("exact", 1, 18) == "exact" and _gradient_class("matmul", 1, 18) == "matmul"
    b = np.float32(-2376.7265625)
    assert not compare_arrays("grad[x1]", np.float32(-2376.73046875), b, "float32", "elementwise", 1.0, 1e4)["ok"]
    assert compare_arrays("grad[x1]", np.float32(-2376.73046875), b, "float32", "reduction", 1.0, 1e4)["ok"]
    assert not compare_arrays("grad[x1]", np.float32(-2000.0), b, "float32", "reduction", 1.0, 1e4)["ok"]
