"""Runs shard across CI machines: ``--conformance-shard K/N`` (``run --shard K/N``) keeps a deterministic 1/N of
the test items, the same with and without xdist; ``report A.json B.json -o OUT.html`` merges the shards into the
totals of the unsharded run, artefacts included; results.json.gz is written and read transparently."""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.cli import main as cli_main
from conformance.cli import pytest_argv
from conformance.report import main as report_main
from conformance.results import build_results, load_results, write_results

ROOT = Path(__file__).resolve().parents[2]

SUITE = textwrap.dedent('''
    import pytest

    CASE = {"version": 1, "leaves": [{"name": "x0", "shape": [2], "dtype": "float64",
            "requires_grad": True, "values": [1.0, 2.0]}],
            "nodes": [{"id": 0, "op": "exp", "inputs": ["x0"], "attrs": {}}], "outputs": ["n0"]}


    @pytest.mark.parametrize("i", range(7))
    def test_op(conformance_recorder, i):
        verdict = "fail" if i == 3 else "pass"
        rec = {"id": f"op-exp-{i}", "verdict": verdict, "kind": "op", "subject": f"op{i}", "oracle": "torch64",
               "dtype": "float64"}
        if verdict == "fail":
            rec["case"] = CASE
            rec["repro"] = conformance_recorder.write_case(rec["id"], CASE, "print(1)\\\\n", record=rec)
        conformance_recorder.add(rec)
        assert verdict == "pass"


    def test_other(conformance_recorder):
        conformance_recorder.add({"id": "graph-1", "verdict": "pass", "kind": "graph", "subject": "dag"})
''')


def _run(folder: Path, *args: str) -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_synth.py").write_text(SUITE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", "-q",
           "--rootdir", str(folder), "test_synth.py", "--conformance-report", "out", "--conformance-profile", "ci",
           *args]
    return subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("shards")
    specs = {"whole": [], "one": ["--conformance-shard", "1/2", "--conformance-gzip"],
             "two": ["--conformance-shard", "2/2", "-n", "2"]}  # in xdist workers: they must pick the same items
    procs = {name: _run(base / name, *args) for name, args in specs.items()}
    for proc in procs.values():
        text, _ = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), text[-2000:]  # 1 for the runs holding op-exp-3 (a failure)
    return {name: base / name / "out" for name in specs}


def _ids(folder: Path) -> list[str]:
    return sorted(r["id"] for r in load_results(folder / "results.json")["records"])


def test_shards_split_the_items_deterministically(runs: dict[str, Path]) -> None:
    one, two, whole = _ids(runs["one"]), _ids(runs["two"]), _ids(runs["whole"])
    assert one and two and not set(one) & set(two) and sorted(one + two) == whole
    assert load_results(runs["one"] / "results.json")["run"]["shard"] == "1/2"


def test_gzip_results_are_read_transparently(runs: dict[str, Path]) -> None:
    assert not (runs["one"] / "results.json").exists()
    raw = (runs["one"] / "results.json.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and b'"schema_version"' in gzip.decompress(raw)
    assert load_results(runs["one"] / "results.json.gz")["records"]


def test_merged_shards_have_the_totals_of_the_unsharded_run(runs: dict[str, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "merged" / "index.html"
    sources = [str(runs["one"] / "results.json.gz"), str(runs["two"] / "results.json")]
    assert report_main([*sources, "-o", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    merged, whole = load_results(out.parent / "results.json"), load_results(runs["whole"] / "results.json")
    assert merged["counts"] == whole["counts"] and _ids(out.parent) == _ids(runs["whole"])
    assert merged["run"]["merged_from"] == ["1/2", "2/2"] and merged["run"]["workers"] == 3
    (fail,) = [r for r in merged["records"] if r["verdict"] == "fail"]
    assert (out.parent / fail["repro"]["case_file"]).is_file() and (out.parent / fail["repro"]["script_file"]).is_file()
    assert str(out.parent / fail["repro"]["case_file"]) in fail["repro"]["command"]
    assert out.is_file() and "op-exp-3" in out.read_text()


def test_merge_warns_about_a_missing_shard_and_needs_an_output(runs: dict[str, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    sources = [str(runs["one"] / "results.json"), str(runs["one"] / "results.json.gz")]
    assert report_main([*sources, "-o", str(tmp_path / "m.html")]) == 0
    assert "the shards are 1/2, 1/2: not each of 1..N once" in capsys.readouterr().err
    assert report_main(sources) == 2
    assert "merging shards needs -o" in capsys.readouterr().err


def test_write_results_gz_is_deterministic(tmp_path: Path) -> None:
    doc = build_results([{"id": "a", "verdict": "pass"}], run={}, environment={}, catalogue=[])
    a, b = write_results(tmp_path / "a.json.gz", doc), write_results(tmp_path / "b.json.gz", doc)
    assert a.read_bytes() == b.read_bytes()
    assert load_results(tmp_path / "a.json")["records"][0]["id"] == "a"  # X.json found as X.json.gz


@pytest.mark.parametrize("bad", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_run_refuses_a_bad_shard(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["run", "--shard", bad]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--shard" in err


def test_shard_reaches_pytest_and_turns_the_default_coverage_gate_off(tmp_path: Path) -> None:
    args = argparse.Namespace(profile="ci", seed=None, backend="minigrad", ops=None, no_coverage=False,
                              coverage_package=None, fail_under=None, workers="2", pytest_args=[], case_timeout=600,
                              shard="2/4", gzip=True)
    argv = pytest_argv(args, tmp_path)
    assert "--conformance-shard=2/4" in argv and "--conformance-gzip" in argv
    assert not any(a.startswith("--conformance-fail-under") for a in argv)
