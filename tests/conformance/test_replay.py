"""Every card can be replayed: the standalone ``repro/<id>.py`` scripts replay the case in the run's backend
(a planted or third-party ``package.module:Class`` too) against the card's own oracle, print a verdict and exit
1 outside tolerance; error-parity and stateful cards replay as well; known-difference cards get their files."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.plugin import Recorder

ROOT = Path(__file__).resolve().parents[2]
EXP_SIGN = "conformance.planted:PlantedExpSign"  # minigrad with exp's VJP negated
#: a shrunk exp case of a run against EXP_SIGN (its fd64 and torch64 cards share it)
EXP_CASE = {"cotangents": [{"dtype": "float64", "shape": [], "values": [0.1257302210933933]}],
            "leaves": [{"dtype": "float64", "name": "x0", "requires_grad": True, "shape": [], "values": [1.0]}],
            "meta": {"dtype": "float64", "edge_values": ["0-d"], "fd_seed": 0, "kind": "op", "vjp": "backward"},
            "nodes": [{"attrs": {}, "form": "fn", "id": 0, "inputs": ["x0"], "op": "exp"}], "outputs": ["n0"],
            "version": 1}
#: torch refuses drop_last without a batch size (ValueError); PlantedDropLast's DataLoader accepts it
ERROR_CASE = {"kind": "error", "subject": "DataLoader", "category": "replay", "ops": ["DataLoader"],
              "code": "T.utils.data.DataLoader(T.utils.data.TensorDataset(x), batch_size=None, drop_last=True)",
              "leaves": {"x": {"dtype": "float64", "shape": [2], "values": [1.0, 2.0], "requires_grad": False}}}
#: the shrunk program of the data machine against a DataLoader that ignores drop_last
STATEFUL_CASE = {"kind": "stateful", "machine": "data", "message": "data machine: DataLoader(...) differs",
                 "program": "state = DataMachine()\n(datasets_0,) = state.tensor_dataset(n=0, width=1)\n"
                            "state.loader(batch_size=None, collate='default', d=datasets_0, drop_last=True, "
                            "shuffle=False)\nstate.teardown()"}


def _card(tmp_path: Path, backend: str, case: dict[str, Any], oracle: str | None, dtype: str | None,
          rid: str = "card") -> Path:
    """Write a card's case and script as the plugin does for a run against ``backend``; the script's path."""
    rec = Recorder(tmp_path, str(tmp_path), backend=backend)
    repro = rec.write_case(rid, case, "print('plain program')\n", record={"oracle": oracle, "dtype": dtype,
                                                                          "subject": "exp"})
    assert (tmp_path / repro["case_file"]).is_file()
    return tmp_path / repro["script_file"]


def _run_script(script: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run a card script in this process (as ``python script args``): (exit status, stdout)."""
    saved = sys.argv
    sys.argv = [str(script), *args]
    try:
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    sys.stderr.write(captured.err)  # kept for a test that reads it
    return int(exit_info.value.code or 0), captured.out


def test_script_is_standalone_and_exits_non_zero_outside_tolerance(tmp_path: Path) -> None:
    script = _card(tmp_path, EXP_SIGN, EXP_CASE, "torch64", "float64")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "VERDICT: DIFFERS" in run.stdout and "grad[x0]" in run.stdout


def test_script_uses_the_backend_of_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The planted backend is named in the script: minigrad itself would agree."""
    script = _card(tmp_path, EXP_SIGN, EXP_CASE, "torch64", "float64")
    assert f"BACKEND = {EXP_SIGN!r}" in script.read_text()
    assert _run_script(script, capsys)[0] == 1
    code, out = _run_script(script, capsys, "--backend", "minigrad")
    assert code == 0 and "VERDICT: agrees" in out


def test_fd64_card_compares_with_finite_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _card(tmp_path, EXP_SIGN, EXP_CASE, "fd64", "float64")
    code, out = _run_script(script, capsys)
    lines = [ln for ln in out.splitlines() if ln[:1].isalpha() and not ln.startswith(("DISCREPANCY", "VERDICT"))]
    assert code == 1 and lines and all(ln.startswith("fd64") for ln in lines), out
    assert "vjp" in out and "grad[x0]" not in out  # finite differences check VJPs, not torch's gradients
    assert "1 of 1 record(s) of oracle fd64 outside tolerance" in out


def test_script_prints_its_plain_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run_script(_card(tmp_path, EXP_SIGN, EXP_CASE, "fd64", "float64"), capsys, "--program")
    assert code == 0 and out == "print('plain program')\n\n"


def test_error_parity_card_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    planted = _card(tmp_path, "tests.conformance.fault_backends:PlantedDropLast", ERROR_CASE, "error", "float64")
    code, out = _run_script(planted, capsys)
    assert code == 1 and "VERDICT: DIFFERS" in out and "ValueError" in out
    assert _run_script(planted, capsys, "--backend", "minigrad")[0] == 0


def test_stateful_card_replays_its_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _card(tmp_path, "tests.conformance.fault_backends:PlantedDropLast", STATEFUL_CASE, "torch32", "float32")
    code, out = _run_script(script, capsys)
    assert code == 1 and "drop_last" in out and "VERDICT: DIFFERS" in out
    code, out = _run_script(script, capsys, "--backend", "minigrad")
    assert code == 0 and "VERDICT: agrees" in out


def test_repro_command_replays_error_and_stateful_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, case in (("error", ERROR_CASE), ("stateful", STATEFUL_CASE)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(case))
        assert main(["repro", str(path)]) == 0, capsys.readouterr()
        assert "VERDICT: agrees" in capsys.readouterr().out


def test_script_says_when_it_cannot_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _card(tmp_path, "minigrad", EXP_CASE, "error", "float64")  # an op case has no error-parity record
    code, _ = _run_script(script, capsys)
    assert code == 2 and "no record for oracle error" in capsys.readouterr().err


def test_known_difference_cards_get_their_files(tmp_path: Path) -> None:
    """A known difference is recorded by a passing example (not hypothesis's final replay): its card needs
    the case and the script all the same."""
    from conformance.suite.conftest import Sink

    class NotFinal(Recorder):
        is_final = False

    sink = Sink(NotFinal(tmp_path, str(tmp_path)), "t::test")
    kd = {"id": "op-std-torch64-kd", "verdict": "known_difference", "kind": "op", "subject": "std", "ops": ["std"],
          "oracle": "torch64", "dtype": "float64", "case": EXP_CASE, "checks": []}
    passing = {**kd, "id": "op-std-torch64-ok", "verdict": "pass"}
    sink.submit([kd, passing])
    assert kd["repro"] and (tmp_path / kd["repro"]["case_file"]).is_file()
    assert (tmp_path / kd["repro"]["script_file"]).is_file()
    assert passing.get("repro") is None
