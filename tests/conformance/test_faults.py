"""Faults lose nothing: real ``python -m conformance run`` sessions against fault-injecting backends
(tests/conformance/fault_backends.py). A backend that raises gives ``error`` records and the run goes on; a test
that hangs is stopped by ``--case-timeout`` and recorded; a worker killed by ``os._exit`` or SIGSEGV is recorded
as ``crashed`` holding the case it was running; SIGINT writes partial results and a report marked partial.
The three sessions run concurrently (each a few ops, three examples)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.results import load_results

ROOT = Path(__file__).resolve().parents[2]
FAULTY = "tests.conformance.fault_backends:Faulty"


def _start(out: Path, ops: str, backend: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "conformance", "run", "--ops", ops, "--max-examples", "3", "--no-coverage",
           "--backend", backend, "--report", str(out), *extra, "--", "-k", "not opinfo"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # its own process group: SIGINT reaches it as Ctrl-C would


def _interrupt_when_running(proc: subprocess.Popen[str], out: Path, op: str, limit: float = 90.0) -> None:
    """Send SIGINT to the run's process group (as Ctrl-C does) once a worker has started a case of ``op``."""
    t0 = time.time()
    while time.time() - t0 < limit and proc.poll() is None:
        if any(op in f.read_text(errors="replace") for f in (out / ".inflight").glob("*.json")):
            os.killpg(proc.pid, signal.SIGINT)
            return
        time.sleep(0.2)
    raise AssertionError(f"the run never started a {op} case")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, int]]:
    base = tmp_path_factory.mktemp("faults")
    procs = {
        "faults": _start(base / "faults", "exp,sin,cos,tanh", FAULTY),
        "hang": _start(base / "hang", "relu,tanh", FAULTY, "--case-timeout", "10"),
        "sigint": _start(base / "sigint", "relu,tanh", "tests.conformance.fault_backends:SlowRelu"),
    }
    _interrupt_when_running(procs["sigint"], base / "sigint", "relu")
    out = {}
    for name, proc in procs.items():
        text, _ = proc.communicate(timeout=240)
        out[name] = (base / name, text, proc.returncode)
    return out


def _records(folder: Path) -> dict[str, list[dict]]:
    by_subject: dict[str, list[dict]] = {}
    for rec in load_results(folder / "results.json")["records"]:
        by_subject.setdefault(rec["subject"], []).append(rec)
    return by_subject


def test_a_backend_exception_is_an_error_record_and_the_run_goes_on(runs) -> None:  # noqa: ANN001
    folder, text, code = runs["faults"]
    assert code == 1, text[-3000:]
    recs = _records(folder)
    assert recs["exp"] and all(r["verdict"] == "error" for r in recs["exp"])
    assert "injected fault: exp raised inside the backend" in recs["exp"][0]["message"]
    assert all((folder / r["repro"]["case_file"]).is_file() for r in recs["exp"])
    assert recs["tanh"] and all(r["verdict"] == "pass" for r in recs["tanh"])  # the run went on


@pytest.mark.parametrize("op", ["sin", "cos"])  # sin: os._exit(7); cos: SIGSEGV
def test_a_killed_worker_is_a_crashed_record_holding_its_case(runs, op: str) -> None:  # noqa: ANN001
    folder, _, _ = runs["faults"]
    (rec,) = _records(folder)[op]
    assert rec["verdict"] == "crashed" and rec["nodeid"].endswith(f"test_op[{op}]")
    assert "crashed while running" in rec["message"]
    assert rec["case"]["nodes"][0]["op"] == op  # the case the worker was running when it died
    assert (folder / rec["repro"]["case_file"]).is_file() and (folder / rec["repro"]["script_file"]).is_file()
    assert (folder / "index.html").is_file() and rec["id"] in (folder / "index.html").read_text()
    assert not (folder / ".inflight").exists()


def test_a_hung_test_is_stopped_by_the_case_timeout_and_recorded(runs) -> None:  # noqa: ANN001
    folder, text, code = runs["hang"]
    assert code == 1, text[-3000:]
    recs = _records(folder)
    (rec,) = recs["relu"]
    assert rec["verdict"] == "crashed" and rec["message"].startswith("timed out:")
    assert "--case-timeout 10 s" in rec["message"] and rec["case"]["nodes"][0]["op"] == "relu"
    assert all(r["verdict"] == "pass" for r in recs["tanh"])


def test_sigint_writes_partial_results_and_a_partial_report(runs) -> None:  # noqa: ANN001
    folder, text, code = runs["sigint"]
    assert code == 3, text[-3000:]  # the run did not finish: no verdict
    doc = load_results(folder / "results.json")
    assert doc["run"]["interrupted"] is True
    assert "results are partial" in text
    assert "the results below are partial" in (folder / "index.html").read_text()


def test_case_timeout_default_is_stated_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import CASE_TIMEOUT, main

    assert main(["run", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--case-timeout SECONDS" in help_text and f"default: {CASE_TIMEOUT})" in help_text
