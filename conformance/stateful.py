"""The stateful API compared with torch call by call: hypothesis state machines over two libraries.

Each machine (``hypothesis.stateful.RuleBasedStateMachine``) keeps one environment per library (the backend
under test and torch) and runs every drawn action in both: the same calls on the same values. After each
action it compares, side by side, what the action returned (or the class of the exception it raised) and
every observable of the objects it tracks: values, gradients, dtypes, shapes, ``requires_grad``,
``is_leaf``, ``grad is None``, version counters, hook calls, state dicts, training flags, loaded
checkpoints and DataLoader batches. A difference fails the step with a message naming the action and what
differs; hypothesis shrinks the program and prints it (``state = ...`` lines), which is kept as the
reproducer.

Machines: ``autograd`` (in-place ops, ``x[i] = v``, version-counter errors, hooks, ``retain_grad``,
``backward``/``autograd.grad`` options, grad modes, assigning ``.grad``, clipping), ``module`` (the Module
API, ``state_dict``/``load_state_dict(strict)``, buffers, ``apply``, ``train``/``eval``, ``zero_grad``,
save/load), ``optim`` (optimisers and schedulers mid-training with ``state_dict`` round trips, directly and
through save/load, ``zero_grad``, clipping) and ``data`` (datasets, ``random_split``, DataLoader batching,
``drop_last``, ``collate_fn``; shuffled orders are compared as multisets).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from . import catalog
from .compare import compare_arrays, make_record
from .errors import compare_exceptions, normalise
from .strategies.nets import OPTIMIZERS, SCHEDULERS, optimizer_attrs
from .strategies.ops import draw_attr

REFERENCE = "torch"
#: small exact values: most results (sums, products, in-place updates) are exact in both libraries
VALUES = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)
SHAPES = ((), (3,), (2, 3))


class StatefulMismatch(AssertionError):
    """An action whose observables differ between the backend and torch."""


# ---- observing ------------------------------------------------------------------------------------------
def _exception_class(e: BaseException) -> str:
    """The builtin class an exception is (torch's ``torch.AcceleratorError`` etc. count as their base)."""
    for cls in type(e).__mro__:
        if cls.__module__ == "builtins":
            return cls.__name__
    return type(e).__name__


def _dtype_name(dt: Any) -> str:
    return str(dt).rsplit(".", 1)[-1]


def version_of(t: Any) -> int:
    """A tensor's version counter (torch: ``t._version``; minigrad: ``t._version_number``)."""
    v = getattr(t, "_version_number", None)
    return int(t._version if v is None else v)


def observe(L: Any, v: Any, grads: bool = True, versions: bool = True) -> Any:
    """``v`` as plain data: tensors become dicts of their observables (``grads``: with their ``.grad``;
    ``versions``: with their version counter)."""
    if isinstance(v, L.Tensor):
        d = v.detach()
        out: dict[str, Any] = {
            "values": np.array(d.numpy(), copy=True), "dtype": _dtype_name(v.dtype), "shape": list(v.shape),
            "requires_grad": bool(v.requires_grad), "is_leaf": bool(v.is_leaf),
            "grad_fn is None": v.grad_fn is None,
        }
        if grads and versions:  # a gradient's own version counter is an engine detail (torch's differs)
            out["version"] = version_of(v)
        if grads:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = v.grad
            out["grad"] = None if g is None else observe(L, g, grads=False)
            out["retains_grad"] = bool(v.retains_grad)
        return out
    if isinstance(v, L.dtype):
        return _dtype_name(v)
    if isinstance(v, (bool, int, float, str, type(None), np.ndarray)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {"$keys": [str(k) for k in v], **{str(k): observe(L, x, grads, versions) for k, x in v.items()}}
    if isinstance(v, (list, tuple)):
        return [observe(L, x, grads, versions) for x in v]
    return f"<{type(v).__name__}>"


class Differ:
    """Compares two observations; float arrays under the tolerance policy (checks kept for the record)."""

    def __init__(self) -> None:
        self.checks: list[dict[str, Any]] = []

    def diff(self, a: Any, b: Any, path: str, tol: str = "transcendental", factor: float = 1.0) -> str | None:
        """The first difference between the backend's ``a`` and torch's ``b`` (None when they agree)."""
        if isinstance(b, np.ndarray) or isinstance(a, np.ndarray):
            if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
                return f"{path}: {_short(a)} != torch {_short(b)}"
            # float32 tolerances even for float64 arrays: a float64 value may be computed from float32 ones
            # that legitimately differ by an ulp (exp_, sigmoid_); the machine checks state, not numerics
            kind = tol if b.dtype.kind == "f" and a.dtype == b.dtype else "exact"
            check = compare_arrays(path, a, b, "float32", kind, factor)
            self.checks.append(check)
            if not check["ok"]:
                return (f"{path}: {check.get('note') or 'values differ'} (at {check['index']}: "
                        f"{check['actual']} vs torch {check['expected']})\n  backend: {_short(a)}\n  torch:   {_short(b)}")
            return None
        if isinstance(b, dict) and isinstance(a, dict):
            if a.get("$keys") != b.get("$keys") or set(a) != set(b):
                ka, kb = a.get("$keys", sorted(a)), b.get("$keys", sorted(b))
                return f"{path}: keys {ka} != torch {kb}"
            for k in b:
                if k != "$keys":
                    msg = self.diff(a[k], b[k], f"{path}.{k}" if path else k, tol, factor)
                    if msg:
                        return msg
            return None
        if isinstance(b, list) and isinstance(a, list):
            if len(a) != len(b):
                return f"{path}: length {len(a)} != torch {len(b)}\n  backend: {_short(a)}\n  torch:   {_short(b)}"
            for i, (x, y) in enumerate(zip(a, b)):
                msg = self.diff(x, y, f"{path}[{i}]", tol, factor)
                if msg:
                    return msg
            return None
        if isinstance(a, float) and isinstance(b, float) and type(a) is type(b):
            check = compare_arrays(path, np.float64(a), np.float64(b), "float32", tol, factor)
            self.checks.append(check)
            return None if check["ok"] else f"{path}: {a!r} != torch {b!r}"
        if type(a) is not type(b) or a != b:
            return f"{path}: {_short(a)} != torch {_short(b)}"
        return None


def _short(v: Any, limit: int = 300) -> str:
    text = np.array2string(v, threshold=20) if isinstance(v, np.ndarray) else repr(v)
    return text if len(text) <= limit else text[:limit] + "..."


# ---- the twin machine ------------------------------------------------------------------------------------
class Stats:
    """What all examples of one machine exercised (actions, checks, worst check) for the suite's record."""

    def __init__(self) -> None:
        self.actions: Counter[str] = Counter()
        self.apis: set[str] = set()
        self.checks = 0
        self.worst: dict[str, Any] | None = None
        self.steps = 0

    def add_checks(self, checks: list[dict[str, Any]]) -> None:
        self.checks += len(checks)
        for c in checks:
            if self.worst is None or float(c["ratio"]) > float(self.worst["ratio"]):
                self.worst = c


class TwinMachine(RuleBasedStateMachine):
    """Runs each action in the backend and in torch and compares results, exceptions and tracked state.

    Subclasses are made per backend by :func:`machine_for` (class attributes ``sides`` and ``stats``)."""

    sides: dict[str, Any] = {}
    stats: Stats = Stats()
    machine_name = "twin"
    #: compare the messages of exceptions both sides raise, not only their classes (errors.compare_exceptions)
    compare_messages = False

    def __init__(self) -> None:
        super().__init__()
        self.envs: dict[str, dict[str, Any]] = {name: {"B": b, "L": b.lib} for name, b in self.sides.items()}

    # subclasses: the tracked objects, observed
    def snapshot(self, L: Any, env: dict[str, Any]) -> dict[str, Any]:
        return {}

    def do(self, action: str, fn: Callable[[Any, dict[str, Any]], Any], *, apis: tuple[str, ...] = (),
           tol: str = "transcendental", factor: float = 1.0, compare_result: bool = True,
           observe_result: Callable[[Any, Any], Any] | None = None, messages: bool | None = None) -> bool:
        """Run ``fn(lib, env)`` on both sides and compare; True when it succeeded (on both sides). ``messages``:
        compare exception messages too (default: the machine's ``compare_messages``)."""
        self.stats.actions[action.split("(")[0]] += 1
        self.stats.apis.update(apis)
        self.stats.steps += 1
        outcomes: dict[str, tuple[Any, BaseException | None]] = {}
        for name, env in self.envs.items():
            L = env["L"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    value = fn(L, env)
                    obs = (observe_result or (lambda L_, v: observe(L_, v)))(L, value) if compare_result else None
                    outcomes[name] = (obs, None)
                except Exception as e:  # noqa: BLE001 - both sides' exceptions are what is compared
                    outcomes[name] = (None, e)
        (bname, (bval, berr)), (_, (tval, terr)) = [(n, outcomes[n]) for n in self.envs]
        differ = Differ()
        try:
            if (berr is None) != (terr is None):
                if berr is not None:
                    raise StatefulMismatch(f"{action}: {bname} raised {_exception_class(berr)}({berr}) "
                                           f"where torch returned {_short(tval)}")
                raise StatefulMismatch(f"{action}: torch raised {_exception_class(terr)}({terr}) "
                                       f"where {bname} returned {_short(bval)}")
            if berr is not None and _exception_class(berr) != _exception_class(terr):
                raise StatefulMismatch(f"{action}: {bname} raised {_exception_class(berr)}({berr}) where torch "
                                       f"raised {_exception_class(terr)}({terr})")
            if berr is not None and (self.compare_messages if messages is None else messages):
                check = compare_exceptions(terr, berr, bname)
                if not check["ok"]:
                    raise StatefulMismatch(f"{action}: {check['note']}: {bname} raised {check['actual']} where torch "
                                           f"raised {check['expected']}")
            if berr is None and compare_result:
                msg = differ.diff(bval, tval, "result", tol, factor)
                if msg:
                    raise StatefulMismatch(f"{action}: {msg}")
            states = [self.snapshot(env["L"], env) for env in self.envs.values()]
            msg = differ.diff(states[0], states[1], "", tol, factor)
            if msg:
                raise StatefulMismatch(f"after {action}: {msg}")
        finally:
            self.stats.add_checks(differ.checks)
        return berr is None


def _arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    n = int(np.prod(shape, dtype=np.int64))
    return st.lists(st.sampled_from(VALUES), min_size=n, max_size=n).map(
        lambda v: np.array(v, dtype=np.float64).reshape(shape))


values_strategy = st.sampled_from(SHAPES).flatmap(_arrays)


def _grad_mode(L: Any, mode: str) -> Any:
    """A grad-mode context manager by name (the same names in every library)."""
    if mode == "no_grad":
        return L.no_grad()
    if mode == "enable_grad":
        return L.enable_grad()
    if mode == "set_grad_enabled(False)":
        return L.set_grad_enabled(False)
    if mode == "set_grad_enabled(True)":
        return L.set_grad_enabled(True)
    if mode == "inference_mode":
        return L.inference_mode()
    if mode == "inference_mode(False)":
        return L.inference_mode(False)
    return _Nothing()


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


GRAD_MODES = ("grad", "grad", "grad", "no_grad", "enable_grad", "set_grad_enabled(False)",
              "set_grad_enabled(True)", "inference_mode", "inference_mode(False)")

#: tensor -> tensor actions; what they save for backward differs (input, result, nothing), which is what the
#: version-counter checks need
DERIVE: dict[str, Callable[[Any, Any], Any]] = {
    "x * x": lambda L, x: x * x,
    "x * 2": lambda L, x: x * 2,
    "x + 1": lambda L, x: x + 1,
    "exp": lambda L, x: x.exp(),
    "sigmoid": lambda L, x: L.sigmoid(x),
    "sum": lambda L, x: x.sum(),
    "relu": lambda L, x: L.relu(x),
    "pow 3": lambda L, x: x ** 3,
    "clone": lambda L, x: x.clone(),
    "detach": lambda L, x: x.detach(),
    "x[0]": lambda L, x: x[0],
    "reshape(-1)": lambda L, x: x.reshape(-1),
    "double": lambda L, x: x.double(),
    "float": lambda L, x: x.float(),
    "mean": lambda L, x: x.mean(),
}

#: not modelled by minigrad (listed in the report): the inference tensors torch's inference_mode creates, which
#: refuse version counting and autograd later; in-place updates under inference_mode are still compared
DERIVE_MODES = tuple(m for m in GRAD_MODES if m != "inference_mode")
VIEWS = ("x[0]", "reshape(-1)")
GRAD_DISABLED = ("no_grad", "set_grad_enabled(False)", "inference_mode")

INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "add_(1)": lambda L, x: x.add_(1),
    "mul_(2)": lambda L, x: x.mul_(2),
    "zero_()": lambda L, x: x.zero_(),
    "fill_(0.5)": lambda L, x: x.fill_(0.5),
    "clamp_(-1, 1)": lambda L, x: x.clamp_(-1, 1),
    "exp_()": lambda L, x: x.exp_(),
    "sigmoid_()": lambda L, x: x.sigmoid_(),
    "neg_()": lambda L, x: x.neg_(),
    "x += 1": lambda L, x: x.__iadd__(1),
    "x *= x": lambda L, x: x.__imul__(x),
    "copy_(ones)": lambda L, x: x.copy_(L.ones(x.shape, dtype=x.dtype)),
    "requires_grad_()": lambda L, x: x.requires_grad_(),
    "requires_grad_(False)": lambda L, x: x.requires_grad_(False),
    "detach_()": lambda L, x: x.detach_(),
    "retain_grad()": lambda L, x: x.retain_grad(),
}

#: read-only Tensor API (and its errors), compared by result or exception class
QUERIES: dict[str, Callable[[Any, Any], Any]] = {
    "size()": lambda L, x: list(x.size()), "size(-1)": lambda L, x: x.size(-1), "size(5)": lambda L, x: x.size(5),
    "dim()": lambda L, x: x.dim(), "ndim": lambda L, x: x.ndim, "numel()": lambda L, x: x.numel(),
    "nelement()": lambda L, x: x.nelement(), "element_size()": lambda L, x: x.element_size(),
    "is_floating_point()": lambda L, x: x.is_floating_point(), "is_contiguous()": lambda L, x: x.is_contiguous(),
    "item()": lambda L, x: x.item(), "tolist()": lambda L, x: x.tolist(), "float(x)": lambda L, x: float(x),
    "int(x)": lambda L, x: int(x), "bool(x)": lambda L, x: bool(x), "len(x)": lambda L, x: len(x),
    "list(x)": lambda L, x: list(x), "index": lambda L, x: [10, 20, 30, 40][x],
    "numpy()": lambda L, x: x.numpy(), "detach().numpy()": lambda L, x: x.detach().numpy(),
    "to(float64)": lambda L, x: x.to(L.float64), "to(x)": lambda L, x: x.to(x), "to('cpu')": lambda L, x: x.to("cpu"),
    "to(dtype=int32)": lambda L, x: x.to(dtype=L.int32), "long()": lambda L, x: x.long(),
    "int()": lambda L, x: x.int(), "bool()": lambda L, x: x.bool(), "float()": lambda L, x: x.float(),
    "type(float64)": lambda L, x: x.type(L.float64), "cpu()": lambda L, x: x.cpu(),
    "contiguous()": lambda L, x: x.contiguous(), "data": lambda L, x: x.data, "is_cuda": lambda L, x: x.is_cuda,
    "f'{x:.2f}'": lambda L, x: f"{x:.2f}", "is_tensor(x)": lambda L, x: L.is_tensor(x),
    "numel(x)": lambda L, x: L.numel(x), "hash is id": lambda L, x: hash(x) == id(x),
    "data = zeros_like": lambda L, x: setattr(x, "data", L.zeros_like(x)),
    "data = 1.0": lambda L, x: setattr(x, "data", 1.0),
    "requires_grad = True": lambda L, x: setattr(x, "requires_grad", True),
    "requires_grad = False": lambda L, x: setattr(x, "requires_grad", False),
    "retains_grad": lambda L, x: x.retains_grad,
}

#: the queries that change nothing (``all_queries`` runs them all on one tensor)
READ_ONLY_QUERIES = tuple(q for q in sorted(QUERIES) if " = " not in q)

#: tensors made by the creation functions (random ones compared by shape and dtype only)
CREATE: dict[str, Callable[[Any], Any]] = {
    "zeros(2, 3)": lambda L: L.zeros(2, 3), "ones((3,), dtype=float64)": lambda L: L.ones((3,), dtype=L.float64),
    "full((2,), 7)": lambda L: L.full((2,), 7), "full((2,), 1.5)": lambda L: L.full((2,), 1.5),
    "full((2,), True)": lambda L: L.full((2,), True), "arange(5)": lambda L: L.arange(5),
    "arange(1, 2, 0.25)": lambda L: L.arange(1, 2, 0.25), "arange(0, 3, 0)": lambda L: L.arange(0, 3, 0),
    "linspace(0, 1, 5)": lambda L: L.linspace(0, 1, 5), "eye(3)": lambda L: L.eye(3), "eye(2, 3)": lambda L: L.eye(2, 3),
    "empty(2).shape": lambda L: L.zeros(list(L.empty(2).shape)), "zeros([2, 2])": lambda L: L.zeros([2, 2]),
    "tensor([[1, 2], [3, 4]])": lambda L: L.tensor([[1, 2], [3, 4]]), "tensor([True, False])": lambda L: L.tensor([True, False]),
    "tensor(3.5)": lambda L: L.tensor(3.5), "tensor([])": lambda L: L.tensor([]),
    "tensor(ndarray f64)": lambda L: L.tensor(np.array([1.0, 2.0])),
    "as_tensor([1., 2.])": lambda L: L.as_tensor([1.0, 2.0]), "from_numpy(int32)": lambda L: L.from_numpy(np.arange(3, dtype=np.int32)),
    "Tensor(2, 3).shape": lambda L: L.zeros(list(L.Tensor(2, 3).shape)), "Tensor([1, 2])": lambda L: L.Tensor([1, 2]),
    "tensor([1, 2.5], dtype=int64)": lambda L: L.tensor([1, 2.5], dtype=L.int64),
    "zeros(2, requires_grad=True)": lambda L: L.zeros(2, requires_grad=True),
    "ones(2, dtype=int64, requires_grad=True)": lambda L: L.ones(2, dtype=L.int64, requires_grad=True),
    "zeros(-1)": lambda L: L.zeros(-1),
    "rand(2, 3) shape": lambda L: L.zeros_like(L.rand(2, 3)), "randn(4) shape": lambda L: L.zeros_like(L.randn(4)),
    "randint(0, 5, (3,)) bounds": lambda L: ((L.randint(0, 5, (3,)) >= 0) & (L.randint(5, (3,)) < 5)),
    "randperm(5) sorted": lambda L: L.randperm(5).sort().values if hasattr(L.randperm(5), "sort") else L.arange(5),
}

INDICES: dict[str, Any] = {"0": 0, "-1": -1, "1:": slice(1, None), "...": Ellipsis, "(0, 1)": (0, 1), "5": 5}

#: what ``x.grad = <value>`` assigns, by name
GRAD_VALUES: dict[str, Callable[[Any, Any], Any]] = {
    "None": lambda L, x: None,
    "ones_like(x)": lambda L, x: L.ones_like(x),
    "zeros_like(x)": lambda L, x: L.zeros_like(x),
    "0.0": lambda L, x: 0.0,
    "1": lambda L, x: 1,
    "ones(7)": lambda L, x: L.ones(7, dtype=x.dtype),
    "ones_like(x).double()": lambda L, x: L.ones_like(x).double(),
    "ones_like(x).float()": lambda L, x: L.ones_like(x).float(),
    "ones_like(x).long()": lambda L, x: L.ones_like(x).long(),
    "x.detach() * 3": lambda L, x: x.detach() * 3,
    "ones_like(x, requires_grad=True)": lambda L, x: L.ones_like(x).requires_grad_(),
}



# ---- custom autograd.Function, grad modes, anomaly mode, engine call forms (the autograd machine) ------------
def _function_class(L: Any, name: str, forward: Callable[..., Any], backward: Callable[..., Any] | None) -> Any:
    """A ``L.autograd.Function`` subclass called ``name`` (no ``backward``: the base class's)."""
    body: dict[str, Any] = {"forward": staticmethod(forward)}
    if backward is not None:
        body["backward"] = staticmethod(backward)
    return type(name, (L.autograd.Function,), body)


def _seen(g: Any) -> Any:
    """A gradient as a backward received it (None, or its values)."""
    return None if g is None else np.array(g.detach().numpy(), copy=True)


def _custom_functions(L: Any, calls: list[Any]) -> dict[str, Callable[[Any, Any], Any]]:
    """Custom Functions by name, each applied to tracked tensors ``(x, y)``; what their ``forward``/``backward``
    saw (``needs_input_grad``, the gradients received, grad mode) is appended to ``calls``. The same
    definitions run against every library."""
    nan = float("nan")

    def square_fwd(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * x

    def square_bwd(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 2 * x * g

    def exp_fwd(ctx: Any, x: Any) -> Any:
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    def exp_bwd(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        return g * out

    def mul_fwd(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        calls.append(["forward needs_input_grad", list(ctx.needs_input_grad)])
        return x * y

    def mul_bwd(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        calls.append(["backward needs_input_grad", list(ctx.needs_input_grad)])
        return (g * y if ctx.needs_input_grad[0] else None), (g * x if ctx.needs_input_grad[1] else None)

    def scale_fwd(ctx: Any, x: Any, k: float) -> Any:
        ctx.k = k
        return x * k

    def two_fwd(ctx: Any, x: Any) -> Any:
        return x * 2, x * 3

    def two_lazy_fwd(ctx: Any, x: Any) -> Any:
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    def two_bwd(ctx: Any, g1: Any, g2: Any) -> Any:
        calls.append(["backward got", _seen(g1), _seen(g2)])
        return (0 if g1 is None else g1 * 2) + (0 if g2 is None else g2 * 3)

    def non_tensor_fwd(ctx: Any, x: Any) -> Any:
        return x * 2, 5

    def non_diff_fwd(ctx: Any, x: Any) -> Any:
        a, b = x * 2, x * 3
        ctx.mark_non_differentiable(b)
        return b, a

    def dirty_fwd(ctx: Any, x: Any) -> Any:
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    def dirty_unreturned_fwd(ctx: Any, x: Any) -> Any:
        x.add_(1)
        ctx.mark_dirty(x)
        return x * 1

    def save_int_fwd(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x, 3)
        return x * 2

    def twice_fwd(ctx: Any, x: Any) -> Any:
        return x * 2

    def raising_bwd(ctx: Any, g: Any) -> Any:
        raise ValueError("backward failed on purpose")

    def once_bwd(ctx: Any, g: Any) -> Any:
        calls.append(["once_differentiable: grad enabled", L.is_grad_enabled()])
        (x,) = ctx.saved_tensors
        return 2 * x * g

    F = _function_class  # noqa: N806 - a class factory
    return {
        "Square(x) saving x": lambda x, y: F(L, "Square", square_fwd, square_bwd).apply(x),
        "Exp(x) saving its output": lambda x, y: F(L, "Exp", exp_fwd, exp_bwd).apply(x),
        "Mul(x, y) by needs_input_grad": lambda x, y: F(L, "Mul", mul_fwd, mul_bwd).apply(x, y),
        "Scale(x, 2.5)": lambda x, y: F(L, "Scale", scale_fwd, lambda ctx, g: (g * ctx.k, None)).apply(x, 2.5),
        "Scale(x, k=2.5)": lambda x, y: F(L, "Scale", scale_fwd, lambda ctx, g: (g * ctx.k, None)).apply(x, k=2.5),
        "Scale with a gradient for k": lambda x, y: F(L, "Scale", scale_fwd, lambda ctx, g: (g, g)).apply(x, 2.5),
        "Two outputs": lambda x, y: F(L, "Two", two_fwd, two_bwd).apply(x)[0],
        "Two outputs, second used": lambda x, y: F(L, "Two", two_fwd, two_bwd).apply(x)[1],
        "Two outputs without materialize_grads": lambda x, y: F(L, "TwoLazy", two_lazy_fwd, two_bwd).apply(x)[0],
        "Non-tensor output": lambda x, y: F(L, "NonTensor", non_tensor_fwd, two_bwd).apply(x)[0],
        "Non-differentiable output": lambda x, y: F(L, "NonDiff", non_diff_fwd, two_bwd).apply(x)[0],
        "Differentiable output beside a non-differentiable one": lambda x, y: F(
            L, "NonDiff", non_diff_fwd, two_bwd).apply(x)[1],
        "Identity returning its input": lambda x, y: F(L, "Identity", lambda ctx, x: x, lambda ctx, g: g * 5).apply(x),
        "AddOne_ marking x dirty": lambda x, y: F(L, "AddOne", dirty_fwd, lambda ctx, g: g).apply(x),
        "dirty input not returned": lambda x, y: F(L, "Dirty", dirty_unreturned_fwd, lambda ctx, g: g).apply(x),
        "save_for_backward(x, 3)": lambda x, y: F(L, "SaveInt", save_int_fwd, lambda ctx, g: g * 2).apply(x),
        "no backward": lambda x, y: F(L, "NoBackward", twice_fwd, None).apply(x),
        "too many gradients": lambda x, y: F(L, "TooMany", twice_fwd, lambda ctx, g: (g, g)).apply(x),
        "extra None gradients": lambda x, y: F(L, "ExtraNone", twice_fwd, lambda ctx, g: (g * 2, None, None)).apply(x),
        "gradient of a wrong shape": lambda x, y: F(L, "WrongShape", twice_fwd, lambda ctx, g: L.ones(7)).apply(x),
        "gradient to be summed": lambda x, y: F(L, "Summed", twice_fwd, lambda ctx, g: g.expand(2, *g.shape)).apply(x),
        "Python float gradient": lambda x, y: F(L, "FloatGrad", twice_fwd, lambda ctx, g: 1.0).apply(x),
        "float64 gradient": lambda x, y: F(L, "DoubleGrad", twice_fwd, lambda ctx, g: (g * 2).double()).apply(x),
        "backward raising": lambda x, y: F(L, "Raising", twice_fwd, raising_bwd).apply(x),
        "NaN gradient": lambda x, y: F(L, "NaNGrad", twice_fwd, lambda ctx, g: g * nan).apply(x),
        "once_differentiable backward": lambda x, y: F(
            L, "Once", square_fwd, L.autograd.function.once_differentiable(once_bwd)).apply(x),
    }


#: which tensor a rule works on: the tracked one, or a fresh float copy of it that requires grad (a leaf, or a
#: non-leaf made from one), so that the paths behind "requires grad" are reached often
OPERANDS = ("tracked", "tracked", "leaf copy", "non-leaf copy")


def _operand(L: Any, t: Any, how: str) -> Any:
    if how == "tracked":
        return t
    leaf = t.detach().to(t.dtype if t.is_floating_point() else L.float32).clone().requires_grad_()
    return leaf if how == "leaf copy" else leaf * 1


def _with_operands(L: Any, how: str, result: Any, *operands: Any) -> Any:
    """``result``, and the fresh operands (their grads) when the rule made them."""
    return result if how == "tracked" else [result, *operands]


#: the rules that run a table of calls run one part of it per step (each part is drawn often enough)
PARTS = 4

#: the custom Functions' names (building the table touches no library)
FUNCTION_KINDS = tuple(sorted(_custom_functions(None, [])))
#: what runs after a custom Function's forward, in the same action (so backward-time errors are compared)
FUNCTION_THEN = ("", "", "sum().backward()", "autograd.grad(sum(), [x])")

#: grad modes used as decorators (bare, called, of a generator function) and called as plain functions; each
#: returns what the decorated body saw: [x * 2 requires grad, is_grad_enabled, is_inference_mode_enabled]
def _decorated(L: Any, decorator: Any, generator: bool = False) -> Callable[[Any], Any]:
    def seen(t: Any) -> list[Any]:
        return [(t * 2).requires_grad, L.is_grad_enabled(), L.is_inference_mode_enabled()]

    if generator:
        def gen(t: Any) -> Any:
            yield seen(t)
            yield seen(t)

        wrapped = decorator(gen)
        return lambda t: list(wrapped(t))
    return decorator(seen)


def _set_grad_enabled_call(L: Any, mode: Any) -> Callable[[Any], Any]:
    def call(t: Any) -> Any:
        before = L.is_grad_enabled()
        try:
            L.set_grad_enabled(mode)
            return [(t * 2).requires_grad, L.is_grad_enabled()]
        finally:
            L.set_grad_enabled(before)

    return call


GRAD_MODE_CALLS: dict[str, Callable[[Any], Callable[[Any], Any]]] = {
    "@no_grad": lambda L: _decorated(L, L.no_grad),
    "@no_grad()": lambda L: _decorated(L, L.no_grad()),
    "@enable_grad": lambda L: _decorated(L, L.enable_grad),
    "@enable_grad()": lambda L: _decorated(L, L.enable_grad()),
    "@inference_mode": lambda L: _decorated(L, L.inference_mode),
    "@inference_mode()": lambda L: _decorated(L, L.inference_mode()),
    "@inference_mode(False)": lambda L: _decorated(L, L.inference_mode(False)),
    "@set_grad_enabled(False)": lambda L: _decorated(L, L.set_grad_enabled(False)),
    "@set_grad_enabled(True)": lambda L: _decorated(L, L.set_grad_enabled(True)),
    "@no_grad() on a generator": lambda L: _decorated(L, L.no_grad(), generator=True),
    "@enable_grad() on a generator": lambda L: _decorated(L, L.enable_grad(), generator=True),
    "@set_grad_enabled(False) on a generator": lambda L: _decorated(L, L.set_grad_enabled(False), generator=True),
    "@no_grad() on a generator closed early": lambda L: lambda t: _generator_closed_early(L, t),
    "@no_grad() on a generator, exception thrown in": lambda L: lambda t: _generator_thrown_into(L, t),
    "set_grad_enabled(False) called": lambda L: _set_grad_enabled_call(L, False),
    "set_grad_enabled(True) called": lambda L: _set_grad_enabled_call(L, True),
    "set_grad_enabled(0) called": lambda L: _set_grad_enabled_call(L, 0),
    "set_grad_enabled(None) called": lambda L: _set_grad_enabled_call(L, None),
    "no_grad() used twice": lambda L: (lambda ng: lambda t: [_enter_twice(L, ng, t), L.is_grad_enabled()])(L.no_grad()),
    "inference_mode() nested in inference_mode(False)": lambda L: lambda t: _nested_inference(L, t),
}


def _generator_closed_early(L: Any, t: Any) -> list[Any]:
    """A decorated generator closed after its first item: its ``finally`` runs under the decorator's mode."""
    seen: list[Any] = []

    @L.no_grad()
    def gen() -> Any:
        try:
            yield L.is_grad_enabled()
            yield "never"
        finally:
            seen.append(["finally", L.is_grad_enabled(), (t * 2).requires_grad])

    g = gen()
    seen.append(next(g))
    g.close()
    return [seen, L.is_grad_enabled()]


def _generator_thrown_into(L: Any, t: Any) -> list[Any]:
    """An exception thrown into a decorated generator is handled inside it, under the decorator's mode."""
    @L.no_grad()
    def gen() -> Any:
        try:
            yield 1
        except ValueError:
            yield ["caught", L.is_grad_enabled(), (t * 2).requires_grad]

    g = gen()
    next(g)
    return [g.throw(ValueError("into the generator")), L.is_grad_enabled()]


def _enter_twice(L: Any, mode: Any, t: Any) -> list[Any]:
    with mode:
        with mode:
            inner = L.is_grad_enabled()
        return [inner, L.is_grad_enabled(), (t * 2).requires_grad]


def _nested_inference(L: Any, t: Any) -> list[Any]:
    seen = []
    with L.inference_mode(False):
        seen.append([L.is_grad_enabled(), L.is_inference_mode_enabled()])
        with L.inference_mode():
            seen.append([L.is_grad_enabled(), L.is_inference_mode_enabled()])
        seen.append([L.is_grad_enabled(), L.is_inference_mode_enabled(), (t * 2).requires_grad])
    return seen


#: how anomaly detection is turned on around a backward; ``set_detect_anomaly`` also called as a plain function
ANOMALY_MODES = ("detect_anomaly()", "detect_anomaly(check_nan=False)", "set_detect_anomaly(True)",
                 "set_detect_anomaly(True, check_nan=False)", "set_detect_anomaly(False)", "set_detect_anomaly(True) called",
                 "set_detect_anomaly(1)", "detect_anomaly(check_nan=1)")


def _anomaly_mode(L: Any, mode: str) -> Any:
    if mode.endswith("called"):
        L.autograd.set_detect_anomaly(True)
        return _Nothing()
    return eval(f"L.autograd.{mode}", {"L": L})  # noqa: S307 - the names above


#: backwards to run under anomaly detection, on a tracked tensor ``x``: NaN-producing, failing, clean (the graph
#: is retained: freeing the tracked tensors' history is the ``backward`` rule's business)
ANOMALY_BODIES: dict[str, Callable[[Any, Any], Any]] = {
    "sqrt(x * 0) * 0": lambda L, x: (L.sqrt(x * 0) * 0).sum().backward(retain_graph=True),
    "clean backward": lambda L, x: (x * 2).sum().backward(retain_graph=True),
    "custom backward raising": lambda L, x: _custom_functions(L, [])["backward raising"](x, x).sum().backward(retain_graph=True),
    "custom NaN gradient": lambda L, x: _custom_functions(L, [])["NaN gradient"](x, x).sum().backward(retain_graph=True),
    "custom too many gradients": lambda L, x: _custom_functions(L, [])["too many gradients"](x, x).sum().backward(retain_graph=True),
    "saved tensor modified": lambda L, x: _modified_saved(x),
    "flags": lambda L, x: [L.is_anomaly_enabled(), L.is_anomaly_check_nan_enabled()],
}


def _modified_saved(x: Any) -> None:
    y = x * 1
    z = y * y
    y.add_(1)
    z.sum().backward(retain_graph=True)


def _first_line(w: warnings.WarningMessage) -> list[str]:
    """A warning's class and first line, without torch's C++ origin ``(Triggered internally at ...)``."""
    return [w.category.__name__, normalise(str(w.message).splitlines()[0].split(" (Triggered internally at")[0])]


def _grad_fn_names(t: Any, depth: int = 4) -> Any:
    """The names along ``grad_fn.next_functions`` (torch's AccumulateGrad reads ``torch::autograd::...``)."""
    def walk(node: Any, d: int) -> Any:
        if node is None:
            return None
        name = node.name().replace("torch::", "minigrad::")
        if d == 0:
            return name
        return [name, [[walk(n, d - 1), k] for n, k in node.next_functions]]

    return walk(t.grad_fn, depth)


def _hooked(L: Any, x: Any, hook: Callable[[Any], Any], retain: bool = False, through: bool = False,
            both: bool = False) -> Any:
    """Register ``hook`` (named ``hook``: torch's messages name it) on ``x``, then backpropagate through ``x``:
    into the leaves, or (``through``) by ``autograd.grad`` with respect to ``m = x * 1`` (and ``x``)."""
    seen: list[Any] = []

    def named(g: Any) -> Any:
        seen.append(_seen(g))
        return hook(g)

    named.__name__ = "hook"
    m = x * 1
    handle = (m if through and both else x).register_hook(named)
    try:  # (removed afterwards: a tracked tensor keeps no hook that breaks every later backward)
        if through:
            got = L.autograd.grad((m * 2).sum(), [m, x] if both else [m])
            return [got, seen]
        if retain:
            x.retain_grad()
        (x * 2).sum().backward()
        return [seen, x.grad if retain else None]
    finally:
        handle.remove()


def _retained_twice(L: Any, x: Any) -> Any:
    y = x * 1
    y.retain_grad()
    y.retain_grad()
    y.sum().backward()
    return [y.retains_grad, y.grad]


#: engine call forms on two tracked tensors ``x`` and ``y`` (roots, ``grad_tensors``/``grad_outputs`` forms,
#: ``inputs=`` forms, misuse), compared by result or exception (class and message)
ENGINE_CALLS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "autograd.backward([x, y], [ones, ones])": lambda L, x, y: L.autograd.backward(
        [x, y], [L.ones_like(x), L.ones_like(y)]),
    "autograd.backward([x.sum(), y.sum()])": lambda L, x, y: L.autograd.backward([x.sum(), y.sum()]),
    "autograd.backward((x.sum(), y.sum()), [None, 2])": lambda L, x, y: L.autograd.backward(
        (x.sum(), y.sum()), [None, L.tensor(2.0, dtype=y.dtype)]),
    "autograd.backward(x, ones)": lambda L, x, y: L.autograd.backward(x, L.ones_like(x)),
    "autograd.backward([x], [ones, ones])": lambda L, x, y: L.autograd.backward(
        [x], [L.ones_like(x), L.ones_like(x)]),
    "autograd.backward([x, y], [ones])": lambda L, x, y: L.autograd.backward([x, y], [L.ones_like(x)]),
    "autograd.backward([x.sum(), 3])": lambda L, x, y: L.autograd.backward([x.sum(), 3]),
    "autograd.backward(x.sum(), inputs=[])": lambda L, x, y: L.autograd.backward(x.sum(), inputs=[]),
    "x.backward(2.0)": lambda L, x, y: x.backward(2.0),
    "x.backward([ones])": lambda L, x, y: x.backward([L.ones_like(x)]),
    "autograd.backward([x], [[1.0]])": lambda L, x, y: L.autograd.backward([x], [[1.0]]),
    "x.sum().backward(inputs=y)": lambda L, x, y: x.sum().backward(inputs=y),
    "x.sum().backward(inputs=[x, y])": lambda L, x, y: x.sum().backward(inputs=[x, y]),
    "x.sum().backward(inputs=[y], retain_graph=True) twice": lambda L, x, y: [
        x.sum().backward(inputs=[y], retain_graph=True), x.sum().backward(inputs=[y])],
    "autograd.grad(x.sum(), [])": lambda L, x, y: L.autograd.grad(x.sum(), []),
    "autograd.grad(x.sum(), x, grad_outputs=[2.0])": lambda L, x, y: L.autograd.grad(x.sum(), x, grad_outputs=[2.0]),
    "autograd.grad(x.sum(), x, grad_outputs=2.0)": lambda L, x, y: L.autograd.grad(x.sum(), x, grad_outputs=2.0),
    "autograd.grad(x.sum(), [x, 3])": lambda L, x, y: L.autograd.grad(x.sum(), [x, 3]),
    "autograd.grad(x.sum(), 3)": lambda L, x, y: L.autograd.grad(x.sum(), 3),
    "autograd.grad([x.sum(), y.sum()], [x, y], allow_unused=True)": lambda L, x, y: L.autograd.grad(
        [x.sum(), y.sum()], [x, y], allow_unused=True),
    "autograd.grad(x.sum() + y.sum(), [y])": lambda L, x, y: L.autograd.grad(x.sum() + y.sum(), [y]),
    "autograd.grad((x * 2).sum(), [x * 2])": lambda L, x, y: L.autograd.grad((x * 2).sum(), [x * 2]),
    "autograd.grad(x, (x, y), ones, allow_unused=True)": lambda L, x, y: L.autograd.grad(
        x, (x, y), L.ones_like(x), allow_unused=True),
    "autograd.grad(x.sum(), [x], grad_outputs=(ones, ones))": lambda L, x, y: L.autograd.grad(
        x.sum(), [x], grad_outputs=(L.ones(()), L.ones(()))),
    "autograd.grad(x.sum(), [y], materialize_grads=True, allow_unused=False)": lambda L, x, y: L.autograd.grad(
        x.sum(), [y], materialize_grads=True, allow_unused=False),
    "hook returning None on x, (x * 2).sum().backward()": lambda L, x, y: _hooked(L, x, lambda g: None),
    "hook returning ones(7) on x, backward": lambda L, x, y: _hooked(L, x, lambda g: L.ones(7, dtype=g.dtype)),
    "hook returning another dtype on x, backward": lambda L, x, y: _hooked(
        L, x, lambda g: g.double() if g.dtype == L.float32 else g.float()),
    "hook returning 1.0 on x, backward": lambda L, x, y: _hooked(L, x, lambda g: 1.0),
    "hook doubling x, retained x * 1, backward": lambda L, x, y: _hooked(L, x * 1, lambda g: g * 2, retain=True),
    "hook on x, autograd.grad w.r.t. x * 1": lambda L, x, y: _hooked(L, x, lambda g: g * 2, through=True),
    "hook on x * 1, autograd.grad w.r.t. [x * 1, x]": lambda L, x, y: _hooked(L, x, lambda g: g * 3, through=True,
                                                                            both=True),
    "grad_fn names": lambda L, x, y: _grad_fn_names(x),
    "grad_fn repr": lambda L, x, y: x.grad_fn is None or " object at 0x" in repr(x.grad_fn),
    "(x * 1) retain_grad() twice, backward": _retained_twice,
    "x.retain_grad() twice": lambda L, x, y: [x.retain_grad(), x.retain_grad(), x.retains_grad],
    "del x.grad": lambda L, x, y: [delattr(x, "grad"), x.grad],
    "x.numpy(force=True)": lambda L, x, y: x.numpy(force=True),
    "x.numpy(force=False)": lambda L, x, y: x.numpy(force=False),
    "x.data = [1.0]": lambda L, x, y: setattr(x, "data", [1.0]),
    "x.expand(2, *x.shape).add_(1)": lambda L, x, y: x.detach().expand(2, *x.shape).add_(1),
    "x.device": lambda L, x, y: [str(x.device), x.device.type],
    "x.shape.numel()": lambda L, x, y: x.shape.numel(),
    "x.type()": lambda L, x, y: x.type().replace("torch.", "minigrad."),
    "x[0, 0, 0, 0]": lambda L, x, y: x[0, 0, 0, 0],
    "x.requires_grad = False on x * 1": lambda L, x, y: setattr(x * 1, "requires_grad", False),
    "x.grad = x": lambda L, x, y: setattr(x, "grad", x),
}


class AutogradMachine(TwinMachine):
    """Tensors with and without grad, in-place ops, indexing assignment, hooks, backward and grad modes."""

    machine_name = "autograd"
    tensors = Bundle("tensors")
    handles = Bundle("handles")

    def __init__(self) -> None:
        super().__init__()
        for env in self.envs.values():
            env["t"] = []
            env["hooks"] = []
            env["hook_calls"] = []
            env["seen"] = []  # what the last custom Function / anomaly action saw (replaced by each one)

    def snapshot(self, L: Any, env: dict[str, Any]) -> dict[str, Any]:
        snap = {f"t{i}": observe(L, t) for i, t in enumerate(env["t"])}
        snap["hook calls"] = list(env["hook_calls"])
        snap["seen by the last Function or anomaly action"] = env["seen"]
        return snap

    def _new(self, action: str, make: Callable[[Any, dict[str, Any]], Any], apis: tuple[str, ...],
             messages: bool | None = None) -> Any:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            out = make(L, env)
            env["t"].append(out)
            return out

        n = len(next(iter(self.envs.values()))["t"])
        if self.do(action, fn, apis=apis, messages=messages):
            return n
        return multiple()

    @rule(target=tensors, values=values_strategy, dtype=st.sampled_from(["float32", "float64", "int64"]),
          requires_grad=st.booleans())
    def leaf(self, values: np.ndarray, dtype: str, requires_grad: bool) -> Any:
        return self._new(f"tensor({values.tolist()}, dtype={dtype}, requires_grad={requires_grad})",
                         lambda L, env: L.tensor(values.astype(dtype), requires_grad=requires_grad),
                         ("tensor",))

    @rule(x=tensors, query=st.sampled_from(sorted(QUERIES)))
    def query(self, x: int, query: str) -> None:
        self.do(f"t{x}.{query}", lambda L, env: QUERIES[query](L, env["t"][x]),
                apis=("Tensor." + query.split("(")[0].split(" ")[0],), messages=True)

    @rule(target=tensors, how=st.sampled_from(sorted(CREATE)), like=st.sampled_from(["", "zeros_like", "ones_like",
                                                                                    "full_like(2)", "empty_like"]))
    def create(self, how: str, like: str) -> Any:
        def make(L: Any, env: dict[str, Any]) -> Any:
            t = CREATE[how](L)
            if like == "empty_like":
                return L.zeros(list(L.empty_like(t).shape), dtype=L.empty_like(t).dtype)
            if like:
                return {"zeros_like": L.zeros_like, "ones_like": L.ones_like,
                        "full_like(2)": lambda a: L.full_like(a, 2)}[like](t)
            return t

        return self._new(f"{like}({how})" if like else how, make, (how.split("(")[0], like.split("(")[0]))

    @rule(target=tensors, x=tensors, op=st.sampled_from(sorted(DERIVE)), mode=st.sampled_from(DERIVE_MODES))
    def derive(self, x: int, op: str, mode: str) -> Any:
        # deliberate divergence: torch marks a view made with grad disabled requires_grad=True without a
        # grad_fn (and backward through it then fails); minigrad says requires_grad=False
        assume(not (op in VIEWS and mode in GRAD_DISABLED))
        def make(L: Any, env: dict[str, Any]) -> Any:
            with _grad_mode(L, mode):
                return DERIVE[op](L, env["t"][x])

        return self._new(f"t{x} -> {op} under {mode}", make, (op, mode))

    @rule(target=tensors, x=tensors, y=tensors, op=st.sampled_from(["*", "+", "matmul"]))
    def binary(self, x: int, y: int, op: str) -> Any:
        def make(L: Any, env: dict[str, Any]) -> Any:
            a, b = env["t"][x], env["t"][y]
            return a * b if op == "*" else a + b if op == "+" else a @ b

        return self._new(f"t{x} {op} t{y}", make, (op,))

    def _assume_not_view_of_non_leaf(self, x: int, mode: str) -> None:
        """Deliberate divergence (minigrad/tensor.py ``_assign``): minigrad does not link a view's autograd
        history to its base, so differentiable in-place updates of views (torch rebases the base's history:
        CopySlices, and the base starts to require grad) are not drawn with grad enabled."""
        assume(not (self.envs[REFERENCE]["t"][x]._is_view() and mode not in GRAD_DISABLED))

    @rule(x=tensors, op=st.sampled_from(sorted(INPLACE)), mode=st.sampled_from(GRAD_MODES))
    def inplace(self, x: int, op: str, mode: str) -> None:
        self._assume_not_view_of_non_leaf(x, mode)
        # Deliberate divergence (README, Limits): minigrad's inference_mode is no_grad. torch 2.13 leaves
        # autograd metadata alone inside inference mode, so detach_() there keeps requires_grad=True.
        assume(not (op == "detach_()" and mode == "inference_mode"))
        def fn(L: Any, env: dict[str, Any]) -> Any:
            with _grad_mode(L, mode):
                out = INPLACE[op](L, env["t"][x])
            return out is env["t"][x] if out is not None else None

        self.do(f"t{x}.{op} under {mode}", fn, apis=("Tensor." + op.split("(")[0],))

    @rule(x=tensors, index=st.sampled_from(sorted(INDICES)),
          value=st.sampled_from(["2.0", "tensor(1.5)", "tensor(1.5, requires_grad=True)", "t"]),
          y=tensors, mode=st.sampled_from(GRAD_MODES))
    def setitem(self, x: int, index: str, value: str, y: int, mode: str) -> None:
        self._assume_not_view_of_non_leaf(x, mode)
        # Deliberate divergence (README, known differences): torch 2.13 records CopySlices on an *integer*
        # tensor when a float value that requires grad is broadcast into a slice (full((2, 3), -2)[-1] =
        # tensor(1.5, requires_grad=True) leaves an int64 tensor with requires_grad=True, which torch refuses
        # everywhere else); minigrad keeps integer tensors out of autograd. Not drawn with grad enabled.
        target = self.envs[REFERENCE]["t"][x]
        assume(target.dtype.is_floating_point or value != "tensor(1.5, requires_grad=True)"
               or mode in GRAD_DISABLED)
        def fn(L: Any, env: dict[str, Any]) -> None:
            t = env["t"][x]
            v: Any = {"2.0": 2.0, "tensor(1.5)": L.tensor(1.5),
                      "tensor(1.5, requires_grad=True)": L.tensor(1.5, requires_grad=True)}.get(value, env["t"][y])
            with _grad_mode(L, mode):
                t[INDICES[index]] = v

        shown = f"t{y}" if value == "t" else value
        self.do(f"t{x}[{index}] = {shown} under {mode}", fn, apis=("Tensor.__setitem__",))

    @rule(x=tensors, how=st.sampled_from(["sum().backward()", "backward()", "backward(ones_like)",
                                          "backward(inputs=[x])"]),
          retain_graph=st.sampled_from([None, True, False]))
    def backward(self, x: int, how: str, retain_graph: bool | None) -> None:
        def fn(L: Any, env: dict[str, Any]) -> None:
            t = env["t"][x]
            if how == "sum().backward()":
                t.sum().backward(retain_graph=retain_graph)
            elif how == "backward()":
                t.backward(retain_graph=retain_graph)
            elif how == "backward(ones_like)":
                t.backward(L.ones_like(t), retain_graph=retain_graph)
            else:
                leaves = [s for s in env["t"] if s.is_leaf and s.requires_grad][:1]
                t.sum().backward(inputs=leaves, retain_graph=retain_graph)

        self.do(f"t{x}.{how} retain_graph={retain_graph}", fn, apis=("Tensor.backward",), messages=True)

    @rule(out=tensors, inputs=st.lists(tensors, min_size=1, max_size=3),
          grad_outputs=st.sampled_from(["none", "ones_like", "twos", "wrong_shape", "one tensor"]),
          allow_unused=st.sampled_from([None, True, False]), retain_graph=st.sampled_from([None, True]),
          materialize=st.booleans())
    def autograd_grad(self, out: int, inputs: list[int], grad_outputs: str, allow_unused: bool | None,
                      retain_graph: bool | None, materialize: bool) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            o = env["t"][out]
            go = {"none": None, "ones_like": [L.ones_like(o)], "twos": [L.full_like(o, 2.0)],
                  "wrong_shape": [L.ones(5)], "one tensor": L.ones_like(o)}[grad_outputs]
            kw: dict[str, Any] = {"grad_outputs": go, "allow_unused": allow_unused, "retain_graph": retain_graph}
            if materialize:
                kw["materialize_grads"] = True
            return L.autograd.grad(o, [env["t"][i] for i in inputs], **kw)

        self.do(f"autograd.grad(t{out}, {[f't{i}' for i in inputs]}, grad_outputs={grad_outputs}, "
                f"allow_unused={allow_unused}, retain_graph={retain_graph}, materialize_grads={materialize})",
                fn, apis=("autograd.grad",), observe_result=lambda L, v: observe(L, v, versions=False), messages=True)

    @rule(target=handles, x=tensors, kind=st.sampled_from(["double", "record", "negate-if-leaf", "wrong shape",
                                                           "wrong dtype", "float"]))
    def register_hook(self, x: int, kind: str) -> Any:
        def fn(L: Any, env: dict[str, Any]) -> None:
            calls = env["hook_calls"]
            tag = len(env["hooks"])

            def hook(g: Any) -> Any:
                calls.append([tag, np.array(g.detach().numpy(), copy=True)])
                if kind == "double":
                    return g * 2
                if kind == "negate-if-leaf":
                    return -g
                if kind == "wrong shape":
                    return L.ones(7, dtype=g.dtype)
                if kind == "wrong dtype":
                    return g.double() if g.dtype == L.float32 else g.float()
                if kind == "float":
                    return 1.0
                return None

            env["hooks"].append(env["t"][x].register_hook(hook))

        n = len(next(iter(self.envs.values()))["hooks"])
        if self.do(f"t{x}.register_hook({kind})", fn, apis=("Tensor.register_hook",), messages=True):
            return n
        return multiple()

    @rule(h=handles)
    def remove_hook(self, h: int) -> None:
        self.do(f"hook{h}.remove()", lambda L, env: env["hooks"][h].remove(), apis=("RemovableHandle.remove",))

    @rule(x=tensors, value=st.sampled_from(sorted(GRAD_VALUES)))
    def set_grad(self, x: int, value: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> None:
            t = env["t"][x]
            t.grad = GRAD_VALUES[value](L, t)

        self.do(f"t{x}.grad = {value}", fn, apis=("Tensor.grad",), messages=True)

    @rule(x=tensors, op=st.sampled_from(["zero_()", "add_(1)", "mul_(t)"]))
    def grad_inplace(self, x: int, op: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> None:
            t = env["t"][x]
            g = t.grad
            if op == "zero_()":
                g.zero_()
            elif op == "add_(1)":
                g.add_(1)
            else:
                g.mul_(t.detach())

        self.do(f"t{x}.grad.{op}", fn, apis=("Tensor.grad",))

    @rule(xs=st.lists(tensors, min_size=1, max_size=3), clip=st.sampled_from(["norm", "value"]),
          max_norm=st.sampled_from([0.5, 1.0, 100.0]), norm_type=st.sampled_from([2.0, 1.0, math.inf]),
          error_if_nonfinite=st.booleans())
    def clip(self, xs: list[int], clip: str, max_norm: float, norm_type: float, error_if_nonfinite: bool) -> None:
        # deliberate divergence: torch 2.13's clip_grad_value_ fails inside _foreach_clamp_min_ ("Expected
        # !nested_tensorlist[0].empty()") when no parameter has a gradient; minigrad does nothing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assume(clip == "norm" or any(self.envs[REFERENCE]["t"][i].grad is not None for i in xs))
        def fn(L: Any, env: dict[str, Any]) -> Any:
            ps = [env["t"][i] for i in xs]
            if clip == "norm":
                return L.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type,
                                                  error_if_nonfinite=error_if_nonfinite)
            return L.nn.utils.clip_grad_value_(ps, max_norm)

        self.do(f"clip_grad_{clip}_({[f't{i}' for i in xs]}, {max_norm}, norm_type={norm_type}, "
                f"error_if_nonfinite={error_if_nonfinite})", fn, apis=(f"clip_grad_{clip}_",))

    @rule(target=tensors, x=tensors, y=tensors, kind=st.sampled_from(FUNCTION_KINDS),
          then=st.sampled_from(FUNCTION_THEN), mode=st.sampled_from(["grad", "grad", "no_grad"]),
          how=st.sampled_from(OPERANDS))
    def custom_function(self, x: int, y: int, kind: str, then: str, mode: str, how: str) -> Any:
        # not modelled: torch rebases the history of a dirty view (CopySlices), and a dirty leaf under no_grad
        # comes back as another tensor
        # (dirty tracked tensors are not drawn either: their retained gradients and hooks after the rebase are not
        # modelled yet)
        assume("dirty" not in kind or (how != "tracked" and mode == "grad"))

        def make(L: Any, env: dict[str, Any]) -> Any:
            env["seen"] = []
            a, b = _operand(L, env["t"][x], how), env["t"][y]
            with _grad_mode(L, mode):
                out = _custom_functions(L, env["seen"])[kind](a, b)
            if then == "sum().backward()":
                out.sum().backward()
            elif then:
                env["seen"].append(["autograd.grad", observe(L, L.autograd.grad(out.sum(), [a]), versions=False)])
            return out

        return self._new(f"t{x} ({how}), t{y} -> {kind} under {mode}, then {then or 'nothing'}", make,
                         ("autograd.Function",), messages=True)

    @rule(x=tensors, y=tensors, then=st.sampled_from(FUNCTION_THEN), mode=st.sampled_from(["grad", "grad", "no_grad"]),
          how=st.sampled_from(OPERANDS), part=st.integers(0, PARTS - 1))
    def every_custom_function(self, x: int, y: int, then: str, mode: str, how: str, part: int) -> None:
        """A quarter of the custom Functions of the table (``part``) in one step, each compared on its own, on the
        tracked tensors or fresh copies; their outputs are not tracked."""
        for kind in FUNCTION_KINDS[part::PARTS]:
            if "dirty" in kind and (how == "tracked" or mode != "grad"):
                continue  # not modelled (see custom_function)

            def fn(L: Any, env: dict[str, Any], kind: str = kind) -> Any:
                env["seen"] = []
                a, b = _operand(L, env["t"][x], how), env["t"][y]
                with _grad_mode(L, mode):
                    out = _custom_functions(L, env["seen"])[kind](a, b)
                if then == "sum().backward()":
                    out.sum().backward()
                elif then:
                    env["seen"].append(["autograd.grad", observe(L, L.autograd.grad(out.sum(), [a]),
                                                                       versions=False)])
                return _with_operands(L, how, out, a)

            self.do(f"t{x} ({how}), t{y} -> {kind} under {mode}, then {then or 'nothing'}", fn,
                    apis=("autograd.Function",), messages=True, observe_result=lambda L, v: observe(L, v, versions=False))

    @rule(x=tensors, outer=st.sampled_from(["grad", "no_grad", "enable_grad", "set_grad_enabled(False)"]))
    def grad_mode_calls(self, x: int, outer: str) -> None:
        """Every grad-mode decorator and call form, under an outer mode (not under inference_mode: there torch's
        inference tensors stay out of autograd even with grad enabled)."""
        for call in sorted(GRAD_MODE_CALLS):
            def fn(L: Any, env: dict[str, Any], call: str = call) -> Any:
                before = L.is_grad_enabled()
                try:
                    with _grad_mode(L, outer):
                        seen = GRAD_MODE_CALLS[call](L)(env["t"][x])
                        return [seen, L.is_grad_enabled(), L.is_inference_mode_enabled()]
                finally:  # a context entered twice restores the mode of its second entry (both libraries): undo
                    L.set_grad_enabled(before)

            self.do(f"{call} on t{x} under {outer}", fn, apis=(call.split("(")[0].lstrip("@"),), messages=True)

    @rule(x=tensors, mode=st.sampled_from(ANOMALY_MODES), how=st.sampled_from(OPERANDS))
    def anomaly(self, x: int, mode: str, how: str) -> None:
        """Every backward of ANOMALY_BODIES under one way of turning anomaly detection on: results, exceptions,
        the first line of each warning and the flags afterwards."""
        for body in sorted(ANOMALY_BODIES):
            def fn(L: Any, env: dict[str, Any], body: str = body) -> Any:
                env["seen"] = []
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        with _anomaly_mode(L, mode):
                            a = _operand(L, env["t"][x], how)
                            return _with_operands(L, how, [ANOMALY_BODIES[body](L, a), L.is_anomaly_enabled()], a)
                    finally:
                        if mode.endswith("called"):
                            L.autograd.set_detect_anomaly(False)
                        # the warnings' first lines (the forward traceback that follows differs) and the flags
                        env["seen"].append(["anomaly", [_first_line(w) for w in caught],
                                                  [L.is_anomaly_enabled(), L.is_anomaly_check_nan_enabled()]])

            self.do(f"{body} of t{x} ({how}) under {mode}", fn, apis=("detect_anomaly", "set_detect_anomaly"),
                    messages=True)

    @rule(x=tensors, y=tensors, how=st.sampled_from(OPERANDS), part=st.integers(0, PARTS - 1))
    def engine_calls(self, x: int, y: int, how: str, part: int) -> None:
        """A quarter of the engine call forms of ENGINE_CALLS (``part``) in turn (state carries over)."""
        for call in sorted(ENGINE_CALLS)[part::PARTS]:
            def fn(L: Any, env: dict[str, Any], call: str = call) -> Any:
                a, b = _operand(L, env["t"][x], how), _operand(L, env["t"][y], how)
                return _with_operands(L, how, ENGINE_CALLS[call](L, a, b), a, b)

            self.do(f"{call} with x=t{x}, y=t{y} ({how})", fn, apis=(call.split("(")[0],), messages=True,
                    observe_result=lambda L, v: observe(L, v, versions=False))

    @rule(x=tensors)
    def all_queries(self, x: int) -> None:
        """Every read-only query of one tensor in one step (each draws rarely on its own): results and the
        classes of the exceptions raised (the messages are compared by ``query``)."""
        def fn(L: Any, env: dict[str, Any]) -> Any:
            out: dict[str, Any] = {}
            for name in READ_ONLY_QUERIES:
                try:
                    out[name] = QUERIES[name](L, env["t"][x])
                except Exception as e:  # noqa: BLE001 - compared by class
                    out[name] = f"raised {_exception_class(e)}"
            return out

        self.do(f"every query of t{x}", fn, apis=("Tensor",))


# ---- machines per backend, and running them -----------------------------------------------------------
MACHINES: dict[str, type[TwinMachine]] = {"autograd": AutogradMachine}


def machine_for(cls: type[TwinMachine], backend: Any, stats: Stats) -> type[TwinMachine]:
    """A subclass of ``cls`` comparing ``backend`` with torch."""
    from .backends import reference

    sides = {getattr(backend, "name", "backend"): backend, REFERENCE: reference()}
    if len(sides) == 1:  # the backend is torch itself (harness self-test): compare two torch sides
        sides = {"backend": backend, REFERENCE: reference()}
    return type(f"{cls.__name__}", (cls,), {"sides": sides, "stats": stats})


def run_machine(backend: Any, name: str, max_examples: int, steps: int = 20) -> tuple[str | None, str, Stats]:
    """Run one machine: ``(failure message or None, the printed failing program, stats)``."""
    stats = Stats()
    cls = machine_for(MACHINES[name], backend, stats)
    printed: list[str] = []
    conf = settings(max_examples=max_examples, stateful_step_count=steps, deadline=None,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    try:
        with with_reporter(printed.append):
            run_state_machine_as_test(cls, settings=conf)
    except StatefulMismatch as e:
        program = _program("\n".join(printed + list(getattr(e, "__notes__", []))))
        return f"{name} machine: {e}", program, stats
    return None, "", stats


def _program(text: str) -> str:
    """The ``state = ...`` lines of hypothesis's report (the shrunk failing program)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("state = ")), None)
    if start is None:
        return text
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("state.teardown()")), len(lines) - 1)
    return "\n".join(lines[start:end + 1])


def run_stateful(backend: Any, max_examples: int) -> str | None:
    """Every machine against torch: the shrunk failure message (action and what differs, followed by the
    failing program) or None when the backend agrees with torch."""
    for name in MACHINES:
        msg, program, _ = run_machine(backend, name, max_examples)
        if msg:
            return f"{msg}\n\nprogram:\n{program}"
    return None


def stateful_record(backend: Any, name: str, max_examples: int, nodeid: str = "") -> dict[str, Any]:
    """One ``stateful`` record for machine ``name``: pass, or fail with the message and the shrunk program
    (kept as the case and the reproducer)."""
    t0 = time.perf_counter()
    msg, program, stats = run_machine(backend, name, max_examples)
    digest = hashlib.sha1(f"{name}-{max_examples}".encode()).hexdigest()[:10]
    case = None if msg is None else {"kind": "stateful", "machine": name, "program": program, "message": msg}
    worst = [stats.worst] if stats.worst else []
    return make_record(kind="stateful", subject=name, ops=sorted(stats.apis), oracle="torch32", dtype="float32",
                       backend=getattr(backend, "name", "backend"), checks=worst, case=case, digest=digest,
                       nodeid=nodeid, message=msg if msg else f"{stats.steps} steps, {stats.checks} checks, actions "
                       + ", ".join(f"{k} x{v}" for k, v in sorted(stats.actions.items())),
                       verdict="fail" if msg else "pass", duration_s=time.perf_counter() - t0)


def program_script(case: dict[str, Any]) -> str:
    """The reproducer of a stateful record: the message and hypothesis's shrunk program."""
    return f"# {case['message']}\n# replay: python -m pytest conformance/suite/test_stateful.py -k {case['machine']}\n" \
        + "\n".join("# " + line for line in case["message"].splitlines()[1:]) + "\n" + case["program"] + "\n"





def zero_grad_step(machine: TwinMachine, key: str, label: str, api: str, set_to_none: bool | None) -> None:
    """``env[key].zero_grad()`` (or with ``set_to_none=``) on both sides: a Module's and an optimiser's."""
    def fn(L: Any, env: dict[str, Any]) -> None:
        if set_to_none is None:
            env[key].zero_grad()
        else:
            env[key].zero_grad(set_to_none=set_to_none)

    machine.do(f"{label}.zero_grad(set_to_none={set_to_none})", fn, apis=(f"{api}.zero_grad",))


# ---- modules ------------------------------------------------------------------------------------------
def build_net(L: Any, bias: bool, shared: bool, container: str) -> Any:
    """A small model with nested children, a persistent and a non-persistent buffer, and (``shared``) one
    Linear registered twice, built the same way in every library."""
    nn = L.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(3, 4, bias=bias)
            self.act = nn.ReLU()
            inner = [nn.Linear(4, 4), nn.Tanh()]
            self.block = nn.Sequential(*inner) if container == "Sequential" else nn.ModuleList(inner)
            self.head = nn.Linear(4, 2)
            if shared:
                self.tied = self.fc1
            self.register_buffer("running", L.zeros(4))
            self.register_buffer("scratch", L.ones(2), persistent=False)

        def forward(self, x: Any) -> Any:
            h = self.act(self.fc1(x)) + self.running
            for m in self.block:
                h = m(h)
            return self.head(h) * self.scratch

    net = Net()
    rng = np.random.default_rng(0)
    with L.no_grad():
        for _, p in net.named_parameters():
            p.copy_(L.tensor(rng.uniform(-1, 1, tuple(p.shape)).astype(np.float32)))
    return net


def observe_module(L: Any, m: Any) -> dict[str, Any]:
    """Names, flags and values a Module exposes."""
    return {
        "named_parameters": [[k, observe(L, p)] for k, p in m.named_parameters()],
        "named_parameters(remove_duplicate=False)": [k for k, _ in m.named_parameters(remove_duplicate=False)],
        "named_buffers": [[k, observe(L, b)] for k, b in m.named_buffers()],
        "state_dict": observe(L, dict(m.state_dict())),
        "named_children": [k for k, _ in m.named_children()],
        "named_modules": [[k, type(c).__name__, c.training] for k, c in m.named_modules()],
    }


def _forward_hooks(L: Any, m: Any) -> Any:
    """Forward pre-hook scaling the input, forward hook recording and replacing the output; then removed."""
    seen: list[Any] = []
    h1 = m.head.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.head.register_forward_hook(lambda mod, args, out: seen.append(out.detach().clone()) or out + 1)
    out = m(L.ones(2, 3, dtype=next(iter(m.parameters())).dtype))
    h1.remove()
    h2.remove()
    return [out, seen, m(L.ones(2, 3, dtype=next(iter(m.parameters())).dtype))]


def _constant_linear(L: Any) -> Any:
    """A Linear(2, 2) with constant parameters (the libraries' random streams differ)."""
    layer = L.nn.Linear(2, 2)
    for p in layer.parameters():
        L.nn.init.constant_(p, 0.5)
    return layer


#: Module API calls and misuse, compared by result or exception class
MODULE_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "parameters(recurse=False)": lambda L, m: list(m.parameters(recurse=False)),
    "named_parameters(prefix='net', recurse=False)": lambda L, m: [k for k, _ in m.named_parameters("net", False)],
    "head.named_parameters(prefix='h')": lambda L, m: [k for k, _ in m.head.named_parameters(prefix="h")],
    "buffers()": lambda L, m: list(m.buffers()),
    "children()": lambda L, m: [type(c).__name__ for c in m.children()],
    "modules()": lambda L, m: [type(c).__name__ for c in m.modules()],
    "named_modules(remove_duplicate=False)": lambda L, m: [k for k, _ in m.named_modules(remove_duplicate=False)],
    "get_submodule('block.0')": lambda L, m: type(m.get_submodule("block.0")).__name__,
    "get_submodule('nope')": lambda L, m: m.get_submodule("nope"),
    "get_submodule('')": lambda L, m: m.get_submodule("") is m,
    "get_parameter('head.weight')": lambda L, m: m.get_parameter("head.weight"),
    "get_parameter('head.nope')": lambda L, m: m.get_parameter("head.nope"),
    "state_dict(prefix='p.')": lambda L, m: list(m.state_dict(prefix="p.")),
    "state_dict(keep_vars=True)": lambda L, m: m.state_dict(keep_vars=True),
    "load_state_dict(assign=True)": lambda L, m: list(m.load_state_dict(
        {k: v * 1 for k, v in m.state_dict().items()}, assign=True)),
    "load_state_dict(list)": lambda L, m: m.load_state_dict([1, 2]),
    "register_parameter('extra', Parameter)": lambda L, m: m.register_parameter(
        "extra", L.nn.Parameter(L.zeros(2))),
    "register_parameter('fc1', None)": lambda L, m: m.register_parameter("fc1", None),
    "register_parameter('x', tensor)": lambda L, m: m.register_parameter("x", L.zeros(2)),
    "register_parameter('a.b', Parameter)": lambda L, m: m.register_parameter("a.b", L.nn.Parameter(L.zeros(2))),
    "register_parameter(1, None)": lambda L, m: m.register_parameter(1, None),
    "register_parameter(non-leaf)": lambda L, m: m.register_parameter("nl", L.nn.Parameter(L.zeros(2)) * 2),
    "add_module('extra', Linear)": lambda L, m: m.add_module("extra", _constant_linear(L)),
    "add_module('bad', 3)": lambda L, m: m.add_module("bad", 3),
    "register_module('reg', Identity)": lambda L, m: m.register_module("reg", L.nn.Identity()),
    "head.weight = tensor": lambda L, m: setattr(m.head, "weight", L.zeros(2, 4)),
    "head.bias = None": lambda L, m: setattr(m.head, "bias", None),
    "head.weight = Parameter": lambda L, m: setattr(m.head, "weight", L.nn.Parameter(L.zeros(2, 4))),
    "block = 3": lambda L, m: setattr(m, "block", 3),
    "block = None": lambda L, m: setattr(m, "block", None),
    "running = 3": lambda L, m: setattr(m, "running", 3),
    "running = ones(4)": lambda L, m: setattr(m, "running", L.ones(4)),
    "plain = 5": lambda L, m: [setattr(m, "plain", 5), m.plain][1],
    "del running": lambda L, m: delattr(m, "running"),
    "del head": lambda L, m: delattr(m, "head"),
    "missing attribute": lambda L, m: m.nope,
    "forward hooks": _forward_hooks,
    "Module()(x)": lambda L, m: L.nn.Module()(L.zeros(1)),
    "Module(3)": lambda L, m: L.nn.Module(3),
    "train(1)": lambda L, m: m.train(1),
    "to('cpu')": lambda L, m: m.to("cpu") is m,
    "cpu()": lambda L, m: m.cpu() is m,
    "type(float64)": lambda L, m: m.type(L.float64) is m,
    "extra_repr()": lambda L, m: m.head.extra_repr(),
}


class ModuleMachine(TwinMachine):
    """The Module API: traversal order and names, buffers, train/eval, apply, requires_grad_, zero_grad,
    forward/backward, state_dict / load_state_dict(strict), dtype conversion and save/load round trips."""

    machine_name = "module"

    @initialize(bias=st.booleans(), shared=st.booleans(), container=st.sampled_from(["Sequential", "ModuleList"]))
    def build(self, bias: bool, shared: bool, container: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> None:
            env["m"] = build_net(L, bias, shared, container)

        self.do(f"Net(bias={bias}, shared={shared}, container={container})", fn,
                apis=("Module", "Linear", container, "Module.register_buffer"))

    def snapshot(self, L: Any, env: dict[str, Any]) -> dict[str, Any]:
        return observe_module(L, env["m"]) if "m" in env else {}

    @rule(mode=st.sampled_from(["train()", "eval()", "train(False)", "block.eval()", "train('yes')"]))
    def train_eval(self, mode: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            m = env["m"]
            out = {"train()": lambda: m.train(), "eval()": lambda: m.eval(), "train(False)": lambda: m.train(False),
                   "block.eval()": lambda: m.block.eval(), "train('yes')": lambda: m.train("yes")}[mode]()
            return out is m

        self.do(f"model.{mode}", fn, apis=("Module.train", "Module.eval"))

    @rule(kind=st.sampled_from(["record names", "zero biases", "fill weights"]))
    def apply(self, kind: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            seen: list[str] = []

            def visit(mod: Any) -> None:
                seen.append(type(mod).__name__)
                if kind == "zero biases" and isinstance(mod, L.nn.Linear) and mod.bias is not None:
                    with L.no_grad():
                        mod.bias.zero_()
                if kind == "fill weights" and isinstance(mod, L.nn.Linear):
                    L.nn.init.constant_(mod.weight, 0.25)

            return [env["m"].apply(visit) is env["m"], seen]

        self.do(f"model.apply({kind})", fn, apis=("Module.apply",))

    @rule(flag=st.booleans(), which=st.sampled_from(["model", "head"]))
    def requires_grad_(self, flag: bool, which: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> None:
            (env["m"] if which == "model" else env["m"].head).requires_grad_(flag)

        self.do(f"{which}.requires_grad_({flag})", fn, apis=("Module.requires_grad_",))

    @rule(values=st.lists(st.sampled_from(VALUES), min_size=6, max_size=6), loss=st.sampled_from(["sum", "square"]))
    def forward_backward(self, values: list[float], loss: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            m = env["m"]
            dtype = next(iter(m.parameters())).dtype
            out = m(L.tensor(np.array(values).reshape(2, 3)).to(dtype))
            value = out.sum() if loss == "sum" else (out * out).sum()
            value.backward()
            return value

        self.do(f"model(x).{loss}().backward()", fn, apis=("Module.__call__", "Tensor.backward"))

    @rule(set_to_none=st.sampled_from([None, True, False]))
    def zero_grad(self, set_to_none: bool | None) -> None:
        zero_grad_step(self, "m", "model", "Module", set_to_none)

    @rule(name=st.sampled_from(["extra", "running", "fc1", "a.b", ""]), persistent=st.booleans(),
          value=st.sampled_from(["zeros(4)", "None", "3.0"]))
    def register_buffer(self, name: str, persistent: bool, value: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> None:
            v = {"zeros(4)": L.zeros(4), "None": None, "3.0": 3.0}[value]
            env["m"].register_buffer(name, v, persistent=persistent)

        self.do(f"model.register_buffer({name!r}, {value}, persistent={persistent})", fn,
                apis=("Module.register_buffer",))

    @rule(strict=st.booleans(), edit=st.sampled_from(["same", "missing", "unexpected", "wrong shape", "both",
                                                     "scaled"]))
    def load_state_dict(self, strict: bool, edit: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            m = env["m"]
            sd = {k: v.clone() for k, v in m.state_dict().items()}
            first = next(iter(sd))
            if edit in ("missing", "both"):
                del sd[first]
            if edit in ("unexpected", "both"):
                sd["bogus.weight"] = L.zeros(1)
            if edit == "wrong shape":
                sd[first] = L.zeros(7)
            if edit == "scaled":
                sd = {k: v * 2 for k, v in sd.items()}
            res = m.load_state_dict(sd, strict=strict)
            return [list(res.missing_keys), list(res.unexpected_keys)]

        self.do(f"model.load_state_dict({edit}, strict={strict})", fn, apis=("Module.load_state_dict",))

    @rule(what=st.sampled_from(["state_dict", "param list", "nested"]))
    def save_load(self, what: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            m = env["m"]
            obj: Any = {"state_dict": lambda: m.state_dict(),
                        "param list": lambda: [p.detach() for p in m.parameters()],
                        "nested": lambda: {"model": m.state_dict(), "epoch": 3, "lr": 0.5, "names": ("a", "b"),
                                           "none": None}}[what]()
            buf = io.BytesIO()
            L.save(obj, buf)
            buf.seek(0)
            back = L.load(buf)
            if what == "state_dict":
                m.load_state_dict(back)
            return back

        # what load returns is compared without version counters (torch.load's are a detail of unpickling)
        self.do(f"save/load({what})", fn, apis=("save", "load"),
                observe_result=lambda L, v: observe(L, v, versions=False))

    @rule(call=st.sampled_from(sorted(MODULE_CALLS)))
    def module_call(self, call: str) -> None:
        self.do(f"model.{call}", lambda L, env: MODULE_CALLS[call](L, env["m"]),
                apis=("Module." + call.split("(")[0].split(" ")[0].split(".")[0],))

    @rule(dtype=st.sampled_from(["double", "float", "to(float64)", "to(int64)"]))
    def convert(self, dtype: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            m = env["m"]
            out = {"double": lambda: m.double(), "float": lambda: m.float(),
                   "to(float64)": lambda: m.to(L.float64), "to(int64)": lambda: m.to(L.int64)}[dtype]()
            return out is m

        self.do(f"model.{dtype}", fn, apis=("Module.to",))


# ---- optimisers and schedulers ----------------------------------------------------------------------------
def _loss_of(L: Any, params: list[Any], coef: float) -> Any:
    """A fixed smooth loss of the parameters (the same in every library)."""
    total = None
    for i, p in enumerate(params):
        term = ((p - coef * (i + 1)) ** 2).sum() + (p * coef).sum()
        total = term if total is None else total + term
    return total


#: optimiser construction and misuse, compared by result or exception class
OPTIMIZER_CALLS: dict[str, Callable[[Any, dict[str, Any], dict[str, Any]], Any]] = {
    "optimizer(tensor)": lambda L, env, spec: env["B"].make_optimizer(env["p"][0], spec),
    "optimizer([])": lambda L, env, spec: env["B"].make_optimizer([], spec),
    "optimizer({set of params})": lambda L, env, spec: env["B"].make_optimizer(
        [{"params": set(env["p"][:1])}], spec),
    "optimizer([non-leaf])": lambda L, env, spec: env["B"].make_optimizer([env["p"][0] * 2], spec),
    "optimizer([3])": lambda L, env, spec: env["B"].make_optimizer([3], spec),
    "optimizer(two groups sharing a param)": lambda L, env, spec: env["B"].make_optimizer(
        [{"params": env["p"][:1]}, {"params": env["p"][:1]}], spec),
    "add_param_group(3)": lambda L, env, spec: env["opt"].add_param_group(3),
    "add_param_group(existing param)": lambda L, env, spec: env["opt"].add_param_group({"params": env["p"][0]}),
    "load_state_dict(other group count)": lambda L, env, spec: env["opt"].load_state_dict(
        {"state": {}, "param_groups": []}),
    "load_state_dict(other group size)": lambda L, env, spec: env["opt"].load_state_dict(
        {"state": {}, "param_groups": [{**{k: v for k, v in g.items() if k != "params"}, "params": [0]}
                                       for g in env["opt"].state_dict()["param_groups"]]}),
    "step(closure)": lambda L, env, spec: env["opt"].step(lambda: _loss_of(L, env["p"], 1.0)),
    "param_groups[0]['lr'] = 0.5": lambda L, env, spec: env["opt"].param_groups[0].__setitem__("lr", 0.5),
    "defaults": lambda L, env, spec: sorted(k for k in env["opt"].defaults
                                            if k not in ("differentiable", "fused", "capturable", "foreach",
                                                         "decoupled_weight_decay")),
}


class OptimMachine(TwinMachine):
    """An optimiser (and maybe a scheduler) in mid-training: steps, zero_grad, state_dict round trips
    (directly and through save/load) into fresh instances, clipping, param groups."""

    machine_name = "optim"

    @initialize(data=st.data(), name=st.sampled_from(OPTIMIZERS), groups=st.booleans())
    def build(self, data: Any, name: str, groups: bool) -> None:
        attrs = optimizer_attrs(data.draw, name)
        spec = {"name": name, "attrs": attrs}
        self.spec = spec

        def fn(L: Any, env: dict[str, Any]) -> None:
            rng = np.random.default_rng(1)
            params = [L.tensor(rng.uniform(-1, 1, s).astype(np.float32), requires_grad=True) for s in ((3,), (2, 2))]
            env["p"] = params
            arg: Any = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}] if groups else params
            env["opt"] = env["B"].make_optimizer(arg, spec)
            env["sched"] = None

        self.do(f"{name}(params, {attrs}, groups={groups})", fn, apis=(name,))

    def snapshot(self, L: Any, env: dict[str, Any]) -> dict[str, Any]:
        if "opt" not in env:
            return {}
        # parameters without version counters: how often a step bumps them is an implementation detail
        # (torch's AdamW bumps twice); the version errors themselves are the autograd machine's business
        snap = {"params": [observe(L, p, versions=False) for p in env["p"]],
                "optimizer": observe_optimizer(L, env["opt"])}
        if env["sched"] is not None:
            snap["scheduler.get_last_lr()"] = observe(L, env["sched"].get_last_lr())
        return snap

    @rule(coef=st.sampled_from([0.5, 1.0, -2.0]))
    def backward(self, coef: float) -> None:
        self.do(f"loss({coef}).backward()", lambda L, env: _loss_of(L, env["p"], coef).backward(),
                apis=("Tensor.backward",))

    @rule()
    def step(self) -> None:
        self.do("optimizer.step()", lambda L, env: env["opt"].step(), apis=("Optimizer.step",), tol="training",
                factor=4.0)

    @rule(set_to_none=st.sampled_from([None, True, False]))
    def zero_grad(self, set_to_none: bool | None) -> None:
        zero_grad_step(self, "opt", "optimizer", "Optimizer", set_to_none)

    @rule(via=st.sampled_from(["state_dict", "save/load"]))
    def reload_optimizer(self, via: str) -> None:
        spec = self.spec

        def fn(L: Any, env: dict[str, Any]) -> Any:
            sd = env["opt"].state_dict()
            if via == "save/load":
                buf = io.BytesIO()
                L.save(sd, buf)
                buf.seek(0)
                sd = L.load(buf)
            groups = [{"params": g["params"]} for g in env["opt"].param_groups]
            fresh = env["B"].make_optimizer(groups, spec)
            fresh.load_state_dict(sd)
            env["opt"] = fresh
            if env["sched"] is not None:  # the scheduler follows the new optimizer, with its state
                ssd = env["sched"].state_dict()
                env["sched"] = env["B"].make_scheduler(fresh, {**env["sched_spec"], "attrs": {
                    **env["sched_spec"]["attrs"], "last_epoch": env["sched"].last_epoch}})
                env["sched"].load_state_dict(ssd)
            return observe_optimizer(L, fresh)

        self.do(f"optimizer round trip via {via}", fn, apis=("Optimizer.state_dict", "Optimizer.load_state_dict"))

    @rule(data=st.data(), name=st.sampled_from(SCHEDULERS))
    def add_scheduler(self, data: Any, name: str) -> None:
        assume(all(env.get("sched") is None for env in self.envs.values()))
        attrs = {k: draw_attr(data.draw, v) for k, v in catalog.get(name).attrs.items()}
        spec = {"name": name, "attrs": attrs}

        def fn(L: Any, env: dict[str, Any]) -> Any:
            env["sched"] = env["B"].make_scheduler(env["opt"], spec)
            env["sched_spec"] = spec
            return env["sched"].get_last_lr()

        self.do(f"{name}(optimizer, {attrs})", fn, apis=(name,))

    @precondition(lambda self: all(env.get("sched") is not None for env in self.envs.values()))
    @rule()
    def scheduler_step(self) -> None:
        self.do("scheduler.step()", lambda L, env: env["sched"].step(), apis=("LRScheduler.step",))

    @rule(max_norm=st.sampled_from([0.1, 1.0, 100.0]), norm_type=st.sampled_from([2.0, 1.0, math.inf]),
          foreach=st.sampled_from([None, False]))
    def clip_norm(self, max_norm: float, norm_type: float, foreach: bool | None) -> None:
        self.do(f"clip_grad_norm_(params, {max_norm}, {norm_type})",
                lambda L, env: L.nn.utils.clip_grad_norm_(env["p"], max_norm, norm_type, foreach=foreach),
                apis=("clip_grad_norm_",))

    @rule(value=st.sampled_from([float("nan"), float("inf"), 1e30]), error_if_nonfinite=st.booleans())
    def nonfinite_grad(self, value: float, error_if_nonfinite: bool) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            p = env["p"][0]
            p.grad = L.full_like(p, value)
            return L.nn.utils.clip_grad_norm_(env["p"], 1.0, error_if_nonfinite=error_if_nonfinite)

        self.do(f"p0.grad = {value}; clip_grad_norm_(error_if_nonfinite={error_if_nonfinite})", fn,
                apis=("clip_grad_norm_", "Tensor.grad"))

    @rule(call=st.sampled_from(sorted(OPTIMIZER_CALLS)))
    def optimizer_call(self, call: str) -> None:
        spec = self.spec
        self.do(call, lambda L, env: OPTIMIZER_CALLS[call](L, env, spec), apis=("Optimizer",))

    @rule(lr=st.sampled_from([0.5, -1.0]))
    def add_param_group(self, lr: float) -> None:
        def fn(L: Any, env: dict[str, Any]) -> None:
            p = L.tensor(np.array([0.5, -0.5], dtype=np.float32), requires_grad=True)
            env["opt"].add_param_group({"params": [p], "lr": lr})
            env["p"].append(p)

        self.do(f"optimizer.add_param_group(lr={lr})", fn, apis=("Optimizer.add_param_group",))


def observe_optimizer(L: Any, opt: Any) -> Any:
    """An optimiser's state_dict (state tensors with their dtypes, hyper-parameters per group)."""
    sd = opt.state_dict()
    groups = [{k: v for k, v in g.items() if k not in ("differentiable", "fused", "capturable", "foreach",
                                                         "decoupled_weight_decay")} for g in sd["param_groups"]]
    return observe(L, {"state": sd["state"], "param_groups": groups}, grads=False)


# ---- data ---------------------------------------------------------------------------------------------------
def _rows(L: Any, batch: Any) -> list[Any]:
    """A collated batch as a list of per-sample rows (for multiset comparison of shuffled loaders)."""
    fields = batch if isinstance(batch, (list, tuple)) else [batch]
    arrays = [np.asarray(f.numpy()) if isinstance(f, L.Tensor) else np.asarray(f) for f in fields]
    return [tuple(np.atleast_1d(a[i]).tolist() for a in arrays) for i in range(len(arrays[0]))]


class DataMachine(TwinMachine):
    """Datasets and loaders: TensorDataset, Subset, ConcatDataset, random_split, DataLoader batching with
    ``drop_last`` and custom ``collate_fn``; shuffled loaders are compared as multisets of rows."""

    machine_name = "data"
    datasets = Bundle("datasets")

    def __init__(self) -> None:
        super().__init__()
        for env in self.envs.values():
            env["d"] = []

    def snapshot(self, L: Any, env: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _new(self, action: str, make: Callable[[Any, dict[str, Any]], Any], apis: tuple[str, ...]) -> Any:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            out = make(L, env)
            env["d"].extend(out)
            return [[len(d), [observe(L, d[i], grads=False) for i in range(len(d))]] for d in out]

        n = len(next(iter(self.envs.values()))["d"])
        if self.do(action, fn, apis=apis):
            return multiple(*range(n, len(next(iter(self.envs.values()))["d"])))
        return multiple()

    @rule(target=datasets, n=st.integers(0, 7), width=st.integers(1, 3))
    def tensor_dataset(self, n: int, width: int) -> Any:
        def make(L: Any, env: dict[str, Any]) -> list[Any]:
            x = L.tensor(np.arange(n * width, dtype=np.float32).reshape(n, width))
            y = L.tensor(np.arange(n, dtype=np.int64) % 3)
            return [L.utils.data.TensorDataset(x, y)]

        return self._new(f"TensorDataset(x[{n}x{width}], y[{n}])", make, ("TensorDataset",))

    @rule(target=datasets, d=datasets, indices=st.lists(st.integers(-3, 8), max_size=5))
    def subset(self, d: int, indices: list[int]) -> Any:
        return self._new(f"Subset(d{d}, {indices})",
                         lambda L, env: [L.utils.data.Subset(env["d"][d], indices)], ("Subset",))

    @rule(target=datasets, ds=st.lists(datasets, min_size=1, max_size=3), plus=st.booleans())
    def concat(self, ds: list[int], plus: bool) -> Any:
        def make(L: Any, env: dict[str, Any]) -> list[Any]:
            parts = [env["d"][i] for i in ds]
            if plus and len(parts) == 2:
                return [parts[0] + parts[1]]
            return [L.utils.data.ConcatDataset(parts)]

        return self._new(f"ConcatDataset({ds}{' via +' if plus else ''})", make, ("ConcatDataset",))

    @rule(target=datasets, d=datasets, lengths=st.sampled_from([[0.5, 0.5], [1.0], [0.3, 0.7], [2, 1], [1, 1, 1],
                                                                [0.25, 0.25, 0.5]]), seed=st.integers(0, 3))
    def random_split(self, d: int, lengths: list[float], seed: int) -> Any:
        def make(L: Any, env: dict[str, Any]) -> list[Any]:
            return L.utils.data.random_split(env["d"][d], lengths, generator=L.Generator().manual_seed(seed))

        def compare(L: Any, env: dict[str, Any]) -> Any:
            # the streams differ (minigrad's generator is not torch's), so: the sizes of the parts, and the
            # multiset of their samples; the parts are not tracked further (their order is not comparable)
            parts = make(L, env)
            samples = sorted(repr(observe(L, p[i], grads=False)) for p in parts for i in range(len(p)))
            return [[len(p) for p in parts], samples]

        self.do(f"random_split(d{d}, {lengths}, seed={seed})", compare, apis=("random_split",))
        return multiple()

    @rule(d=datasets, index=st.integers(-9, 9))
    def getitem(self, d: int, index: int) -> None:
        self.do(f"d{d}[{index}]", lambda L, env: env["d"][d][index], apis=("Dataset.__getitem__",))

    @rule(d=datasets, batch_size=st.sampled_from([None, 1, 2, 3, 0]), drop_last=st.booleans(),
          shuffle=st.booleans(), collate=st.sampled_from(["default", "list", "sum"]))
    def loader(self, d: int, batch_size: int | None, drop_last: bool, shuffle: bool, collate: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            collate_fn = {"default": None, "list": lambda b: b,
                          "sum": lambda b: L.stack([s[0].sum() for s in b]) if b else L.zeros(0)}[collate]
            kw = {} if collate_fn is None else {"collate_fn": collate_fn}
            g = L.Generator().manual_seed(0)
            loader = L.utils.data.DataLoader(env["d"][d], batch_size=batch_size, drop_last=drop_last,
                                             shuffle=shuffle, generator=g, **kw)
            batches = list(loader)
            out: dict[str, Any] = {"len": len(loader), "n batches": len(batches)}
            if shuffle and drop_last:  # which samples are dropped depends on the (different) permutation
                out["batch lengths"] = [len(b) for b in batches]
            elif collate == "list" or batch_size is None:
                out["batch lengths"] = [len(b) for b in batches] if collate == "list" else None
                samples = [s for b in batches for s in b] if collate == "list" else batches
                seen = [observe(L, x, grads=False) for x in samples]
                out["samples"] = sorted(map(repr, seen)) if shuffle else seen
            else:
                out["batch sizes"] = [len(_rows(L, b)) for b in batches]
                rows = [r for b in batches for r in _rows(L, b)]
                out["rows"] = sorted(rows) if shuffle else rows
                out["dtypes"] = sorted({_dtype_name(f.dtype) for b in batches
                                        for f in (b if isinstance(b, (list, tuple)) else [b])})
            return out

        self.do(f"DataLoader(d{d}, batch_size={batch_size}, drop_last={drop_last}, shuffle={shuffle}, "
                f"collate_fn={collate})", fn, apis=("DataLoader",))


MACHINES.update({"module": ModuleMachine, "optim": OptimMachine, "data": DataMachine})
