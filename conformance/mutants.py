"""Mutation testing of the backend's source: ``python -m conformance selftest --mutants``.

A small AST mutator (no third-party runner: the suite must pick the tests per mutant, which mutmut's
trampolines cannot): each mutant changes one token span of one file of the backend package. Operators:

- ``arith``: ``+ <-> -``, ``* <-> /``, ``// -> /``, ``% -> //``, ``** -> *``, ``@ -> *``, ``& <-> |`` ...
  (also in augmented assignments ``+=`` ...);
- ``compare``: ``< <-> <=``, ``> <-> >=``, ``== <-> !=``, ``is <-> is not``, ``in <-> not in``;
- ``drop-unary``: ``-x -> x``, ``not x -> x``, ``~x -> x``;
- ``constant``: ``0 <-> 1``, ``n -> n+1``, ``0.0 -> 1.0``, ``x -> 2x`` (floats), ``True <-> False``;
- ``keyword-flag``: ``f(..., keepdims=True) -> keepdims=False`` (and boolean parameter defaults);
- ``swap-args``: the first two positional arguments of a call swapped;
- ``return-none``: ``return x -> return None``; ``early-return``: a procedure returns before its body;
- ``boolop``: ``and <-> or``.

Docstrings, annotations, ``__repr__``-style code and ``if TYPE_CHECKING`` blocks are not mutated.

Each mutant runs in a fresh subprocess with ``PYTHONPATH`` pointing first at a temporary copy of the
package in which the one file is replaced, and runs (``pytest -x``, derandomised profile, no shrinking) only
the suite tests that executed the mutated line. Which tests those are comes from a one-off coverage.py run of
the suite with one dynamic context per test, cached on disk under the hash of the sources. A mutant no test
reaches is "not reached" (a survivor). Equivalent mutants are judged by a person and listed in
``conformance/equivalent_mutants.json``; they are never excluded automatically.
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = Path(__file__).resolve().parent / "equivalent_mutants.json"
CACHE_DIR = ROOT / "reports" / ".mutants-cache"

#: the files of minigrad that are mutated by default (globs relative to the package directory)
DEFAULT_FILES = ("ops/*.py", "autograd/*.py", "nn/*.py", "nn/**/*.py", "optim/*.py", "utils/*.py",
                 "creation.py", "serialization.py", "tensor.py", "_dtype.py")

#: functions whose body only formats text for people
SKIPPED_FUNCTIONS = frozenset({"__repr__", "__str__", "__format__", "extra_repr"})
#: calls whose first two arguments, swapped, can only raise a TypeError (no information)
NO_SWAP_CALLS = frozenset({"isinstance", "issubclass", "getattr", "setattr", "hasattr", "super"})

BINOP_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.MatMult: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitOr, ast.LShift: ast.RShift, ast.RShift: ast.LShift,
}
BINOP_TOKENS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
}
COMPARE_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}
COMPARE_TOKENS: dict[type, str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
    ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
#: how each token is found in the text between two operands (longer tokens must not match a shorter one)
_TOKEN_RE = {tok: re.compile(r"\s+".join(re.escape(w) for w in tok.split())) for tok in
             [*BINOP_TOKENS.values(), *COMPARE_TOKENS.values(), "and", "or"]}
_SIMPLE_EXPR = (ast.Name, ast.Attribute, ast.Call, ast.Constant, ast.Subscript, ast.List, ast.Tuple, ast.Dict)
_COMPOUND_STMT = (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.FunctionDef, ast.ClassDef, ast.AsyncFor,
                  ast.AsyncWith, ast.AsyncFunctionDef, ast.Match)

# --------------------------------------------------------------------------------------------------------
# mutants


@dataclass(frozen=True)
class Mutant:
    """One change of one span of one file. Positions are 1-based lines and 0-based character columns."""

    file: str  # relative to the package's parent directory, e.g. "minigrad/ops/elementwise.py"
    line: int
    col: int
    end_line: int
    end_col: int
    operator: str
    original: str
    mutated: str
    scope: str  # qualified name of the enclosing function or class ("<module>" at top level)
    reach: tuple[int, ...]  # lines whose tests can observe the mutant (see ``_reach_lines``)
    id: str = ""

    def apply(self, source: str) -> str:
        """``source`` with the span replaced."""
        lines = source.splitlines(keepends=True)
        start = sum(len(x) for x in lines[:self.line - 1]) + self.col
        end = sum(len(x) for x in lines[:self.end_line - 1]) + self.end_col
        if source[start:end] != self.original:
            raise ValueError(f"mutant {self.id}: {self.file}:{self.line} no longer reads {self.original!r}")
        return source[:start] + self.mutated + source[end:]

    def diff(self, source: str) -> str:
        """Unified diff (3 lines of context) of the mutant against ``source``."""
        return "".join(difflib.unified_diff(source.splitlines(keepends=True), self.apply(source).splitlines(
            keepends=True), f"a/{self.file}", f"b/{self.file}", n=2))

    def describe(self) -> str:
        return f"{self.file}:{self.line}:{self.col} {self.operator} {self.original!r} -> {self.mutated!r}"


class _Positions:
    """Converts ast's (line, UTF-8 byte column) positions to character columns and cuts text."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self._offsets = [0]
        for text in self.lines:
            self._offsets.append(self._offsets[-1] + len(text))

    def char_col(self, line: int, byte_col: int) -> int:
        return len(self.lines[line - 1].encode()[:byte_col].decode(errors="replace"))

    def start(self, node: ast.AST) -> tuple[int, int]:
        return node.lineno, self.char_col(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> tuple[int, int]:
        return node.end_lineno, self.char_col(node.end_lineno, node.end_col_offset)

    def index(self, pos: tuple[int, int]) -> int:
        return self._offsets[pos[0] - 1] + pos[1]

    def position(self, index: int) -> tuple[int, int]:
        line = max(i for i, off in enumerate(self._offsets) if off <= index) + 1
        line = min(line, len(self.lines))
        return line, index - self._offsets[line - 1]

    def text(self, a: tuple[int, int], b: tuple[int, int]) -> str:
        return self.source[self.index(a):self.index(b)]


def _strip_comments(gap: str) -> str:
    """Blank out ``#`` comments (keeping offsets) in the text between two operands."""
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), gap)


class _Collector(ast.NodeVisitor):
    """Walks one module and proposes raw mutants (span, operator, replacement)."""

    def __init__(self, source: str) -> None:
        self.pos = _Positions(source)
        self.found: list[tuple[tuple[int, int], tuple[int, int], str, str, ast.AST]] = []
        self.skip: set[int] = set()  # ids of nodes (docstrings, bool keyword values) handled elsewhere

    # --- helpers
    def add(self, a: tuple[int, int], b: tuple[int, int], operator: str, replacement: str, node: ast.AST) -> None:
        self.found.append((a, b, operator, replacement, node))

    def token_between(self, left: ast.AST, right: ast.AST, token: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """Span of ``token`` between the end of ``left`` and the start of ``right`` (outside comments)."""
        a, b = self.pos.end(left), self.pos.start(right)
        gap = _strip_comments(self.pos.text(a, b))
        m = _TOKEN_RE[token].search(gap.lstrip(" \t\n\\)"))
        if m is None:
            return None
        offset = len(gap) - len(gap.lstrip(" \t\n\\)"))
        start = self.pos.index(a) + offset + m.start()
        if m.start() != 0:  # something other than closing brackets precedes the operator: do not guess
            return None
        return self.pos.position(start), self.pos.position(start + m.end() - m.start())

    def segment(self, node: ast.AST) -> str:
        return self.pos.text(self.pos.start(node), self.pos.end(node))

    # --- scopes that are not mutated
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in SKIPPED_FUNCTIONS:
            return
        self._skip_docstring(node.body)
        for d in node.decorator_list:
            self.visit(d)
        self._visit_arguments(node.args)
        self._early_return(node)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._skip_docstring(node.body)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Module(self, node: ast.Module) -> None:
        self._skip_docstring(node.body)
        for stmt in node.body:
            self.visit(stmt)

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name | ast.Attribute) and self.segment(node.test).endswith("TYPE_CHECKING"):
            return
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if id(node) not in self.skip:
            self.generic_visit(node)

    def _skip_docstring(self, body: list[ast.stmt]) -> None:
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            self.skip.add(id(body[0]))

    def _visit_arguments(self, args: ast.arguments) -> None:
        """Defaults only (annotations are skipped); a boolean default is a flag."""
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        for _, default in pairs:
            if isinstance(default, ast.Constant) and isinstance(default.value, bool):
                self.add(self.pos.start(default), self.pos.end(default), "keyword-flag", str(not default.value), default)
            else:
                self.visit(default)

    def _early_return(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """``return`` before the body of a function that returns nothing (a procedure: checks, updates)."""
        body = [s for s in node.body if id(s) not in self.skip]
        if not body or isinstance(body[0], ast.Return | ast.Pass | ast.Raise):
            return
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):  # `...`
            return
        for sub in ast.walk(node):
            if isinstance(sub, ast.Yield | ast.YieldFrom) or (isinstance(sub, ast.Return) and sub.value is not None):
                return
        first = body[0]
        a = self.pos.start(first)
        indent = " " * a[1]
        insert = "return\n" + indent if isinstance(first, _COMPOUND_STMT) else "return; "
        self.add(a, a, "early-return", insert, first)

    # --- operators
    def visit_BinOp(self, node: ast.BinOp) -> None:
        strings = (ast.JoinedStr,)
        is_text = any(isinstance(x, strings) or isinstance(x, ast.Constant) and isinstance(x.value, str | bytes)
                      for x in (node.left, node.right))
        new = BINOP_SWAPS.get(type(node.op))
        if new is not None and not is_text:
            span = self.token_between(node.left, node.right, BINOP_TOKENS[type(node.op)])
            if span:
                self.add(*span, "arith", BINOP_TOKENS[new], node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        new = BINOP_SWAPS.get(type(node.op))
        is_text = isinstance(node.value, ast.JoinedStr) or isinstance(node.value, ast.Constant) and isinstance(
            node.value.value, str | bytes)
        if new is not None and not is_text:
            tok = BINOP_TOKENS[type(node.op)]
            a, b = self.pos.end(node.target), self.pos.start(node.value)
            gap = _strip_comments(self.pos.text(a, b))
            k = gap.find(tok + "=")
            if k >= 0 and not gap[:k].strip(" \t)"):
                start = self.pos.index(a) + k
                self.add(self.pos.position(start), self.pos.position(start + len(tok) + 1), "arith",
                         BINOP_TOKENS[new] + "=", node)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            new = COMPARE_SWAPS.get(type(op))
            span = self.token_between(left, right, COMPARE_TOKENS[type(op)]) if new else None
            if span:
                self.add(*span, "compare", COMPARE_TOKENS[new], node)
            left = right
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        tok, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        for left, right in zip(node.values, node.values[1:]):
            span = self.token_between(left, right, tok)
            if span:
                self.add(*span, "boolop", new, node)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.USub | ast.Not | ast.Invert):
            inner = self.segment(node.operand)
            if not isinstance(node.operand, _SIMPLE_EXPR):
                inner = f"({inner})"
            self.add(self.pos.start(node), self.pos.end(node), "drop-unary", inner, node)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool):
            new = str(not v)
        elif isinstance(v, int):
            new = {0: "1", 1: "0"}.get(v, str(v + 1))
        elif isinstance(v, float):
            new = "1.0" if v == 0 else repr(v * 2)
        else:
            return
        op = "keyword-flag" if id(node) in self.skip else "constant"
        self.add(self.pos.start(node), self.pos.end(node), op, new, node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, bool):
            self.skip.add(id(node.value))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        args = node.args
        if len(args) >= 2 and not any(isinstance(a, ast.Starred) for a in args[:2]) and name not in NO_SWAP_CALLS:
            first, second = self.segment(args[0]), self.segment(args[1])
            if first != second:
                a, b = self.pos.start(args[0]), self.pos.end(args[1])
                middle = self.pos.text(self.pos.end(args[0]), self.pos.start(args[1]))
                if "#" not in middle:
                    self.add(a, b, "swap-args", second + middle + first, node)
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self.add(self.pos.start(node.value), self.pos.end(node.value), "return-none", "None", node)
        self.generic_visit(node)

    # lambdas: their defaults and bodies are code like any other; annotations inside them do not exist


def _scopes(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """(qualified name, node) of every function and class, outermost first."""
    out: list[tuple[str, ast.AST]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                out.append((name, child))
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return out


def _reach_lines(line: int, end_line: int, scopes: list[tuple[str, ast.AST]], n_lines: int) -> tuple[str, tuple[int, ...]]:
    """The enclosing scope's name and the lines whose tests can observe a change at ``line..end_line``.

    Inside a function body: the changed lines themselves. In a function's header (defaults, decorators): the
    function's body (defaults run at import time, outside any test, but act when the body runs). At class or
    module level: every line of the class or module (its constants act wherever its code runs)."""
    enclosing = [(name, n) for name, n in scopes if n.lineno <= line and end_line <= n.end_lineno]
    if not enclosing:
        return "<module>", tuple(range(1, n_lines + 1))
    name, node = enclosing[-1]
    if isinstance(node, ast.ClassDef):
        return name, tuple(range(node.lineno, node.end_lineno + 1))
    body_start = node.body[0].lineno
    if line >= body_start:
        return name, tuple(range(line, end_line + 1))
    return name, tuple(range(body_start, node.end_lineno + 1))


def mutants_of_source(source: str, file: str, check_parse: bool = True) -> list[Mutant]:
    """Every mutant of one module's source (``file`` names it in ids and diffs). Each one parses (checking
    that takes most of the time; ``check_parse=False`` skips it and may return a few that do not)."""
    tree = ast.parse(source)
    col = _Collector(source)
    col.visit(tree)
    scopes = _scopes(tree)
    n_lines = len(col.pos.lines)
    seen: dict[tuple[str, ...], int] = {}
    out = []
    for a, b, operator, replacement, _node in sorted(col.found, key=lambda f: (f[0], f[1], f[2], f[3])):
        original = col.pos.text(a, b)
        if original == replacement:
            continue
        scope, reach = _reach_lines(a[0], b[0], scopes, n_lines)
        m = Mutant(file, a[0], a[1], b[0], b[1], operator, original, replacement, scope, reach)
        try:
            if check_parse:
                ast.parse(m.apply(source))
        except SyntaxError:
            continue
        # the id survives edits elsewhere in the file: it names the scope and the changed line's text, not
        # line numbers; identical changes on identical lines in one scope are told apart by their order
        key = (file, scope, operator, original, replacement, col.pos.lines[a[0] - 1].strip())
        seen[key] = seen.get(key, 0) + 1
        digest = hashlib.sha1(json.dumps([*key, seen[key]]).encode()).hexdigest()[:12]
        out.append(Mutant(**{**asdict(m), "reach": reach, "id": digest}))
    return out


def _mutator_source() -> str:
    """The text of this module up to the test selection: what decides which mutants exist."""
    text = Path(__file__).read_text()
    return text[:text.index("# which tests reach which line")]


def package_files(package_dir: Path, patterns: Sequence[str] = DEFAULT_FILES) -> list[Path]:
    """Python files of the package matching any of the globs (relative to the package directory)."""
    files = sorted(p for p in package_dir.rglob("*.py")
                   if any(fnmatch.fnmatch(p.relative_to(package_dir).as_posix(), g) for g in patterns))
    return files


def collect(package_dir: Path, patterns: Sequence[str] = DEFAULT_FILES, cache_dir: Path | None = None) -> list[Mutant]:
    """All mutants of the package's selected files, in file and position order (cached per file content
    in ``cache_dir`` when given: checking that every mutant parses takes a while)."""
    out: list[Mutant] = []
    for path in package_files(package_dir, patterns):
        rel = path.relative_to(package_dir.parent).as_posix()
        source = path.read_text()
        cache = None
        if cache_dir is not None:
            digest = hashlib.sha1(f"{rel}\n{source}\n{_mutator_source()}".encode()).hexdigest()[:16]
            cache = cache_dir / "mutants" / f"{digest}.json"
            if cache.exists():
                out += [Mutant(**{**d, "reach": tuple(d["reach"])}) for d in json.loads(cache.read_text())]
                continue
        found = mutants_of_source(source, rel)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps([asdict(m) for m in found]))
        out += found
    return out


def outside_coverage_gaps(mutants: Sequence[Mutant], package: str) -> tuple[list[Mutant], int]:
    """The mutants outside the functions and files ``coverage_gaps.json`` lists for ``package`` (printing, CUDA:
    what the suite does not compare with torch by design, each with its reason there), and how many were left
    out. One list decides both what coverage excuses and what mutation testing does not sample."""
    from .branch_coverage import load_policy

    gaps = load_policy(package)["gaps"]

    def in_gap(m: Mutant) -> bool:
        return any(g.get("file") == m.file and ("function" not in g or g["function"] == m.scope
                                                or m.scope.startswith(g["function"] + "."))
                   for g in gaps)

    kept = [m for m in mutants if not in_gap(m)]
    return kept, len(mutants) - len(kept)


def sample(mutants: Sequence[Mutant], n: int | None, seed: int) -> list[Mutant]:
    """``n`` mutants (all when ``n`` is None), in file and position order: those whose ``sha1(seed, id)`` is
    smallest (bottom-k sampling). Every mutant's rank depends only on the seed and its own id, so editing
    the code elsewhere keeps the sample: a mutant leaves it only when its line changes, or when a new
    mutant ranks before it. A survivor killed by a fix is still in the next run's sample."""
    def rank(m: Mutant) -> str:
        return hashlib.sha1(f"{seed}:{m.id}".encode()).hexdigest()

    pool = sorted(mutants, key=rank)
    if n is not None:
        pool = pool[:n]
    return sorted(pool, key=lambda m: (m.file, m.line, m.col, m.operator, m.mutated))


# --------------------------------------------------------------------------------------------------------
# which tests reach which line


@dataclass
class LineMap:
    """For each file of the package (relative path) and line: the suite tests that executed it."""

    lines: dict[str, dict[int, list[str]]]
    durations: dict[str, float]  # nodeid -> seconds (measured under coverage, so an upper bound)
    outcomes: dict[str, str]  # nodeid -> passed / failed / skipped on the unmutated source
    key: str = ""
    seconds: float = 0.0
    #: lines executed while importing (outside any test): a function called there, e.g. a factory whose
    #: product is used everywhere, affects every test that runs code of its file
    import_lines: dict[str, list[int]] = field(default_factory=dict)

    def tests_for(self, mutant: Mutant) -> list[str]:
        """Passing tests that executed any of the mutant's reach lines, fastest first."""
        by_line = self.lines.get(mutant.file, {})
        reach: Iterable[int] = mutant.reach
        if set(reach) & set(self.import_lines.get(mutant.file, ())):
            reach = by_line
        tests = {t for line in reach for t in by_line.get(line, ())}
        tests = {t for t in tests if self.outcomes.get(t) == "passed"}
        return sorted(tests, key=lambda t: (self.durations.get(t, 0.0), t))

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "seconds": self.seconds, "durations": self.durations, "outcomes": self.outcomes,
                "import_lines": self.import_lines,
                "lines": {f: {str(k): v for k, v in ls.items()} for f, ls in self.lines.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LineMap:
        return cls({f: {int(k): v for k, v in ls.items()} for f, ls in data["lines"].items()}, data["durations"],
                   data["outcomes"], data.get("key", ""), data.get("seconds", 0.0), data.get("import_lines", {}))


LINE_MAP_VERSION = 2  # bump when the cached map's content changes


def _tree_hash(paths: Iterable[Path], extra: str) -> str:
    h = hashlib.sha1(extra.encode())
    for p in sorted(paths):
        h.update(p.as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class Config:
    """What a mutation run does; recorded in mutants.json."""

    package: str = "minigrad"
    files: tuple[str, ...] = DEFAULT_FILES
    sample: int | None = None
    seed: int = 0
    workers: int = 1
    profile: str = "ci"
    max_examples: int | None = None  # ``--max-examples`` of ``run``: the op budget (others scale)
    tests: tuple[str, ...] = ("conformance/suite",)  # pytest paths or nodeids whose tests may kill mutants
    rootdir: str = str(ROOT)  # pytest's rootdir and working directory
    #: imported once before forking a child per mutant (``conformance.suite.*``: every test module of the suite)
    preload: tuple[str, ...] = ("numpy", "torch", "hypothesis", "pytest", "conformance.suite.*")
    timeout_factor: float = 5.0
    timeout_floor: float = 60.0
    equivalent_file: str = str(EQUIVALENT_FILE)
    cache_dir: str = str(CACHE_DIR)

    @property
    def package_dir(self) -> Path:
        import importlib.util

        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"selftest --mutants: package {self.package!r} not found")
        return Path(list(spec.submodule_search_locations)[0]).resolve()


def _env(config: Config, pythonpath: Sequence[Path]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath), "CONFORMANCE_PROFILE": config.profile,
                "CONFORMANCE_MUTANTS_PACKAGE": config.package, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    for k in ("CONFORMANCE_OPS", "CONFORMANCE_MUTANTS_COVERAGE", "CONFORMANCE_BACKEND", "COVERAGE_PROCESS_START"):
        env.pop(k, None)
    if config.max_examples is not None:
        env["CONFORMANCE_MAX_EXAMPLES"] = str(config.max_examples)
    else:
        env.pop("CONFORMANCE_MAX_EXAMPLES", None)
    return env


def _pytest_command(config: Config, tests: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "conformance.mutants_plugin", "-p", "no:cacheprovider",
            "-q", "-rfE", "-o", "console_output_style=classic", "--rootdir", config.rootdir, *extra, *tests]


def line_map(config: Config, log: Any = print) -> LineMap:
    """The line -> tests map, from the cache or from one run of the suite under coverage (``-n`` workers)."""
    pkg = config.package_dir
    # what decides which tests exist and what they execute (not this tool, the CLI or the report)
    suite_sources = [p for p in (ROOT / "conformance").rglob("*.py") if not p.name.startswith(("mutants", "cli"))
                     and p.parent.name != "report" and p.name not in ("bench.py", "planted.py", "coverage.py")]
    key = _tree_hash([*pkg.rglob("*.py"), *suite_sources],
                     json.dumps([LINE_MAP_VERSION, config.package, config.profile, config.max_examples, config.tests]))
    cache = Path(config.cache_dir) / f"linemap-{config.package}-{key}.json"
    if cache.exists():
        return LineMap.from_json(json.loads(cache.read_text()))
    log(f"mutants: mapping lines to tests ({' '.join(config.tests)}, profile {config.profile}, max-examples "
        f"{config.max_examples or 'default'}) under coverage; cached in {cache}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutants-cov-") as tmp:
        env = _env(config, [pkg.parent, ROOT])
        env["CONFORMANCE_MUTANTS_COVERAGE"] = tmp
        extra = ["-n", str(config.workers)] if config.workers > 1 else []
        proc = subprocess.run(_pytest_command(config, config.tests, extra), cwd=config.rootdir, env=env,
                              capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"mutants: the coverage run of {' '.join(config.tests)} failed (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        import coverage

        cov = coverage.Coverage(data_file=str(Path(tmp) / ".coverage"), config_file=False)
        cov.combine([tmp], keep=True)
        data = cov.get_data()
        lines: dict[str, dict[int, list[str]]] = {}
        import_lines: dict[str, list[int]] = {}
        for measured in data.measured_files():
            path = Path(measured).resolve()
            if pkg not in path.parents:
                continue
            rel = path.relative_to(pkg.parent).as_posix()
            by_line = {line: sorted(c for c in ctxs if c) for line, ctxs in data.contexts_by_lineno(measured).items()}
            lines[rel] = {line: ctxs for line, ctxs in by_line.items() if ctxs}
            import_lines[rel] = sorted(line for line, ctxs in data.contexts_by_lineno(measured).items() if "" in ctxs)
        durations: dict[str, float] = {}
        outcomes: dict[str, str] = {}
        for f in Path(tmp).glob("tests-*.json"):
            d = json.loads(f.read_text())
            for t, s in d["durations"].items():
                durations[t] = max(durations.get(t, 0.0), s)
            for t, o in d["outcomes"].items():
                outcomes[t] = "failed" if "failed" in (o, outcomes.get(t)) else o
    result = LineMap(lines, durations, outcomes, key, time.perf_counter() - t0, import_lines)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result.to_json()))
    failed = sorted(t for t, o in outcomes.items() if o == "failed")
    if failed:
        log(f"mutants: {len(failed)} tests fail on the unmutated source and are not used: {failed[:5]}")
    return result


# --------------------------------------------------------------------------------------------------------
# running mutants


@dataclass
class Outcome:
    """A mutant's verdict (killed / survived / not-reached / equivalent / error) and evidence."""

    mutant: Mutant
    verdict: str
    detail: str = ""  # killed: "failed" / "timeout" / "crash"; survived: "" ; error: the message
    tests: list[str] = field(default_factory=list)  # the tests selected
    killed_by: str = ""
    duration: float = 0.0
    diff: str = ""
    reason: str = ""  # for equivalent mutants: the person's reason
    output: str = ""  # tail of pytest's output when killed or on error

    def to_json(self) -> dict[str, Any]:
        m = self.mutant
        return {"id": m.id, "file": m.file, "line": m.line, "col": m.col, "operator": m.operator,
                "original": m.original, "mutated": m.mutated, "scope": m.scope, "verdict": self.verdict,
                "detail": self.detail, "killed_by": self.killed_by, "tests": self.tests, "n_tests": len(self.tests),
                "duration": round(self.duration, 2), "diff": self.diff, "reason": self.reason,
                "output": self.output}


def load_equivalent(path: str | Path = EQUIVALENT_FILE) -> dict[str, dict[str, Any]]:
    """Mutants judged equivalent by a person: id -> entry (file, line, diff, reason)."""
    p = Path(path)
    if not p.exists():
        return {}
    entries = json.loads(p.read_text())["mutants"]
    for e in entries:
        if not e.get("reason", "").strip():
            raise ValueError(f"{p}: equivalent mutant {e.get('id')} has no reason")
    return {e["id"]: e for e in entries}


_FAILED_RE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def preload(config: Config) -> None:
    """Import torch, hypothesis, pytest and the suite's modules once, before forking a child per mutant.

    Each child starts from this clean state (the backend package is never imported here), so a mutant costs
    its tests, not the seconds of importing torch. The suite's modules must not import the backend at import
    time; if one does, this raises instead of silently testing the unmutated package."""
    os.environ.update(_env(config, [ROOT]))
    for name in config.preload:
        if name == "conformance.suite.*":
            for path in sorted((ROOT / "conformance" / "suite").glob("test_*.py")):
                __import__(f"conformance.suite.{path.stem}")
        else:
            __import__(name)
    if config.package in sys.modules:
        raise RuntimeError(f"selftest --mutants: importing the suite imported {config.package}; the suite's "
                           "modules must import the backend only through the backend fixture")


@dataclass
class _Job:
    mutant: Mutant
    tests: list[str]
    timeout: float
    diff: str
    tmp: Path
    pid: int = 0
    started: float = 0.0


def _child(job: _Job, config: Config) -> int:
    """In the forked child: import the mutated package from the temporary copy, then run pytest on it."""
    import importlib

    import pytest

    sys.path.insert(0, str(job.tmp))
    os.chdir(config.rootdir)
    try:
        mod = importlib.import_module(config.package)
    except BaseException as exc:  # noqa: BLE001 - a mutant that breaks the import is killed by any user
        print(f"IMPORT ERROR {type(exc).__name__}: {exc}")
        return 2
    if not str(mod.__file__).startswith(str(job.tmp)):
        print(f"mutants: {config.package} was imported from {mod.__file__}, not the mutated copy")
        return 3
    return int(pytest.main(_pytest_command(config, job.tests, ["-x"])[3:]))


def _start(job: _Job, config: Config, source: str) -> None:
    pkg = config.package_dir
    shutil.copytree(pkg, job.tmp / pkg.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (job.tmp / job.mutant.file).write_text(job.mutant.apply(source))
    sys.stdout.flush()
    sys.stderr.flush()
    job.started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        code = 3
        try:
            fd = os.open(job.tmp / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            # the parent's sys.stdout may be a capture object (pytest) rather than fd 1
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            code = _child(job, config)
        except BaseException:  # noqa: BLE001 - report anything, then leave without running parent cleanup
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    job.pid = pid


def _finish(job: _Job, status: int | None) -> Outcome:
    """The outcome from the child's exit status (None: it timed out and was killed)."""
    dt = time.perf_counter() - job.started
    out_file = job.tmp / "output.txt"
    out = out_file.read_text(errors="replace") if out_file.exists() else ""
    shutil.rmtree(job.tmp, ignore_errors=True)
    tail = out[-4000:]
    if status is None:
        return Outcome(job.mutant, "killed", "timeout", job.tests, "", dt, job.diff,
                       output=f"no result within {job.timeout:.0f}s\n" + tail)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return Outcome(job.mutant, "survived", "", job.tests, "", dt, job.diff)
    if code in (1, 2):  # a test failed, or the package no longer imports / collection failed
        m = _FAILED_RE.search(out)
        return Outcome(job.mutant, "killed", "failed" if code == 1 else "crash", job.tests,
                       m.group(1) if m else "", dt, job.diff, output=tail)
    if code < 0:  # killed by a signal (e.g. a segfault in NumPy on absurd arguments): observable
        return Outcome(job.mutant, "killed", f"signal {-code}", job.tests, "", dt, job.diff, output=tail)
    return Outcome(job.mutant, "error", f"pytest exit {code}", job.tests, "", dt, job.diff, output=tail)


def run_mutants(mutants: Sequence[Mutant], config: Config, lmap: LineMap,
                equivalent: dict[str, dict[str, Any]], progress: Any = None) -> list[Outcome]:
    """Every mutant's outcome, in the order of ``mutants``; ``config.workers`` children at a time.

    A mutant runs in a child forked from this process after :func:`preload`, against a temporary copy of
    the package with the one file replaced, with a timeout of ``timeout_factor`` x the selected tests'
    baseline (a timeout kills the mutant)."""
    import signal

    pkg = config.package_dir
    sources = {m.file: (pkg.parent / m.file).read_text() for m in mutants}
    results: dict[str, Outcome] = {}
    pending: list[_Job] = []

    def done(o: Outcome) -> None:
        results[o.mutant.id] = o
        if progress is not None:
            progress(o, len(results), len(mutants))

    for m in mutants:
        tests = lmap.tests_for(m)
        diff = m.diff(sources[m.file])
        if m.id in equivalent:
            done(Outcome(m, "equivalent", "", tests, diff=diff, reason=equivalent[m.id]["reason"]))
        elif not tests:
            done(Outcome(m, "not-reached", "", [], diff=diff))
        else:
            baseline = sum(lmap.durations.get(t, 0.0) for t in tests)
            timeout = max(config.timeout_floor, config.timeout_factor * baseline)
            pending.append(_Job(m, tests, timeout, diff, Path(".")))
    if pending:
        preload(config)
    running: dict[int, _Job] = {}
    while pending or running:
        while pending and len(running) < max(1, config.workers):
            job = pending.pop(0)
            job.tmp = Path(tempfile.mkdtemp(prefix=f"mutant-{job.mutant.id}-"))
            _start(job, config, sources[job.mutant.file])
            running[job.pid] = job
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid in running:
            done(_finish(running.pop(pid), status))
            continue
        now = time.perf_counter()
        for pid, job in list(running.items()):
            if now - job.started > job.timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                done(_finish(running.pop(pid), None))
        time.sleep(0.05)
    return [results[m.id] for m in mutants]


# --------------------------------------------------------------------------------------------------------
# reports

VERDICTS = ("killed", "survived", "not-reached", "equivalent", "error")


def summarise(outcomes: Sequence[Outcome], config: Config, seconds: float, n_total: int, lmap: LineMap) -> dict[str, Any]:
    """The machine-readable document (``mutants.json``)."""
    counts = {v: sum(o.verdict == v for o in outcomes) for v in VERDICTS}
    judged = len(outcomes) - counts["equivalent"]
    cfg = {**asdict(config), "files": list(config.files), "tests": list(config.tests)}
    return {
        "tool": "python -m conformance selftest --mutants",
        "started": datetime.now().isoformat(timespec="seconds"),
        "config": cfg,
        "mutants_in_package": n_total,
        "sampled": len(outcomes),
        "counts": counts,
        # killed over all non-equivalent mutants: a mutant no test reaches counts as a survivor
        "kill_rate": round(counts["killed"] / judged, 4) if judged else None,
        "seconds": round(seconds, 1),
        "line_map": {"key": lmap.key, "seconds": round(lmap.seconds, 1), "tests": len(lmap.outcomes),
                     "failing_on_unmutated": sorted(t for t, o in lmap.outcomes.items() if o == "failed")},
        "mutants": [o.to_json() for o in outcomes],
    }


def render_html(doc: dict[str, Any]) -> str:
    """Self-contained HTML page (Jinja2, autoescaped, the run report's style)."""
    from .report.render import make_env

    return make_env().get_template("mutants.html.j2").render(doc=doc, VERDICTS=VERDICTS)


def print_summary(doc: dict[str, Any]) -> None:
    """Counts, then every survivor and error with its diff (rich)."""
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.table import Table

    console = Console()
    t = Table(title=f"mutants: {doc['sampled']} of {doc['mutants_in_package']} "
                    f"(seed {doc['config']['seed']}), {doc['seconds']:.0f}s")
    for v in VERDICTS:
        t.add_column(v, justify="right")
    t.add_column("kill rate", justify="right")
    rate = doc["kill_rate"]
    t.add_row(*[str(doc["counts"][v]) for v in VERDICTS], "-" if rate is None else f"{100 * rate:.1f}%")
    console.print(t)
    for verdict, title in (("survived", "survivors"), ("error", "errors"), ("not-reached", "not reached by any test")):
        rows = [m for m in doc["mutants"] if m["verdict"] == verdict]
        if not rows:
            continue
        console.rule(f"{title} ({len(rows)})")
        for m in rows:
            console.print(f"[bold]{m['file']}:{m['line']}[/bold] {m['scope']} · {m['operator']} · id {m['id']}"
                          + (f" · {m['n_tests']} tests passed" if verdict == "survived" else ""), highlight=False)
            if verdict != "not-reached":
                console.print(Syntax("\n".join(m["diff"].splitlines()[2:]), "diff", word_wrap=True))
            else:
                console.print(f"    {m['original'][:70]!r} -> {m['mutated'][:70]!r}", highlight=False)


def main(config: Config, report_dir: str | None = None) -> int:
    """``selftest --mutants``: exit 1 if any non-equivalent mutant survives (or is not reached), 0 otherwise."""
    t0 = time.perf_counter()
    cache = Path(config.cache_dir)
    everything, in_gaps = outside_coverage_gaps(collect(config.package_dir, config.files, cache), config.package)
    chosen = sample(everything, config.sample, config.seed)
    equivalent = load_equivalent(config.equivalent_file)
    print(f"mutants: {len(chosen)} of {len(everything)} mutants of {config.package} ({', '.join(config.files)}); "
          f"{in_gaps} more lie in code listed in coverage_gaps.json (never compared with torch by design)")
    lmap = line_map(config)
    run_dir = Path(report_dir) if report_dir else ROOT / "reports" / f"mutants-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir.mkdir(parents=True, exist_ok=True)
    log = (run_dir / "progress.jsonl").open("w")

    def progress(o: Outcome, i: int, n: int) -> None:
        log.write(json.dumps(o.to_json()) + "\n")
        log.flush()
        if o.verdict in ("survived", "error") or i % 10 == 0 or i == n:
            print(f"  [{i}/{n}] {o.verdict:11} {o.detail:8} {o.mutant.describe()} ({o.duration:.0f}s, "
                  f"{len(o.tests)} tests)", flush=True)

    outcomes = run_mutants(chosen, config, lmap, equivalent, progress)
    log.close()
    doc = summarise(outcomes, config, time.perf_counter() - t0, len(everything), lmap)
    (run_dir / "mutants.json").write_text(json.dumps(doc, indent=1))
    (run_dir / "mutants.html").write_text(render_html(doc))
    print_summary(doc)
    print(f"mutants: {run_dir / 'mutants.html'}")
    return 1 if doc["counts"]["survived"] or doc["counts"]["not-reached"] or doc["counts"]["error"] else 0
