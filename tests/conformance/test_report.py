"""The HTML report: torch-style number formatting, the DAG drawing, rendering (content, escaping,
size, determinism), re-render and compare through ``main(argv)``, and a look in headless Chromium."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.compare import compare_arrays
from conformance.report import main, render_html, render_report
from conformance.report.compare import compare_results
from conformance.report.figures import histogram_bins, log_ratio, margin_histogram
from conformance.report.fmt import tensor_segments, tensor_str
from conformance.report.graph import graph_model, graph_svg
from conformance.results import array_to_json, build_results, load_results, write_results

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "reports" / "test-artefacts"
XSS = "<script>alert('x')</script>"
ENV = {"python": "3.11.7", "numpy": "2.4.6", "torch": "2.13.0+cpu", "minigrad": "0.1.0", "hypothesis": "6.155.2",
       "platform": "Linux-x86_64", "cpu": "AMD EPYC", "cpu_count": 2}
OPS = ["exp", "log", "add", "mul", "matmul", "sum", "relu", "sigmoid", "softmax", "maximum", "sqrt", "cumsum",
       "tanh", "mean", "where", "gather", "logsumexp", "median"]


# ---------------------------------------------------------------------------------------------- data
def _check(q, ratio, shape=(2, 3), index=(0, 1), expected=0.5, actual=0.5, atol=1e-7, rtol=1e-7):
    return {"quantity": q, "shape": list(shape), "ratio": ratio, "max_abs_err": ratio * atol if ratio != "inf" else "inf",
            "max_rel_err": ratio * rtol if ratio != "inf" else "inf", "index": list(index), "expected": expected,
            "actual": actual, "atol": atol, "rtol": rtol, "ok": ratio != "inf" and ratio <= 1}


def _rec(rid, verdict, kind="op", subject="exp", ops=None, oracle="torch64", dtype="float64", ratio=0.0, **kw):
    worst = kw.pop("worst", _check("out[0]", ratio))
    return {"id": rid, "nodeid": f"conformance/suite/test_ops.py::test_op[{subject}]", "kind": kind,
            "subject": subject, "ops": ops if ops is not None else [subject], "oracle": oracle, "dtype": dtype,
            "backend": "minigrad", "verdict": verdict, "worst": worst, "checks": kw.pop("checks", []),
            "edge_values": kw.pop("edge_values", []), **kw}


CASE = {"version": 1,
        "leaves": [{"name": "x0", "shape": [2, 3], "dtype": "float64", "requires_grad": True,
                    "values": [0.5, -1.25, 0.0, 2.0, 1e-3, -0.75]},
                   {"name": "x1", "shape": [3], "dtype": "float64", "requires_grad": True, "values": [1.0, 0.0, -2.0]}],
        "nodes": [{"id": 0, "op": "mul", "inputs": ["x0", "x1"], "attrs": {}},
                  {"id": 1, "op": "maximum", "inputs": ["n0", "x0"], "attrs": {}},
                  {"id": 2, "op": "exp", "inputs": ["x1"], "attrs": {}},
                  {"id": 3, "op": "sum", "inputs": ["n1"], "attrs": {"dim": 1, "keepdim": False}},
                  {"id": 4, "op": "add", "inputs": ["n3", "n2"], "attrs": {}},
                  {"id": 5, "op": "tanh", "inputs": ["n0"], "attrs": {}}],
        "outputs": ["n4", "n5"], "cotangents": []}


def make_run(folder: Path, n_pass: int = 3000, seed: int = 0) -> dict:
    """A realistic run: thousands of passes, failures, known differences, an error, a crash, training."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n_pass):
        op = OPS[i % 14]
        ratio = 0.0 if i % 5 == 0 else float(10 ** rng.uniform(-7, -0.05))
        edges = [["zero"], ["tie"], ["large"], [], ["tiny", "zero"]][i % 5]
        records.append(_rec(f"op-{op}-torch64-{i:05d}", "pass", subject=op, ratio=ratio, edge_values=edges,
                            oracle=["torch64", "torch32", "fd64"][i % 3]))
    # a failing graph with its case, arrays and repro
    e = np.array([[0.5, 1.0, 0.0], [2.0, 0.001, 0.0]])
    a = e.copy()
    a[0, 2] = 0.5  # tie handled wrongly: all of the gradient instead of half
    a[1, 2] = 1e-4
    checks = [_check("grad[x0]", 5.0e6, expected=0.0, actual=0.5, index=(0, 2)), _check("out[0]", 0.0),
              _check("grad[x1]", 12.5, shape=(3,), index=(2,))]
    gid = "graph-dag-6-torch64-ab12cd34ef"
    (folder / "arrays").mkdir(exist_ok=True)
    (folder / "arrays" / f"{gid}.json").write_text(json.dumps(
        {"grad[x0]": {"expected": array_to_json(e), "actual": array_to_json(a)},
         "grad[x1]": {"expected": array_to_json(np.array([1.0, 2.0, 3.0])),
                      "actual": array_to_json(np.array([1.0, 2.0, 3.1]))}}))
    (folder / "cases").mkdir(exist_ok=True)
    (folder / "cases" / f"{gid}.json").write_text(json.dumps(CASE))
    (folder / "repro").mkdir(exist_ok=True)
    (folder / "repro" / f"{gid}.py").write_text("import torch\nimport minigrad\n# x0 = ...\nprint('mismatch')\n")
    records.append(_rec(gid, "fail", kind="graph", subject="dag-6", ops=["mul", "maximum", "exp", "sum", "add", "tanh"],
                        worst=checks[0], checks=checks, case=CASE, first_bad_node=1, edge_values=["tie", "zero"],
                        arrays_file=f"arrays/{gid}.json",
                        repro={"command": f"python -m conformance repro {folder.name}/cases/{gid}.json",
                               "case_file": f"cases/{gid}.json", "script_file": f"repro/{gid}.py"},
                        reproduce_failure="@reproduce_failure('6.155.2', b'AXicY2BkYGBgBAAAHgAG')",
                        nodeid="conformance/suite/test_graphs.py::test_dag_vs_oracles"))
    records.append(_rec("op-median-torch32-0f0f0f0f", "fail", subject="median", oracle="torch32", dtype="float32",
                        ratio=3.2, checks=[_check("grad[x0]", 3.2)], edge_values=["tie"],
                        exact={"entry": "median-tie", "oracle": "median_exact", "deviates": "torch", "sided_with": "torch",
                               "checks": [{"quantity": "grad[x0]", "sided_with": "torch", "backend_ratio": 3.2,
                                           "torch_ratio": 0.0}]}))
    records.append(_rec(f"op-{XSS}-torch64-1", "fail", subject=XSS, ops=[XSS], ratio=2.0,
                        case={"leaves": [{"name": XSS, "shape": [1], "values": [1.0]}],
                              "nodes": [{"id": 0, "op": XSS, "inputs": [XSS]}], "outputs": ["n0"]},
                        message=f"mismatch in {XSS}"))
    for j in range(3):
        records.append(_rec(f"op-sqrt-fd64-kd{j}", "known_difference", subject="sqrt", oracle="fd64", ratio=1e12 + j,
                            known_difference={"id": "sqrt-at-zero", "reason": "sqrt'(0) is inf in torch; finite "
                                              "differences see a large finite slope", "evidence": "torch 2.13.0"}))
    records.append(_rec("op-cumsum-torch64-err", "error", subject="cumsum", worst=None,
                        message=f"TypeError: cumsum() got an unexpected keyword argument 'dim' {XSS}\n  File x.py"))
    records.append(_rec("crashed-test_ops.py-test_op-deadbeef", "crashed", kind="test", subject="logsumexp", ops=[],
                        oracle=None, dtype=None, worst=None,
                        message="worker 'gw1' crashed while running 'conformance/suite/test_ops.py::test_op[logsumexp]'"))
    steps = list(range(12))
    loss_t = [2.3 * math.exp(-0.25 * s) + 0.1 for s in steps]
    loss_m = [v + (1e-7 * 3 ** s if s > 3 else 1e-16 * s) for s, v in zip(steps, loss_t)]
    records.append(_rec("training-mlp-2x16-torch64-aa", "fail", kind="training", subject="mlp-2x16-adam",
                        ops=["linear", "relu", "cross_entropy", "Adam"], ratio=40.0,
                        trajectory={"steps": steps, "loss": {"minigrad": loss_m, "torch": loss_t}, "accuracy": None,
                                    "param_err": {"0.weight": [1e-16 * 2 ** s for s in steps],
                                                  "0.bias": [1e-17 * 3 ** s for s in steps],
                                                  "2.weight": [0.0] + [1e-15 * 4 ** s for s in steps[1:]]}}))
    records.append(_rec("recipe-digits-torch32-bb", "pass", kind="recipe", subject="digits-mlp", oracle="torch32",
                        dtype="float32", ops=["linear", "relu", "cross_entropy", "SGD"], ratio=0.2,
                        trajectory={"steps": steps, "loss": {"minigrad": loss_t, "torch": loss_t},
                                    "accuracy": {"minigrad": [0.5, 0.8, 0.9, 0.93], "torch": [0.5, 0.8, 0.9, 0.93]},
                                    "param_err": {"0.weight": [1e-8] * 12}}))
    run = {"id": "20261123T150000Z-1", "command": "python -m conformance run --profile ci --seed 0 -n 2",
           "started": "2026-11-23T15:00:00+00:00", "duration_s": 42.5, "profile": "ci", "seed": 0, "workers": 2,
           "backend": "minigrad", "interrupted": False, "exit_status": 1}
    results = build_results(records, run=run, environment=ENV, catalogue=OPS + ["Adam", "linear", "unused_op"])
    write_results(folder / "results.json", results)
    return results


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report") / "run"
    make_run(folder)
    render_report(load_results(folder / "results.json"), folder / "index.html")
    return folder


@pytest.fixture(scope="module")
def html(run_dir: Path) -> str:
    return (run_dir / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------- fmt
FMT_CASES = [
    np.array([1.0, -2.5], dtype=np.float32), np.array([[1e-5, 2.0], [3.0, 4.0]]), np.array(1.5, dtype=np.float32),
    np.array([1.0, 2.0], dtype=np.float32), np.array([np.nan, 1.0, np.inf], dtype=np.float32),
    np.zeros((0, 3), dtype=np.float32), np.zeros((0,)), np.arange(10, dtype=np.int32), np.arange(4),
    np.random.default_rng(0).standard_normal(2000).astype(np.float32),
    np.random.default_rng(1).standard_normal((40, 50)), np.random.default_rng(2).standard_normal((3, 4, 5)) * 1e5,
    np.array([True, False]), np.array([0.0, -0.0]), np.array([1e9, 1.0]), np.array([-1.0, 100000.0]),
    np.random.default_rng(3).standard_normal((12, 100)), np.array(-np.inf), np.array([[np.nan]]),
]


@pytest.mark.parametrize("arr", FMT_CASES, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_tensor_str_matches_torch(arr):
    assert tensor_str(arr) == str(torch.tensor(arr))


def test_tensor_segments_mark_elements():
    segs = tensor_segments(np.array([[1.0, 2.0], [3.0, 4.0]]), {(0, 1): "bad", (1, 0): "worst"})
    assert "".join(t for t, _ in segs) == str(torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64))
    assert [(t, c) for t, c in segs if c] == [("2.", "bad"), ("3.", "worst")]


# ---------------------------------------------------------------------------------------------- graph
def test_graph_layout_layers_and_colours():
    model = graph_model(CASE, first_bad_node=1)
    items = {it["key"]: it for it in model["items"]}
    assert {k: it["layer"] for k, it in items.items()} == {"x0": 0, "x1": 0, "n0": 1, "n1": 2, "n2": 1, "n3": 3,
                                                            "n4": 4, "n5": 2}
    assert {k: it["kind"] for k, it in items.items()} == {
        "x0": "leaf", "x1": "leaf", "n0": "ok", "n1": "bad", "n2": "ok", "n3": "downstream", "n4": "downstream",
        "n5": "ok"}
    assert items["n4"].get("output") and items["n5"].get("output")
    unlocalised = {it["key"]: it["kind"] for it in graph_model(CASE, None)["items"]}
    assert unlocalised["n1"] == "plain" and unlocalised["x0"] == "leaf"
    # left to right, boxes in one column do not overlap
    assert items["x0"]["x"] < items["n0"]["x"] < items["n1"]["x"] < items["n3"]["x"] < items["n4"]["x"]
    col1 = sorted((it for it in model["items"] if it["layer"] == 1), key=lambda it: it["y"])
    assert col1[0]["y"] + col1[0]["h"] < col1[1]["y"]


def test_graph_svg_escapes_and_tolerates_missing_fields():
    svg = str(graph_svg({"nodes": [{"op": XSS, "inputs": ["ghost"]}], "outputs": ["n0"]}, 0, uid="t"))
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 2  # the unknown input is drawn as a leaf
    assert str(graph_svg(None)) == "" and str(graph_svg({"version": 1})) == ""


# ---------------------------------------------------------------------------------------------- figures
def test_margin_histogram_bins_and_determinism():
    assert log_ratio(0) == -8 and log_ratio("inf") == 4 and log_ratio("nan") == 4 and log_ratio(10.0) == 1.0
    edges, counts = histogram_bins([log_ratio(x) for x in (0, 0, 1e-3, 0.5, 2.0, "inf")])
    assert counts[0] == 2 and counts[-1] == 1 and sum(counts) == 6 and edges[0] == -8
    recs = [{"worst": {"ratio": r}} for r in (0.0, 1e-3, 2.0)]
    a, b = str(margin_histogram(recs, "h")), str(margin_histogram(recs, "h"))
    assert a == b
    assert "<text" in a and "Margin of 3 checks" in a  # fonttype none: text stays text
    assert "<dc:date>" not in a and not a.startswith("<?xml")
    ids = re.findall(r'id="([^"]+)"', a)
    assert ids and all(i.startswith("h-") for i in ids)


# ---------------------------------------------------------------------------------------------- render
def test_report_shows_verdict_table_cards_and_coverage(html):
    assert "9 of 3010 records need attention: 4 fail, 1 error, 1 crashed, 3 known differences" in html
    assert "python -m conformance run --profile ci --seed 0 -n 2" in html
    table = html[html.index('id="worst-table"'):html.index("</table>", html.index('id="worst-table"'))]
    order = re.findall(r'<span class="badge (\w+)">', table)
    assert order[:2] == ["crashed", "error"] and order[-3:] == ["known_difference"] * 3
    assert table.index("dag-6") < table.index("median")  # ratio 5e6 before 3.2
    # cards: every fail/error/crash, known differences grouped
    cards = re.findall(r'<article class="card (\w+)" id="([^"]+)"', html)
    assert sorted(v for v, _ in cards) == ["crashed", "error", "fail", "fail", "fail", "fail", "known_difference"]
    assert "3 records share this known difference" in html
    median = html[html.index('id="card-op-median-torch32-0f0f0f0f"'):]
    median = median[:median.index("</article>")]  # a failure the exact oracle blames on the backend says so
    assert ("Exact oracle <code>median_exact</code> (entry <code>median-tie</code>, which says torch deviates) sided "
            "with <strong>torch</strong>: <code>grad[x0]</code> err/tol to the exact value: backend 3.2, torch 0.") in median
    card = html[html.index('id="card-graph-dag-6-torch64-ab12cd34ef"'):]
    card = card[:card.index("</article>")]
    assert '<svg class="dag"' in card and 'class="dag-bad"' in card and "error first appears at <code>n1</code>" in card
    assert '<mark class="worst">5.0000e-01</mark>' in card  # grad[x0][0, 2]: expected 0, got 0.5
    assert '<mark class="bad">1.0000e-04</mark>' in card
    assert "2 elements out of tolerance" in card
    assert "@reproduce_failure(&#39;6.155.2&#39;, b&#39;AXicY2BkYGBgBAAAHgAG&#39;)" in card
    assert "print(&#39;mismatch&#39;)" in card and 'href="./repro/graph-dag-6-torch64-ab12cd34ef.py"' in card
    x0 = torch.tensor(CASE["leaves"][0]["values"], dtype=torch.float64).reshape(2, 3)
    assert str(x0) in card  # inputs printed as torch prints them
    # coverage: a catalogue op without cases is listed
    assert "unused_op" in html[html.index("<b>No cases:</b>"):][:400]
    assert "Margin of" in html and "Loss" in html and "Accuracy" in html and "Parameter max |error|" in html
    assert '<a href="#train-training-mlp-2x16-torch64-aa">' in html and 'id="train-training-mlp-2x16-torch64-aa"' in html
    for target in re.findall(r'href="#([^"]+)"', html):  # every in-page link lands somewhere
        assert f'id="{target}"' in html, target


def test_report_escapes_case_and_exception_text(html):
    assert html.count("<script") == 1  # only the report's own sorting script
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script>alert" not in html


def test_artefact_paths_cannot_escape_the_run_folder(tmp_path):
    (tmp_path / "secret.txt").write_text("top secret")
    run = tmp_path / "run"
    run.mkdir()
    (run / "javascript:alert(1)").write_text("x = 1")
    rec = _rec("op-exp-x", "fail", ratio=2.0, arrays_file="../secret.txt",
               repro={"command": "c", "case_file": "javascript:alert(1)", "script_file": "../secret.txt"})
    page = render_html(build_results([rec], run={}, environment=ENV, catalogue=[]), run)
    assert "top secret" not in page and "../secret.txt" not in page
    assert 'href="./javascript:alert(1)"' in page and 'href="javascript:' not in page


def test_report_is_small_self_contained_and_deterministic(run_dir, html):
    assert len(html.encode()) < 2_000_000
    assert not re.search(r'<link|src=|@import|url\((?!#)', html)
    assert not re.search(r'href="https?:', html)
    again = render_html(load_results(run_dir / "results.json"), run_dir, run_dir / "index.html")
    assert again == html


def test_clean_run_says_so_in_one_line(tmp_path):
    recs = [_rec(f"op-exp-{i}", "pass", ratio=0.01) for i in range(7)]
    doc = build_results(recs, run={"profile": "ci", "seed": 3, "backend": "minigrad"}, environment=ENV, catalogue=[])
    html = render_html(doc, tmp_path)
    assert '<div class="headline">All 7 records conform (7 checks; backend minigrad, profile ci, seed 3)</div>' in html
    assert 'id="cards"' not in html and 'id="worst-table"' not in html



def test_known_differences_alone_get_a_neutral_banner(tmp_path):
    recs = [_rec(f"op-exp-{i}", "pass", ratio=0.01) for i in range(5)]
    recs += [_rec(f"op-sqrt-kd{i}", "known_difference", subject="sqrt", ratio=1e6,
                  known_difference={"id": "sqrt-at-zero", "reason": "r", "evidence": "e"}) for i in range(2)]
    doc = build_results(recs, run={"profile": "ci", "seed": 3, "backend": "minigrad"}, environment=ENV, catalogue=[])
    html = render_html(doc, tmp_path)
    assert ('<div class="headline">All 7 records conform, 2 of them by a documented known difference '
            "(7 checks; backend minigrad, profile ci)</div>") in html
    assert "need attention" not in html
    css = re.search(r"\.verdict\.known_difference \{ background: var\(--(\w+)\); \}", html)
    assert css is not None and css.group(1) == "neutral"


# ---------------------------------------------------------------------------------------------- main(argv)
def test_main_rerenders_without_rerunning(run_dir, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "re.html"
    assert main([str(run_dir / "results.json"), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "dag-6" in text and "print(&#39;mismatch&#39;)" in text
    link = Path(os.path.relpath(run_dir / "repro" / "graph-dag-6-torch64-ab12cd34ef.py", out.parent)).as_posix()
    assert link.startswith("../") and f'href="{link}"' in text  # links point back into the run folder
    assert str(out.resolve()) in capsys.readouterr().out


def test_main_reports_bad_input(tmp_path, capsys):
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"schema_version": 99, "run": {}, "records": []}))
    assert main([str(bad)]) == 2
    assert "schema_version 99 is not supported" in capsys.readouterr().err
    assert main(["--compare", str(bad)]) == 2
    assert main([]) == 2


def test_compare_finds_new_failures_fixes_and_margins(tmp_path, capsys):
    old = [_rec("a", "pass", ratio=0.01), _rec("b", "fail", ratio=5.0), _rec("c", "pass", ratio=0.05),
           _rec("d", "pass", ratio=0.5), _rec("e", "pass", ratio=1e-9), _rec("gone", "pass"),
           _rec("gone-bad", "fail", ratio=9.0)]
    new = [_rec("a", "fail", ratio=3.0), _rec("b", "pass", ratio=0.2), _rec("c", "pass", ratio=0.6),
           _rec("d", "pass", ratio=0.1), _rec("e", "pass", ratio=1e-7), _rec("added", "error", worst=None)]
    po, pn = tmp_path / "old.json", tmp_path / "new.json"
    write_results(po, build_results(old, run={}, environment=ENV, catalogue=[]))
    write_results(pn, build_results(new, run={}, environment={**ENV, "torch": "2.14.0"}, catalogue=[]))
    diff = compare_results(load_results(po), load_results(pn))
    assert [e["id"] for e in diff["new_failures"]] == ["added", "a"]
    assert [e["id"] for e in diff["fixed"]] == ["b"]
    # each record shows once: a (a new failure) and b (fixed) are not listed again under margins;
    # e moved 100x but stays far below the noise floor
    assert [e["id"] for e in diff["worse"]] == ["c"]
    assert [e["id"] for e in diff["better"]] == ["d"]
    assert diff["removed"] == ["gone", "gone-bad"] and diff["added"] == ["added"]
    assert [e["id"] for e in diff["failures_not_seen"]] == ["gone-bad"]
    assert diff["env_changes"] == {"torch": ("2.13.0+cpu", "2.14.0")}
    out = tmp_path / "cmp.html"
    assert main(["--compare", str(po), str(pn), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "new failures (2)" in text and "fixed (1)" in text and "torch 2.13.0+cpu → 2.14.0" in text
    page = out.read_text(encoding="utf-8")
    assert "2 new failures" in page and "<h2>Fixed (1)</h2>" in page
    assert main(["--compare", str(po), str(pn), "--fail-on-regression"]) == 1
    assert main(["--compare", str(po), str(po), "--fail-on-regression"]) == 0
    assert "No new failures." in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- chromium
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
PROBE = """<script>
window.addEventListener("load", function () {
  var out = [], h = window.innerHeight;
  [["verdict", "#verdict"], ["worst", "#worst-table tbody tr"], ["card", "article.card"]].forEach(function (p) {
    var el = document.querySelector(p[1]), r = el && el.getBoundingClientRect();
    out.push(p[0] + "=" + (r && r.height > 0 && r.top < h ? "visible" : "hidden"));
  });
  var s = document.querySelector("#ops .scroll");
  out.push("blame=" + (s && s.scrollWidth <= s.clientWidth ? "fits" : "overflows"));
  var d = document.createElement("pre"); d.id = "probe"; d.textContent = out.join(";"); document.body.appendChild(d);
});
</script>"""


def _chromium(args: list[str], profile: Path) -> subprocess.Popen[str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--window-size=1400,2400", "--hide-scrollbars", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (apt-get install -y chromium)")
def test_report_in_headless_chromium(run_dir, tmp_path):
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "report-screenshot.png"
    shot.unlink(missing_ok=True)
    probe = run_dir / "probe.html"
    probe.write_text((run_dir / "index.html").read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    p1 = _chromium([f"--screenshot={shot}", (run_dir / "index.html").as_uri()], tmp_path / "p1")
    p2 = _chromium(["--dump-dom", probe.as_uri()], tmp_path / "p2")
    dom, _ = p2.communicate(timeout=50)
    p1.communicate(timeout=50)
    assert "9 of 3010 records need attention" in dom
    assert "Discrepancies, worst first" in dom and "dag-6" in dom
    m = re.search(r'<pre id="probe">([^<]*)</pre>', dom)
    assert m and m.group(1) == "verdict=visible;worst=visible;card=visible;blame=fits"  # at 1400 px
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2400) and len(data) > 50_000


def test_marks_handle_0d_arrays() -> None:
    """A failing 0-d gradient (a real ci-run case) must still be marked, not crash the render."""
    from conformance.report.render import _marks

    check = compare_arrays("grad[x0]", np.array(0.0), np.array(0.5), "float64", "elementwise")
    marks, n_bad = _marks(np.array(0.5), np.array(0.0), check, check["index"])
    assert n_bad == 1 and marks == {(): "worst"}
    marks, n_bad = _marks(np.array(0.5), np.array(0.5), check, [])
    assert n_bad == 0 and marks == {}


_ELEMENT = st.one_of(st.floats(-1e3, 1e3), st.sampled_from([0.0, np.nan, np.inf, -np.inf, 1e-300]))


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(st.lists(st.tuples(_ELEMENT, _ELEMENT, st.sampled_from([0.0, 1e-9, 1e-6, 1e-3, 1.0])), min_size=1,
                max_size=12),
       st.sampled_from(["float64", "float32"]), st.sampled_from(["elementwise", "reduction", "exact", "training"]),
       st.sampled_from([1.0, 3.0]), st.sampled_from([0.0, 1e3]))
def test_report_marks_exactly_the_elements_compare_fails(rows, dtype, tol_class, factor, magnitude) -> None:
    """The report marks an element iff compare.py's rule fails it: each element checked on its own (with the
    same magnitude-scaled term) decides, so a passing element is never marked and a failing one always is."""
    from conformance.report.render import _marks

    expected = np.array([b for b, _, _ in rows]).astype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        actual = (expected.astype(np.float64) + np.array([d * (1 + abs(b)) for b, _, d in rows])).astype(dtype)
    actual = np.where(np.array([isinstance(a, float) and not np.isfinite(a) for _, a, _ in rows]),
                      np.array([a for _, a, _ in rows]).astype(dtype), actual)
    check = compare_arrays("out[0]", actual, expected, dtype, tol_class, factor, magnitude)
    scale = max(magnitude, float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0)))
    failing = {(i,) for i in range(len(rows)) if not compare_arrays(
        "out[0]", actual[i:i + 1], expected[i:i + 1], dtype, tol_class, factor, scale)["ok"]}
    marks, n_bad = _marks(expected, actual, check, check["index"])
    assert set(marks) == failing and n_bad == len(failing)
    assert check["ok"] == (not failing)
    if failing:
        assert marks[tuple(check["index"])] == "worst"


def test_magnitude_scaled_tolerance_is_not_marked() -> None:
    """A reduction's absolute error is relative to what was summed: 1e-6 off a result of 0 with inputs of 1e3
    passes compare.py (atol 4e-7 + 4e-7 * 1e3), so the report must not mark it (it used to)."""
    from conformance.report.render import _marks

    check = compare_arrays("out[0]", np.array([1e-6, 1.0]), np.array([0.0, 1.0]), "float64", "reduction", 1.0, 1e3)
    assert check["ok"]
    assert _marks(np.array([0.0, 1.0]), np.array([1e-6, 1.0]), check, check["index"]) == ({}, 0)


def test_float32_card_prints_its_jacobian_as_float32() -> None:
    """The Jacobian of a float32 record holds float32 gradients: printed without ``dtype=torch.float64``."""
    from conformance import catalog
    from conformance.backends import load_backend
    from conformance.checks import check_op_case
    from conformance.ir import Case, Leaf, Node
    from conformance.planted import PlantedBackend
    from conformance.report.render import array_pairs

    x = np.array([0.5, -1.0, 2.0], dtype=np.float64)
    case = Case([Leaf("x0", x, True)], [Node(0, "exp", ["x0"], {})], ["n0"], [np.array([1.0, -0.5, 2.0])],
                {"kind": "op", "vjp": "backward", "edge_values": [], "fd_seed": 0})
    records = check_op_case(catalog.get("exp"), case, PlantedBackend("exp_sign", load_backend("minigrad")))
    (rec,) = [r for r in records if r["oracle"] == "torch32"]
    arrays = rec["_arrays"]
    arrays = arrays() if callable(arrays) else arrays  # computed lazily, when a sink writes the card
    assert arrays["jacobian[x0]"]["expected"].dtype == np.float32
    views = array_pairs(rec, {q: {k: array_to_json(v) for k, v in pair.items()} for q, pair in arrays.items()})
    (jac,) = [v for v in views if v["quantity"] == "jacobian[x0]"]
    text = " ".join(str(row["html"]) for row in jac["rows"])
    assert "float64" not in text and "tensor([[" in text


def test_compare_warns_when_runs_check_different_things(tmp_path, capsys):
    old_run = {"backend": "minigrad", "profile": "ci", "ops": None}
    new_run = {"backend": "pkg.mod:Mine", "profile": "quick", "ops": "exp,log"}
    po, pn = tmp_path / "old" / "results.json", tmp_path / "new" / "results.json"
    write_results(po, build_results([_rec("a", "pass")], run=old_run, environment=ENV, catalogue=[]))
    write_results(pn, build_results([_rec("a", "pass")], run=new_run, environment=ENV, catalogue=[]))
    warnings = compare_results(load_results(po), load_results(pn))["warnings"]
    assert [w.split(":")[0] for w in warnings] == ["the runs differ in backend", "the runs differ in profile",
                                                   "the runs differ in op filter (--ops)"]
    assert "old minigrad, new pkg.mod:Mine" in warnings[0] and "old none, new exp,log" in warnings[2]
    out = tmp_path / "cmp.html"
    assert main(["--compare", str(po), str(pn), "-o", str(out)]) == 0
    assert "warning: the runs differ in backend" in " ".join(capsys.readouterr().out.split())
    assert out.read_text().count("Warning: the runs differ") == 3
    assert compare_results(load_results(po), load_results(po))["warnings"] == []


def test_compare_page_links_ids_to_cards(tmp_path):
    old = [_rec("gone-bad", "fail", ratio=9.0), _rec("b", "fail", ratio=5.0)]
    new = [_rec("a", "fail", ratio=3.0), _rec("b", "pass", ratio=0.2)]
    po, pn = tmp_path / "old" / "results.json", tmp_path / "new" / "results.json"
    for path, recs in ((po, old), (pn, new)):
        write_results(path, build_results(recs, run={}, environment=ENV, catalogue=[]))
        assert main([str(path)]) == 0
    out = tmp_path / "cmp" / "compare.html"
    assert main(["--compare", str(po), str(pn), "-o", str(out)]) == 0
    links = dict((text, href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', out.read_text()))
    # a new failure links to its card in the new report; fixed and vanished failures to the old report's
    assert links == {"a": "../new/index.html#card-a", "b": "../old/index.html#card-b",
                     "gone-bad": "../old/index.html#card-gone-bad"}
    for text, href in links.items():
        page, anchor = href.split("#")
        assert f'id="{anchor}"' in (out.parent / page).read_text(), text


def test_a_run_filtered_with_ops_lists_no_other_op_as_without_cases(tmp_path):
    recs = [_rec("e1", "pass", subject="exp")]
    catalogue = ["exp", "expm1", "log", "sin"]
    html = render_html(build_results(recs, run={"ops": "exp*"}, environment=ENV, catalogue=catalogue))
    assert re.search(r"<b>No cases:</b> <span class=\"mono\">expm1</span>", html)
    assert "this run checked only the ops matching <code>--ops exp*</code>" in html
    assert ">log<" not in html and ">sin<" not in html
    everything = render_html(build_results(recs, run={}, environment=ENV, catalogue=catalogue))
    assert "<b>No cases:</b> <span class=\"mono\">expm1, log, sin</span>" in everything


@pytest.mark.parametrize(("backend_spec", "oracle", "verdict"), [
    ("tests.conformance.fault_backends:Faulty", "torch64", "error"),  # exp raises inside the backend
    ("conformance.planted:PlantedExpSign", "fd64", "fail"),  # exp's VJP negated, seen by finite differences
])
def test_dag_card_colours_the_first_bad_node(backend_spec, oracle, verdict):
    """Not only torch-oracle failures: a graph whose backend raises, or that finite differences fail, also
    names the first bad node, so its card colours it."""
    from conformance.backends import load_backend
    from conformance.checks import check_case
    from conformance.ir import Case

    case = Case.from_json({"version": 1, "leaves": [{"name": "x0", "shape": [2], "dtype": "float64",
                                                     "requires_grad": True, "values": [0.5, -1.0]}],
                           "nodes": [{"id": 0, "op": "tanh", "inputs": ["x0"], "attrs": {}},  # only exp faults
                                     {"id": 1, "op": "exp", "inputs": ["n0"], "attrs": {}},
                                     {"id": 2, "op": "sigmoid", "inputs": ["n1"], "attrs": {}}],
                           "outputs": ["n2"], "meta": {},
                           "cotangents": [{"dtype": "float64", "shape": [2], "values": [0.3, -0.7]}]})
    recs = check_case(case, load_backend(backend_spec), kind="graph", subject="dag-3-nodes", tol_class="graph")
    (rec,) = [r for r in recs if r["oracle"] == oracle and r["dtype"] == "float64"]
    assert rec["verdict"] == verdict and rec["first_bad_node"] == 1
    model = graph_model(rec["case"], rec["first_bad_node"])
    kinds = {it["key"]: it["kind"] for it in model["items"]}
    assert (model["bad"], kinds["n1"], kinds["n2"], kinds["n0"]) == ("n1", "bad", "downstream", "ok")
