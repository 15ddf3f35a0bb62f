"""selftest --mutants: the mutator's operators, stable ids, deterministic sampling, and one end-to-end run."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conformance import mutants
from conformance.mutants import Config, collect, line_map, mutants_of_source, run_mutants, sample


def mutated(source: str, operator: str | None = None) -> set[str]:
    """Every mutated version of a snippet (optionally of one operator), each stripped."""
    src = textwrap.dedent(source)
    return {m.apply(src).strip() for m in mutants_of_source(src, "pkg/m.py") if operator in (None, m.operator)}


@pytest.mark.parametrize(("source", "operator", "expected"), [
    ("y = a + b\n", "arith", {"y = a - b"}),
    ("y = a - b\n", "arith", {"y = a + b"}),
    ("y = a * b\n", "arith", {"y = a / b"}),
    ("y = a / b\n", "arith", {"y = a * b"}),
    ("y = a // b\n", "arith", {"y = a / b"}),
    ("y = a ** b\n", "arith", {"y = a * b"}),
    ("y = (a) *  (b)  # a * b\n", "arith", {"y = (a) /  (b)  # a * b"}),
    ("y += b\n", "arith", {"y -= b"}),
    ("c = a < b\n", "compare", {"c = a <= b"}),
    ("c = a >= b\n", "compare", {"c = a > b"}),
    ("c = a == b\n", "compare", {"c = a != b"}),
    ("c = a is not None\n", "compare", {"c = a is None"}),
    ("c = a in b\n", "compare", {"c = a not in b"}),
    ("c = 0 < a <= b\n", "compare", {"c = 0 <= a <= b", "c = 0 < a < b"}),
    ("y = -x\n", "drop-unary", {"y = x"}),
    ("y = -(a + b) * c\n", "drop-unary", {"y = (a + b) * c"}),
    ("c = not a\n", "drop-unary", {"c = a"}),
    ("y = f(0, 1, 5)\n", "constant", {"y = f(1, 1, 5)", "y = f(0, 0, 5)", "y = f(0, 1, 6)"}),
    ("y = 1.0 + 0.0\n", "constant", {"y = 2.0 + 0.0", "y = 1.0 + 1.0"}),
    ("y = True\n", "constant", {"y = False"}),
    ("y = x.sum(axis=0, keepdims=True)\n", "keyword-flag", {"y = x.sum(axis=0, keepdims=False)"}),
    ("def f(x, keepdim=False):\n    return x\n", "keyword-flag", {"def f(x, keepdim=True):\n    return x"}),
    ("y = f(a, b, c)\n", "swap-args", {"y = f(b, a, c)"}),
    ("y = isinstance(a, b)\n", "swap-args", set()),
    ("def f(x):\n    return x + 1\n", "return-none", {"def f(x):\n    return None"}),
    ("def f(x):\n    x.append(1)\n    x.append(2)\n", "early-return",
     {"def f(x):\n    return; x.append(1)\n    x.append(2)"}),
    ("def f(x):\n    if x:\n        g()\n", "early-return", {"def f(x):\n    return\n    if x:\n        g()"}),
    ("c = a and b\n", "boolop", {"c = a or b"}),
    ("c = a or b or d\n", "boolop", {"c = a and b or d", "c = a or b and d"}),
])
def test_operator_produces_the_expected_source(source: str, operator: str, expected: set[str]) -> None:
    assert mutated(source, operator) == expected


def test_text_docstrings_annotations_and_reprs_are_not_mutated() -> None:
    src = '''
    """Module docstring 1."""
    __all__ = ["f"]
    def f(x: int = 3) -> list[int]:
        """Docstring with 2 + 2."""
        s = "a" + f"{x}"
        return s
    class A:
        def __repr__(self) -> str:
            return f"A({1 + 2})"
    '''
    found = {(m.operator, m.original, m.mutated) for m in mutants_of_source(textwrap.dedent(src), "pkg/m.py")}
    assert found == {("constant", "3", "4"), ("return-none", "s", "None")}


def test_non_ascii_text_keeps_columns_right() -> None:
    src = 'def f(x):\n    msg = "é×ü"; return x * 2\n'
    assert mutated(src, "arith") == {'def f(x):\n    msg = "é×ü"; return x / 2'}


def test_ids_are_stable_and_survive_edits_elsewhere() -> None:
    src = "def f(a, b):\n    return a + b\n\ndef g(a):\n    return a - 1\n"
    first = {m.describe().split(":", 1)[1].split(" ", 1)[1]: m.id for m in mutants_of_source(src, "pkg/m.py")}
    again = {m.describe().split(":", 1)[1].split(" ", 1)[1]: m.id for m in mutants_of_source(src, "pkg/m.py")}
    assert first == again and len(set(first.values())) == len(first)
    shifted = "import os\n\n\n" + src.replace("return a + b", "c = a * b\n    return a + b + c")
    g_ids = {m.id for m in mutants_of_source(src, "pkg/m.py") if m.scope == "g"}
    assert g_ids == {m.id for m in mutants_of_source(shifted, "pkg/m.py") if m.scope == "g"}
    assert g_ids.isdisjoint({m.id for m in mutants_of_source(src, "pkg/other.py")})


def test_reach_lines_of_defaults_and_module_constants() -> None:
    src = "EPS = 1e-3\n\ndef f(x, k=2):\n    y = x\n    return y * k + EPS\n"
    by = {(m.operator, m.original): m for m in mutants_of_source(src, "pkg/m.py")}
    assert by[("constant", "2")].reach == (4, 5)  # a default acts where the body runs
    assert by[("constant", "1e-3")].reach == (1, 2, 3, 4, 5)  # a module constant: anywhere in the module
    assert by[("arith", "*")].reach == (5,)


def test_lines_run_at_import_select_every_test_of_their_file() -> None:
    src = "def make(k):\n    def f(x):\n        return x * k\n    return f\n\ndouble = make(2)\n"
    by = {(m.operator, m.original): m for m in mutants_of_source(src, "pkg/m.py")}
    lmap = mutants.LineMap({"pkg/m.py": {3: ["t::a", "t::b"]}, "pkg/n.py": {1: ["t::c"]}}, {"t::a": 2.0, "t::b": 1.0},
                           {"t::a": "passed", "t::b": "passed", "t::c": "passed"}, import_lines={"pkg/m.py": [1, 2, 4, 6]})
    assert lmap.tests_for(by[("arith", "*")]) == ["t::b", "t::a"]  # fastest first
    # `return f` runs only while importing, yet every user of `double` sees the change
    assert lmap.tests_for(by[("return-none", "f")]) == ["t::b", "t::a"]
    lmap.import_lines = {}
    assert lmap.tests_for(by[("return-none", "f")]) == []


def test_sampling_is_deterministic_for_a_seed() -> None:
    src = "".join(f"def f{i}(x):\n    return x * {i} + (x < {i})\n" for i in range(10))
    every = mutants_of_source(src, "pkg/m.py")
    a, b, c = sample(every, 20, 0), sample(every, 20, 0), sample(every, 20, 1)
    assert a == b and a != c and len(a) == 20
    assert sample(list(reversed(every)), 20, 0) == a  # independent of the order found


def test_the_sample_survives_edits_elsewhere_in_the_code() -> None:
    src = "".join(f"def f{i}(x):\n    return x * {i} + (x < {i})\n" for i in range(30))
    before = {m.id for m in sample(mutants_of_source(src, "pkg/m.py"), 40, 0)}
    edited = src + "def g(x):\n    return x - 1 if x > 2 else x // 3\n"  # a new function: new mutants
    after = {m.id for m in sample(mutants_of_source(edited, "pkg/m.py"), 40, 0)}
    new_ids = {m.id for m in mutants_of_source(edited, "pkg/m.py")} - {m.id for m in mutants_of_source(src, "pkg/m.py")}
    assert new_ids and len(before - after) == len(after & new_ids)  # only newcomers displace old members


TOY = '''
def add(a, b):
    return a + b


def is_positive(x):
    return x > 0


def clip_low(x):
    return max(x, 0)


def never_called(x):
    return x - 1
'''

TOY_TESTS = '''
from toypkg import add, clip_low, is_positive


def test_add():
    assert add(2, 3) == 5


def test_is_positive():  # never draws 0: `>` and `>=` agree on what it checks
    assert is_positive(5) and not is_positive(-5)


def test_clip_low():
    assert clip_low(-1) == 0 and clip_low(2) == 2
'''


def test_end_to_end_killed_survived_equivalent_not_reached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "toypkg").mkdir()
    (tmp_path / "toypkg" / "__init__.py").write_text(TOY)
    (tmp_path / "test_toy.py").write_text(TOY_TESTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = Config(package="toypkg", files=("__init__.py",), tests=("test_toy.py",), rootdir=str(tmp_path),
                    preload=("pytest",), cache_dir=str(tmp_path / "cache"), timeout_floor=60)
    every = collect(config.package_dir, config.files)
    pick = {m.scope: m for m in every if (m.scope, m.operator) in
            {("add", "arith"), ("is_positive", "compare"), ("clip_low", "swap-args"), ("never_called", "arith")}}
    equivalent_file = tmp_path / "equivalent.json"
    equivalent_file.write_text(json.dumps({"mutants": [
        {"id": pick["clip_low"].id, "file": "toypkg/__init__.py", "line": 11, "diff": "",
         "reason": "max is symmetric"}]}))
    lmap = line_map(config)
    assert lmap.outcomes == {f"test_toy.py::{t}": "passed" for t in ("test_add", "test_is_positive", "test_clip_low")}
    assert lmap.tests_for(pick["add"]) == ["test_toy.py::test_add"]
    outcomes = run_mutants(list(pick.values()), config, lmap, mutants.load_equivalent(equivalent_file))
    verdicts = {o.mutant.scope: (o.verdict, o.killed_by) for o in outcomes}
    assert verdicts == {"add": ("killed", "test_toy.py::test_add"), "is_positive": ("survived", ""),
                        "clip_low": ("equivalent", ""), "never_called": ("not-reached", "")}
    # the tree itself is untouched, and the report renders every verdict
    assert (tmp_path / "toypkg" / "__init__.py").read_text() == TOY
    doc = mutants.summarise(outcomes, config, 1.0, len(every), lmap)
    assert doc["counts"] == {"killed": 1, "survived": 1, "not-reached": 1, "equivalent": 1, "error": 0}
    assert doc["kill_rate"] == round(1 / 3, 4)
    html = mutants.render_html(doc)
    assert "max is symmetric" in html and "-    return x &gt; 0" in html and "+    return x &gt;= 0" in html


def test_equivalent_entries_need_a_reason(tmp_path: Path) -> None:
    f = tmp_path / "eq.json"
    f.write_text(json.dumps({"mutants": [{"id": "abc", "file": "m.py", "line": 1, "diff": "", "reason": " "}]}))
    with pytest.raises(ValueError, match="no reason"):
        mutants.load_equivalent(f)


def test_the_equivalent_file_matches_current_mutants() -> None:
    """Every entry still names a mutant of the package (a stale id would silently stop excusing anything)."""
    entries = mutants.load_equivalent()
    package_dir = Config().package_dir
    for file in sorted({e["file"] for e in entries.values()}):
        source = (package_dir.parent / file).read_text()
        ids = {m.id for m in mutants_of_source(source, file, check_parse=False)}
        stale = [i for i, e in entries.items() if e["file"] == file and i not in ids]
        assert not stale, f"equivalent_mutants.json names mutants of {file} that no longer exist: {stale}"


def test_code_listed_in_the_coverage_gaps_is_not_sampled() -> None:
    src = "def _format_tensor(x):\n    return x + 1\n\n\ndef add(a, b):\n    return a + b\n"
    every = mutants_of_source(src, "minigrad/tensor.py")
    kept, left_out = mutants.outside_coverage_gaps(every, "minigrad")  # the gaps file lists tensor._format_tensor
    assert left_out == sum(m.scope == "_format_tensor" for m in every) > 0
    assert {m.scope for m in kept} == {"add"}
