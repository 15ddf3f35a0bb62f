"""results.json: normalisation, deterministic text, schema-version checks, per-op summary."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from conformance.results import (
    ResultsError,
    build_results,
    dumps_results,
    load_results,
    normalize_record,
    record_ratio,
    summarize_ops,
    to_plain,
    worst_key,
    write_results,
)
from conformance.schema import SCHEMA_VERSION

ENV = {"python": "3.11", "numpy": "x", "torch": "2.13.0", "minigrad": "0.1.0", "hypothesis": "6", "platform": "p",
       "cpu": "c", "cpu_count": 2}


def _rec(i: int, verdict: str = "pass", subject: str = "exp", ratio: float = 0.0, **kw) -> dict:
    return {"id": f"op-{subject}-torch64-{i:04d}", "kind": "op", "subject": subject, "ops": [subject],
            "oracle": "torch64", "dtype": "float64", "backend": "minigrad", "verdict": verdict,
            "worst": {"quantity": "out[0]", "ratio": ratio}, "edge_values": kw.pop("edge_values", []), **kw}


def test_to_plain_unwraps_numpy_and_nonfinite():
    got = to_plain({"a": np.float32(1.5), "b": np.array([1.0, np.nan, -np.inf]), "c": (np.int64(3),), 4: math.inf})
    assert got == {"a": 1.5, "b": [1.0, "nan", "-inf"], "c": [3], "4": "inf"}
    json.dumps(got, allow_nan=False)


def test_normalize_fills_defaults_and_rejects_bad_records():
    rec = normalize_record({"id": "x", "verdict": "pass", "kind": "op", "subject": "exp"}, nodeid="t.py::t")
    assert rec["ops"] == ["exp"] and rec["nodeid"] == "t.py::t" and rec["case"] is None and rec["checks"] == []
    checks = [{"quantity": "out[0]", "ratio": 0.5}, {"quantity": "grad[x0]", "ratio": "inf"}]
    assert normalize_record({"id": "y", "verdict": "fail", "checks": checks})["worst"]["quantity"] == "grad[x0]"
    with pytest.raises(ValueError, match="verdict"):
        normalize_record({"id": "x", "verdict": "passed"})
    with pytest.raises(ValueError, match="id"):
        normalize_record({"verdict": "pass"})


def test_worst_key_orders_by_severity_then_ratio():
    recs = [_rec(1, "fail", ratio=3), _rec(2, "pass", ratio=0.9), _rec(3, "crashed"), _rec(4, "fail", ratio="inf"),
            _rec(5, "known_difference", ratio=1e9), _rec(6, "error")]
    assert [r["id"][-1] for r in sorted(recs, key=worst_key)] == ["3", "6", "4", "1", "5", "2"]
    assert record_ratio(_rec(7, "error", worst=None)) == math.inf
    assert record_ratio(_rec(8, "pass", worst=None)) == 0.0


def test_results_text_is_deterministic_and_diffs_line_by_line(tmp_path):
    records = [_rec(i, "fail" if i % 7 == 0 else "pass", subject=["exp", "log", "add"][i % 3], ratio=i / 10)
               for i in range(60)]
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    run = {"id": "r", "profile": "ci", "seed": 3, "workers": 2}
    a = dumps_results(build_results(records, run=run, environment=ENV, catalogue=["exp", "log", "add", "mul"]))
    b = dumps_results(build_results(shuffled, run=run, environment=ENV, catalogue=["mul", "add", "log", "exp"]))
    assert a == b
    # one record per line: changing one record changes exactly one line
    records[5]["worst"]["ratio"] = 99.0
    c = dumps_results(build_results(records, run=run, environment=ENV, catalogue=["exp", "log", "add", "mul"]))
    changed = [(x, y) for x, y in zip(a.splitlines(), c.splitlines()) if x != y]
    assert len(a.splitlines()) == len(c.splitlines())
    assert len(changed) == 2  # the record's line and the per-op summary line of its op
    doc = json.loads(a)
    assert [r["id"] for r in doc["records"]] == sorted(r["id"] for r in doc["records"])  # all kind op, sorted by subject
    assert [r["subject"] for r in doc["records"]] == sorted(r["subject"] for r in doc["records"])


def test_round_trip_and_duplicates(tmp_path):
    recs = [_rec(1, "pass", ratio=0.1), _rec(1, "fail", ratio=5.0), _rec(2, "pass", ratio=np.float64(0.25))]
    doc = build_results(recs, run={"id": "r"}, environment=ENV, catalogue=[])
    assert [r["verdict"] for r in doc["records"]] == ["fail", "pass"]  # the worse duplicate wins
    path = write_results(tmp_path / "results.json", doc)
    loaded = load_results(path)
    assert loaded["records"] == doc["records"]
    assert loaded["counts"] == {"pass": 1, "fail": 1, "known_difference": 0, "error": 0, "crashed": 0}
    assert loaded["schema_version"] == SCHEMA_VERSION


def test_load_rejects_other_schema_versions(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "run": {}, "records": []}))
    with pytest.raises(ResultsError, match=rf"schema_version {SCHEMA_VERSION + 1} is not supported"):
        load_results(p)
    p.write_text(json.dumps({"run": {}, "records": []}))
    with pytest.raises(ResultsError, match="no 'schema_version'"):
        load_results(p)
    p.write_text("{not json")
    with pytest.raises(ResultsError, match="not valid JSON"):
        load_results(p)
    with pytest.raises(ResultsError, match="cannot read"):
        load_results(tmp_path / "missing.json")
    p.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "run": {}, "records": [{"id": "a", "verdict": "?"}]}))
    with pytest.raises(ResultsError, match="record 0"):
        load_results(p)


def test_summarize_ops_counts_and_lists_uncovered_catalogue_ops():
    recs = [normalize_record(r) for r in [
        _rec(1, "pass", "exp", 0.5, edge_values=["zero"]), _rec(2, "fail", "exp", 3.0, edge_values=["zero", "tie"]),
        {"id": "g1", "kind": "graph", "subject": "dag-3", "ops": ["exp", "add"], "verdict": "error"},
    ]]
    ops = summarize_ops(recs, ["exp", "add", "mul"])
    assert list(ops) == ["add", "exp", "mul"]
    assert ops["exp"]["records"] == 3 and ops["exp"]["fail"] == 1 and ops["exp"]["error"] == 1
    assert ops["exp"]["edge_values"] == {"zero": 2, "tie": 1}
    assert ops["exp"]["worst_ratio"] == 3.0  # the error is counted in "error", it has no ratio to rank
    assert ops["mul"]["records"] == 0
    assert "dag-3" not in ops  # graphs blame their ops, not their label
