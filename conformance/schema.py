"""The record and results-file schema: the contract between the suite, the plugin and the report.

Everything here is plain JSON (str, int, float, bool, None, list, dict). No numpy scalars, no pickle.
Non-finite floats are written as the strings "nan", "inf", "-inf" (see ``json_float``).

A **check** compares one quantity of one case against one oracle::

    {
      "quantity": "grad[x1]",        # "out[0]", "grad[x1]", "loss[step 3]", "param[0.weight][step 3]"
      "shape": [2, 3],
      "ratio": 0.12,                  # worst err/tol over the elements (0.0 when exact; inf on nan mismatch)
      "max_abs_err": 1e-9,
      "max_rel_err": 2e-8,            # over elements whose expected value is not 0; null if all are 0
      "index": [1, 2],                # index of the worst element ([] for 0-d, null when shapes differ)
      "expected": 0.5,                # oracle value at the worst index (json_float)
      "actual": 0.50000001,           # backend value at the worst index
      "atol": 1e-7, "rtol": 1e-7,     # the tolerance applied: tol = atol + rtol * |expected| per element
      "ok": true                      # (atol includes the class multiplier and the magnitude-scaled term)
    }

(optional ``"extra_atol"``: a scalar or nested list added to ``atol`` where a quantity is not determined;
``compare.check_tolerance(check)`` and ``compare.bad_mask`` recompute the failing elements from a check.)

A **record** is one case checked against one oracle::

    {
      "id": "op-exp-torch64-3f2a9c1e",     # stable: kind, subject, oracle, hash of the case
      "nodeid": "conformance/suite/test_ops.py::test_op_vs_oracles[exp]",
      "kind": "op" | "opinfo" | "graph" | "network" | "training" | "recipe" | "stateful",
      "subject": "exp",                    # the op name for kind=op, else a short label ("dag-12-nodes")
      "ops": ["exp"],                      # every catalogue op the case uses (blame-by-op reads this)
      "oracle": "torch64" | "torch32" | "fd64",
      "dtype": "float64" | "float32",
      "backend": "minigrad",
      "verdict": "pass" | "fail" | "known_difference" | "error" | "crashed",
      "worst": <check> | null,             # the check with the largest ratio
      "checks": [<check>, ...],            # all checks (may be [] for pass records to save space)
      "edge_values": ["zero", "tie"],      # which deliberate edge values the case contains
      "message": null | "text",            # error text / exception for error and crashed verdicts
      "known_difference": null | {"id": "...", "reason": "...", "evidence": "...", "deviates": "torch",
                                  "exact": "std_var", "sided_with": "backend"},
      "exact": null | {                    # the exact oracle's decision, when a known difference's scope covers
          "entry": "...", "oracle": "std_var", "deviates": "torch",   # the failing checks (excused or not)
          "sided_with": "backend" | "torch" | "both" | "neither" | "mixed" | "undefined",
          "checks": [{"quantity": "grad[x0]", "sided_with": "backend", "backend_ratio": 0.0, "torch_ratio": 1e6}]
      },
      "case": null | <IR case JSON>,       # kept for fail/error/known_difference records
      "first_bad_node": null | int,        # graph node where the error first appears (report colouring)
      "arrays_file": null | "arrays/<id>.json",  # expected/actual arrays, relative to the run folder
      "repro": null | {"command": "python -m conformance repro cases/<id>.json",
                       "case_file": "cases/<id>.json", "script_file": "repro/<id>.py"},
      "reproduce_failure": null | "@reproduce_failure('6.x', b'...')",
      "trajectory": null | {               # kind=training/recipe only
          "steps": [0, 1, ...],
          "loss": {"minigrad": [...], "torch": [...]},
          "accuracy": null | {"minigrad": [...], "torch": [...]},
          "param_err": {"0.weight": [per-step max abs err], ...}
      },
      "duration_s": 0.01
    }

The **results file** ``results.json`` (``results.json.gz`` with ``run --gzip``; every reader takes either)::

    {
      "schema_version": 1,
      "run": {"id": "...", "command": "...", "started": iso8601, "duration_s": float,
              "profile": "ci", "seed": int|null, "workers": int, "backend": "minigrad",
              "interrupted": bool, "exit_status": int|null, "ops": "--ops globs"|null,
              "shard": "K/N"|null, "merged_from": [shard or path, ...] (a merge of shards only)},
      "environment": {"python": "...", "numpy": "...", "torch": "...", "minigrad": "...",
                      "hypothesis": "...", "platform": "...", "cpu": "...", "cpu_count": int},
      "counts": {"pass": n, "fail": n, "known_difference": n, "error": n, "crashed": n},
      "ops": {op: {"records": n, "fail": n, "known_difference": n, "error": n,
                   "worst_ratio": float, "edge_values": {"zero": n, ...}}},
      "catalogue": [op names in the catalogue]  # so coverage can show ops with zero cases
      "records": [<record>, ...],          # sorted by (kind, subject, oracle, id)
      "coverage": {                        # only when branch coverage was measured (run's default)
          "package": "minigrad", "tool": "coverage.py 7.x (branch)",
          "percent": float,                # (statements run + branch arcs taken) / (statements + arcs)
          "percent_statements": float, "percent_branches": float,
          "statements": n, "missing_statements": n, "branches": n, "missing_branch_arcs": n,
          "target": float|null, "fail_under": float|null, "passed": bool|null,  # null: no gate
          "files": {"minigrad/tensor.py": {"statements": n, "missing_statements": n, "branches": n,
                    "missing_branch_arcs": n, "percent": float, "percent_branches": float,
                    "missing_lines": "12-15, 40", "partial_branches": "33->35, 50->exit",
                    "uncovered_functions": [{"name": "Tensor.to", "percent": float, "missing_lines": "..",
                                             "partial_branches": "..", "accepted": null|"reason"}]}},
          "gaps": [{"file": .., "function": .., "reason": .., "state": "open"|"stale", "note": ..}],
          "warnings": [str]
      }
    }

Extensions (plugin/report, documented here as the contract):

* ``kind: "test"`` marks a record the plugin synthesised for a test that failed or crashed without
  recording a discrepancy itself (backend exception, fixture error, crashed xdist worker). Its
  ``subject`` is the test's parameter id (or name) unless ``recorder.set_context(...)`` said more
  (then kind/subject/ops/oracle/dtype/case/id come from that context).
* ``run.report_dir`` is the absolute run folder; ``run.workers`` is xdist's ``-n`` (a merge: the shards' sum);
  ``environment.executable`` is ``sys.executable``.
* ``results.json`` text layout: sorted keys; ``records`` and ``ops`` one entry per line, so two runs
  diff line by line (``conformance.results.dumps_results``). A record's fields that hold their empty
  default (null or []) are left out of the file; loading restores them (``normalize_record``).
* ``arrays/<id>.json`` (``recorder.write_arrays``) maps a quantity to ``{"expected": A, "actual": A}``
  (or a name to a single ``A``; top-level ``expected``/``actual`` belong to ``worst.quantity``),
  where ``A = {"dtype": "float64", "shape": [2, 3], "data": nested lists, non-finite as strings}``.
  The report prints both in torch's format and marks the elements that fail the matching check under
  compare.py's own rule (``compare.bad_mask``), and the worst one; quantities without a check are not marked.
* ``cases/<id>.json`` holds the IR case text and ``repro/<id>.py`` the standalone script
  (``recorder.write_case``); the record's ``repro`` field points at them, relative to the run folder.

Extensions by the harness (conformance/ir.py, checks.py, strategies/nets.py):

- a check may carry ``"note"``: why it failed without a number (``"shape/dtype [3] float32 != expected [3]
  float64"``); such checks have ``ratio`` ``"inf"`` and ``index`` null. Every value and gradient must have the
  oracle's dtype.
- ``case`` is an IR case (``conformance/ir.py``: the shape above plus an optional per-node ``"form"``, which
  call template of the op was used, and a top-level ``"meta"``: ``kind``, ``vjp`` = ``backward`` | ``grad``,
  ``edge_values``, ``fd_seed``, ``dtype``), or for kind network/training a training case
  (``conformance/strategies/nets.py``: model, params, loss, batches, steps, optimizer, scheduler, clip).
  Non-finite attribute floats are written ``{"float": "inf"}``.
- ``arrays_file`` holds ``{quantity: {"expected", "actual"}}`` for every failing quantity, plus
  ``jacobian[<leaf>]`` (rows = output elements, columns = leaf elements) when the case is small.
- kind ``stateful`` (``conformance/stateful.py``): one record per state machine; ``subject`` is the machine,
  ``ops`` the API names its actions called, ``message`` what differs (or, on a pass, how many steps and
  checks ran), and ``case`` ``{"kind": "stateful", "machine", "program", "message"}`` where ``program`` is
  hypothesis's shrunk failing program (also the reproducer file).
- ``known_difference`` entries come from ``conformance/known_differences.json`` (see ``compare.known_differences``).
"""

from __future__ import annotations

import math

SCHEMA_VERSION = 1
VERDICTS = ("pass", "fail", "known_difference", "error", "crashed")
ORACLES = ("torch64", "torch32", "fd64", "error")
KINDS = ("op", "opinfo", "graph", "network", "training", "recipe", "stateful", "error", "test")  # "test": synthesised by the plugin


def json_float(x: float) -> float | str:
    """A float as JSON can hold it: non-finite values become strings."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def from_json_float(x: float | str | None) -> float | None:
    """Inverse of :func:`json_float`."""
    if x is None:
        return None
    return float(x)
