"""The command line on bad input: one line on stderr naming what is wrong, a distinct exit status, no traceback.

Everything runs ``cli.main([...])`` in-process (fast); ``pytest.main`` is replaced by a stub wherever the point is
that pytest must not start, or that its exit status is mapped. One subprocess test checks the real entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.profiles import EXAMPLES, PROFILES
from conformance.results import build_results, write_results

ROOT = Path(__file__).resolve().parents[2]

#: An op case as ``run`` stores it in ``cases/<id>.json``: exp of a 0-d float64 leaf.
EXP_CASE: dict[str, Any] = {
    "version": 1,
    "leaves": [{"name": "x0", "dtype": "float64", "shape": [], "values": [1.0], "requires_grad": True}],
    "nodes": [{"id": 0, "op": "exp", "inputs": ["x0"], "attrs": {}, "form": "fn"}],
    "outputs": ["n0"],
    "cotangents": [{"dtype": "float64", "shape": [], "values": [0.5]}],
    "meta": {"kind": "op", "dtype": "float64", "fd_seed": 0, "vjp": "backward", "edge_values": []},
}

#: Adapters a third party might pass as ``--backend badbackends:<Class>``.
BAD_BACKENDS = textwrap.dedent('''
    class NoTrain:  # every member of the protocol but train and param_utils
        name = "no-train"
        def version(self): return "0"
        def leaf(self, values, requires_grad): ...
        def apply(self, spec, form, inputs, attrs): ...
        def to_numpy(self, value): ...
        def vjp(self, outputs, cotangents, leaves, method="backward"): ...
        def init_sample(self, name, shape, attrs, seed): ...

    class Raises:
        def __init__(self):
            raise RuntimeError("no GPU here")

    NOT_A_CLASS = 42
''')


@pytest.fixture
def bad_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "badbackends.py").write_text(BAD_BACKENDS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "badbackends", raising=False)


@pytest.fixture
def no_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` must fail before it starts pytest."""
    def refuse(argv: list[str]) -> int:
        raise AssertionError(f"pytest started: {argv}")
    monkeypatch.setattr(pytest, "main", refuse)


@pytest.fixture
def saved_environ() -> Iterator[None]:
    """``run`` exports CONFORMANCE_* variables: put the environment back afterwards."""
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(EXP_CASE))
    return path


@pytest.fixture
def results_file(tmp_path: Path) -> Path:
    """A results.json with a failing record holding the exp case and a passing record holding none."""
    records = [{"id": "op-exp-torch64-aaaa", "verdict": "fail", "subject": "exp", "ops": ["exp"], "case": EXP_CASE},
               {"id": "op-exp-torch64-bbbb", "verdict": "pass", "subject": "exp", "ops": ["exp"]}]
    return write_results(tmp_path / "results.json", build_results(records, run={"id": "t"}, environment={}))


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single stderr line of a refused command (and no traceback anywhere)."""
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------------------------------------------- --backend
@pytest.mark.parametrize(("spec", "named"), [
    ("nosuchmod:Foo", "cannot import module 'nosuchmod'"),
    ("conformance.planted:NoSuchClass", "has no attribute 'NoSuchClass'"),
    ("badbackends:NoTrain", "NoTrain lacks train, param_utils"),
    ("badbackends:Raises", "Raises() raised RuntimeError: no GPU here"),
    ("badbackends:NOT_A_CLASS", "badbackends.NOT_A_CLASS is not a class (an int)"),
    ("json:JSONDecoder", "lacks name, version, leaf"),
    ("pytorch", "unknown (use minigrad, torch or package.module:Class)"),
])
def test_run_refuses_a_bad_backend_before_pytest_starts(spec: str, named: str, capsys: pytest.CaptureFixture[str],
                                                         bad_backends: None, no_pytest: None, tmp_path: Path) -> None:
    assert cli.main(["run", "--profile", "quick", "--backend", spec, "--report", str(tmp_path / "r")]) == 2
    line = one_error_line(capsys)
    assert line.startswith("conformance run: error: backend ") and repr(spec) in line and named in line, line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["repro", "CASE"], ["bench"], ["selftest"]])
def test_other_commands_refuse_a_bad_backend(command: list[str], case_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(case_file) if a == "CASE" else a for a in command]
    assert cli.main([*argv, "--backend", "nosuchmod:Foo"]) == 2
    assert "cannot import module 'nosuchmod'" in one_error_line(capsys)


# ---------------------------------------------------------------------------------------------------- options
@pytest.mark.parametrize(("args", "named"), [
    (["--max-examples", "0"], "argument --max-examples: expected a whole number >= 1, got 0"),
    (["--max-examples", "-1"], "argument --max-examples: expected a whole number >= 1, got -1"),
    (["--max-examples", "lots"], "argument --max-examples: expected a whole number >= 1, got 'lots'"),
    (["-n", "abc"], "argument -n/--workers: expected a number of workers >= 1 or 'auto', got 'abc'"),
    (["-n", "0"], "argument -n/--workers: expected a number of workers >= 1 or 'auto', got '0'"),
    (["--profile", "fast"], "argument --profile: invalid choice: 'fast'"),
])
def test_run_refuses_bad_option_values_in_one_line(args: list[str], named: str, capsys: pytest.CaptureFixture[str],
                                                   no_pytest: None) -> None:
    assert cli.main(["run", *args]) == 2
    line = one_error_line(capsys)
    assert line.startswith("python -m conformance run: error: ") and named in line, line


def test_workers_accept_a_count_or_auto() -> None:
    assert cli.worker_count("auto") == "auto" and cli.worker_count("2") == "2"


def test_run_refuses_a_report_folder_it_cannot_create(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      no_pytest: None) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["run", "--profile", "quick", "--ops", "exp", "--report", str(blocker / "run")]) == 2
    assert "cannot create the run folder" in one_error_line(capsys)


# ---------------------------------------------------------------------------------------------------- repro
def test_repro_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["repro", str(tmp_path / "gone.json")]) == 2
    assert one_error_line(capsys).endswith("gone.json: no such file")


def test_repro_refuses_a_truncated_file(case_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case_file.write_text(case_file.read_text()[:120])
    assert cli.main(["repro", str(case_file)]) == 2
    assert "not valid JSON, truncated or damaged?" in one_error_line(capsys)


@pytest.mark.parametrize(("doc", "named"), [
    ([1, 2], "expected a JSON object (a case, a record or a results file), got a JSON list"),
    ({"hello": 1}, "not a case (an IR case has 'nodes'"),
    ({"kind": "training"}, "not a case"),
    ({**EXP_CASE, "nodes": [{"id": 0, "op": "no_such_op", "inputs": ["x0"]}]}, "not a valid IR case (KeyError"),
    ({**EXP_CASE, "leaves": [{"name": "x0"}]}, "not a valid IR case (KeyError"),
])
def test_repro_refuses_json_that_is_not_a_case(doc: Any, named: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["repro", str(path), "--backend", "torch"]) == 2
    assert named in one_error_line(capsys)


def test_repro_of_a_results_file_asks_for_an_id(results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["repro", str(results_file)]) == 2
    line = one_error_line(capsys)
    assert "is a results file with 2 records: choose the one to replay with --id ID" in line
    assert "1 hold a case: op-exp-torch64-aaaa" in line


def test_repro_id_must_name_a_record(results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["repro", str(results_file), "--id", "op-nope"]) == 2
    assert "no record with id 'op-nope'" in one_error_line(capsys)


def test_repro_of_a_record_without_a_case(results_file: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["repro", str(results_file), "--id", "op-exp-torch64-bbbb"]) == 2
    assert "record 'op-exp-torch64-bbbb' (verdict 'pass') holds no case to replay" in one_error_line(capsys)
    record = tmp_path / "record.json"  # the same record on its own
    record.write_text(json.dumps({"id": "op-x", "verdict": "error", "case": None}))
    assert cli.main(["repro", str(record)]) == 2
    assert "record 'op-x' (verdict 'error') holds no case" in one_error_line(capsys)


def test_repro_id_on_a_case_file_is_refused(case_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["repro", str(case_file), "--id", "x"]) == 2
    assert "--id selects a record of a results file" in one_error_line(capsys)


def test_repro_replays_a_record_chosen_by_id(results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The good path through a results file: the planted exp bug is found (1), torch agrees with itself (0)."""
    argv = ["repro", str(results_file), "--id", "op-exp-torch64-aaaa"]
    assert cli.main([*argv, "--backend", "conformance.planted:PlantedExpSign"]) == 1
    assert "DISCREPANCY: op exp" in capsys.readouterr().out
    assert cli.main([*argv, "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    assert "DISCREPANCY" not in out and "torch64" in out


# ---------------------------------------------------------------------------------------------------- exit status
@pytest.mark.parametrize(("pytest_status", "narrowed", "ours"), [
    (pytest.ExitCode.OK, False, 0),
    (pytest.ExitCode.TESTS_FAILED, False, 1),
    (pytest.ExitCode.INTERRUPTED, False, 3),
    (pytest.ExitCode.INTERNAL_ERROR, False, 3),
    (pytest.ExitCode.USAGE_ERROR, True, 2),
    (pytest.ExitCode.NO_TESTS_COLLECTED, True, 2),
    (pytest.ExitCode.NO_TESTS_COLLECTED, False, 3),
])
def test_pytest_status_maps_to_ours(pytest_status: int, narrowed: bool, ours: int) -> None:
    assert cli.run_exit_status(int(pytest_status), narrowed) == ours


def test_run_reports_a_selection_without_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], saved_environ: None) -> None:
    monkeypatch.setattr(pytest, "main", lambda argv: pytest.ExitCode.NO_TESTS_COLLECTED)
    assert cli.main(["run", "--profile", "quick", "--report", str(tmp_path / "r"), "--", "-k", "nothing"]) == 2
    assert "pytest rejected the extra arguments ['-k', 'nothing'] or they selected no test" in one_error_line(capsys)


def test_a_crash_is_exit_3_not_a_discrepancy(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def broken(args: Any) -> int:
        raise RuntimeError("bug")
    monkeypatch.setattr(cli, "cmd_catalog", broken)
    assert cli.main(["catalog"]) == 3
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "conformance catalog: error: harness error (a bug in conformance): RuntimeError: bug")


def test_help_is_plain_text_and_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "``" not in top
    for line in ("0  agrees", "1  discrepancies found", "2  usage or input error", "3  harness error or crash"):
        assert line in top
    assert cli.main(["run", "--help"]) == 0
    run_help = " ".join(capsys.readouterr().out.split())
    budgets = ", ".join(f"{name} ({EXAMPLES[name]['op']})" for name in PROFILES)  # what each profile means
    assert "2 usage or input error" in run_help and budgets in run_help
    assert "(default: ci)" in run_help


def test_bad_backend_end_to_end(tmp_path: Path) -> None:
    """The real entry point: one stderr line, exit 2, nothing else (today: thousands of lines, exit 1)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--profile", "quick", "--backend",
                           "nosuchmod:Foo", "--report", str(tmp_path / "r")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "conformance run: error: backend 'nosuchmod:Foo': cannot import module 'nosuchmod' (ModuleNotFoundError: "
        "No module named 'nosuchmod'; `python -c 'import nosuchmod'` shows the traceback)"]
