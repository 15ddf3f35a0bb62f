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

import copy
import hashlib
import io
import math
import pickle
import re
import time
import types
import warnings
import zipfile
from collections import Counter, OrderedDict, namedtuple
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


def _harness_error(err: BaseException | None, torch_lib: Any) -> bool:
    """An exception only the harness can cause: an undefined name, or an attribute torch's module lacks (the
    action calls an API torch does not have, or a helper was shadowed by another of the same name)."""
    if isinstance(err, NameError):  # UnboundLocalError included
        return True
    return isinstance(err, AttributeError) and getattr(err, "obj", None) is torch_lib


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
    #: fixed programs ``((rule, kwargs), ...)`` run before the random ones, so that long tables of calls are
    #: compared entry by entry in every run (random programs reach only a sample of them)
    sweeps: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = ()
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
        if _harness_error(terr, self.envs[REFERENCE]["L"]):
            # both sides failing alike would "agree" and hide that the action never ran: a harness bug
            raise RuntimeError(f"harness error in action {action!r}: torch raised {_exception_class(terr)}({terr})") \
                from terr
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
    for sweep in cls.sweeps:
        failure = run_program(cls, sweep)
        if failure:
            return f"{name} machine: {failure[0]}", failure[1], stats
    try:
        with with_reporter(printed.append):
            run_state_machine_as_test(cls, settings=conf)
    except StatefulMismatch as e:
        program = _program("\n".join(printed + list(getattr(e, "__notes__", []))))
        return f"{name} machine: {e}", program, stats
    return None, "", stats


def run_program(cls: type[TwinMachine], program: tuple[tuple[str, dict[str, Any]], ...]) -> tuple[str, str] | None:
    """Run a fixed program on a machine: None, or the mismatch and the program up to the failing step
    (printed as hypothesis prints one)."""
    machine = cls()
    lines = [f"state = {cls.__name__}()"]
    try:
        for step, kwargs in program:
            lines.append(f"state.{step}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})")
            getattr(machine, step)(**kwargs)
    except StatefulMismatch as e:
        return str(e), "\n".join([*lines, "state.teardown()"])
    finally:
        machine.teardown()
    return None


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
    h2 = m.head.register_forward_hook(
        lambda mod, args, out: seen.append([args[0].detach().clone(), out.detach().clone()]) or out + 1)
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


def _attempt(fn: Callable[[], Any]) -> Any:
    """``fn()``, or ``'raises <builtin class>'``: several calls compared in one action, each by outcome."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the exception class is what is compared
        return f"raises {_exception_class(e)}"


def _kinds(mods: Any) -> list[str]:
    """The class names of a container's modules, in order (None stays None)."""
    return [None if c is None else type(c).__name__ for c in mods]


def _hook_calls(L: Any, m: Any, kind: str) -> Any:
    """Forward hooks with torch's options on ``m.head`` (each records what it saw), then removed."""
    seen: list[Any] = []
    head = m.head
    dtype = next(iter(m.parameters())).dtype
    x = L.ones(2, 3, dtype=dtype)
    handles = []
    if kind == "with_kwargs":
        def pre(mod: Any, args: Any, kwargs: Any) -> Any:
            seen.append(["pre", len(args), sorted(kwargs)])
            return ((args[0] * 3,), kwargs) if args else None

        handles.append(head.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(head.register_forward_hook(
            lambda mod, args, kwargs, out: seen.append(["post", [a.detach().clone() for a in args], sorted(kwargs)]),
            with_kwargs=True))
        seen.append(head(input=L.ones(2, 4, dtype=dtype)))  # keyword arguments reach the with_kwargs hooks only
    elif kind == "prepend":
        handles.append(head.register_forward_pre_hook(lambda mod, args: seen.append("pre second")))
        handles.append(head.register_forward_pre_hook(lambda mod, args: seen.append("pre first") or args[0] - 1,
                                                      prepend=True))
        handles.append(head.register_forward_hook(lambda mod, args, out: seen.append("post second") or out * 2))
        handles.append(head.register_forward_hook(
            lambda mod, args, out: seen.append(["post first", args[0].detach().clone()]), prepend=True))
    elif kind == "always_call":
        # a pre-hook that fails: forward never runs, the always_call hook still does, then the error propagates
        handles.append(head.register_forward_pre_hook(lambda mod, args: args[0].reshape(7)))
        handles.append(head.register_forward_hook(
            lambda mod, args, kwargs, out: seen.append(["always", out, sorted(kwargs)]) or "replaced",
            always_call=True, with_kwargs=True))
        handles.append(head.register_forward_hook(lambda mod, args, out: seen.append(["always plain", out]),
                                                  always_call=True))
        handles.append(head.register_forward_hook(lambda mod, args, out: seen.append("never")))
    elif kind == "always_call after forward":
        # forward runs; a plain hook fails after the first always_call hook ran (not run again) and before
        # the second (run on the error path, its own error only a warning)
        handles.append(head.register_forward_hook(lambda mod, args, out: seen.append(["first", out.shape[-1]]),
                                                  always_call=True))
        handles.append(head.register_forward_hook(lambda mod, args, out: out.reshape(7)))
        handles.append(head.register_forward_hook(
            lambda mod, args, out: seen.append(["second", out.shape[-1]]) or out.reshape(9), always_call=True))
    elif kind == "bad pre-hook result":
        handles.append(head.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True))
    out = _attempt(lambda: m(x))
    for h in handles:
        h.remove()
    return [out, seen, m(x)]


def _before_init(L: Any, what: str) -> Any:
    """Registering state in a subclass before ``super().__init__()``: torch's AttributeError."""
    nn = L.nn

    class Early(nn.Module):
        def __init__(self) -> None:
            if what == "parameter":
                self.w = nn.Parameter(L.zeros(1))
            elif what == "module":
                self.sub = nn.Identity()
            elif what == "register_parameter":
                self.register_parameter("w", None)
            else:
                self.register_buffer("b", None)
            super().__init__()

    return Early()


def _deepcopy_model(L: Any, m: Any) -> Any:
    """``copy.deepcopy(model)``: new parameters without gradients, shared modules still shared, the same
    names and values (version counters left out: torch's deep-copied buffers start at 1, a copying detail)."""
    c = copy.deepcopy(m)
    return [[[k, observe(L, t, versions=False)] for k, t in [*c.named_parameters(), *c.named_buffers()]],
            [k for k, _ in c.named_modules(remove_duplicate=False)], c.fc1.weight is m.fc1.weight,
            [k for k, _ in c.named_parameters(remove_duplicate=False)], c.training, repr(c)]


def _non_leaf_parameter(L: Any) -> Any:
    """A Parameter that is not a leaf: one not requiring grad, changed in place by a tensor that does."""
    p = L.nn.Parameter(L.zeros(2), requires_grad=False)
    p.add_(L.ones(2, requires_grad=True))
    return p


def _run_block(L: Any, b: Any) -> Any:
    """Call the container itself (a Sequential chains its modules; a ModuleList has no forward)."""
    p = next(iter(b.parameters()), None)
    return b(L.ones(2, 4, dtype=L.float32 if p is None else p.dtype))


def _copy_parameter(L: Any, m: Any) -> Any:
    """``copy.copy`` of a parameter: torch's shares the values (an in-place change shows in the model)."""
    c = copy.copy(m.head.weight)
    with L.no_grad():
        c.mul_(2)
    return [type(c).__name__, c is m.head.weight, c.requires_grad, c.grad is None, m.head.weight]


def _constant_linear4(L: Any) -> Any:
    """A Linear(4, 4) with constant parameters, to put into the model's ``block``."""
    layer = L.nn.Linear(4, 4)
    for p in layer.parameters():
        L.nn.init.constant_(p, 0.25)
    return layer


#: editing the model's ``block`` (a Sequential or a ModuleList) as a list; every module keeps 4 features
CONTAINER_EDITS: dict[str, Callable[[Any, Any], Any]] = {
    "del block[0]": lambda L, b: b.__delitem__(0),
    "del block[-1]": lambda L, b: b.__delitem__(-1),
    "del block[1:]": lambda L, b: b.__delitem__(slice(1, None)),
    "del block[5]": lambda L, b: b.__delitem__(5),
    "block[0] = Identity()": lambda L, b: b.__setitem__(0, L.nn.Identity()),
    "block[-1] = Linear": lambda L, b: b.__setitem__(-1, _constant_linear4(L)),
    "block[0] = 3": lambda L, b: b.__setitem__(0, 3),
    "block[-3] = ReLU()": lambda L, b: b.__setitem__(-3, L.nn.ReLU()),
    "block.append(ReLU())": lambda L, b: type(b.append(L.nn.ReLU())).__name__,
    "block.extend([Identity(), Linear])": lambda L, b: _kinds(b.extend([L.nn.Identity(), _constant_linear4(L)])),
    "block.extend(Linear)": lambda L, b: b.extend(_constant_linear4(L)),
    "block.extend(3)": lambda L, b: b.extend(3),
    "block.insert(0, Linear)": lambda L, b: _kinds(b.insert(0, _constant_linear4(L)) or b),
    "block.insert(1, ReLU())": lambda L, b: _kinds(b.insert(1, L.nn.ReLU()) or b),
    "block.insert(-1, Sigmoid())": lambda L, b: _kinds(b.insert(-1, L.nn.Sigmoid()) or b),
    "block.insert(len, Tanh())": lambda L, b: _kinds(b.insert(len(b), L.nn.Tanh()) or b),
    "block.insert(99, ReLU())": lambda L, b: _kinds(b.insert(99, L.nn.ReLU()) or b),
    "block.pop(0)": lambda L, b: type(b.pop(0)).__name__,
    "block.pop(-1)": lambda L, b: type(b.pop(-1)).__name__,
    "block += block[:1]": lambda L, b: _kinds(b.__iadd__(b[:1])),
    "block += [ReLU()]": lambda L, b: _kinds(b.__iadd__([L.nn.ReLU()])),
    "block *= 2": lambda L, b: _kinds(b.__imul__(2)),
    "reads": lambda L, b: [
        _attempt(lambda: type(b[-1]).__name__), _attempt(lambda: type(b[0]).__name__), _attempt(lambda: b[7]),
        _attempt(lambda: b[1.5]), _attempt(lambda: [type(b[::-1]).__name__, _kinds(b[::-1])]),
        _attempt(lambda: _kinds(b[1:])), len(b), _kinds(b), [k for k in dir(b) if k[0].isdigit() or k == "training"],
        _attempt(lambda: _run_block(L, b)), repr(b),
    ],
    "block + other": lambda L, b: [
        _attempt(lambda: [type(b + b).__name__, _kinds(b + b)]),
        _attempt(lambda: _kinds(b + [L.nn.ReLU()])), _attempt(lambda: _kinds(b + L.nn.Sequential(L.nn.ReLU()))),
        _attempt(lambda: _kinds(2 * b)), _attempt(lambda: _kinds(b * 3)), _attempt(lambda: b * 0),
        _attempt(lambda: b * 1.5), _attempt(lambda: b.__imul__(-1)), _attempt(lambda: b.__iadd__(3)),
        # (a ModuleList stores a non-module: the model would be broken for both libraries)
        _attempt(lambda: L.nn.Sequential(L.nn.ReLU()).insert(0, 3)),
        repr(L.nn.ModuleList()), repr(L.nn.Sequential()), L.nn.Sequential()(L.ones(1)),
        repr(L.nn.ModuleList([L.nn.ReLU(), L.nn.ReLU(), L.nn.Sequential(L.nn.Tanh(), L.nn.Flatten()), L.nn.ReLU()])),
    ],
}

#: the forward input of a constructed module: (input kind, target kind); None: no target (a layer)
_LOSS_INPUTS = {
    "regression": ([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]], [[1.0, 0.0, 2.0], [-1.0, 1.0, 0.5]]),
    "binary": ([[0.25, 0.5, 0.75], [0.1, 0.9, 0.5]], [[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]]),
    "class": ([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]], [2, 1]),
    "hinge": ([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]], [[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]]),
}
#: layer/activation/loss constructors with default, explicit, legacy and invalid arguments:
#: ``name: (factory(L), loss input kind or None for a one-input module)``
MODULE_CONSTRUCTORS: dict[str, tuple[Callable[[Any], Any], str | None]] = {
    "ReLU()": (lambda L: L.nn.ReLU(), None),
    "ReLU(inplace=True)": (lambda L: L.nn.ReLU(inplace=True), None),
    "ReLU6(True)": (lambda L: L.nn.ReLU6(True), None),
    "LeakyReLU()": (lambda L: L.nn.LeakyReLU(), None),
    "LeakyReLU(0.2, True)": (lambda L: L.nn.LeakyReLU(0.2, True), None),
    "ELU()": (lambda L: L.nn.ELU(), None),
    "ELU(alpha=0.5, inplace=True)": (lambda L: L.nn.ELU(alpha=0.5, inplace=True), None),
    "GELU()": (lambda L: L.nn.GELU(), None),
    "GELU('tanh')": (lambda L: L.nn.GELU("tanh"), None),
    "SiLU(True)": (lambda L: L.nn.SiLU(True), None),
    "Softplus()": (lambda L: L.nn.Softplus(), None),
    "Softplus(2.0, 1.0)": (lambda L: L.nn.Softplus(2.0, 1.0), None),
    "Hardtanh()": (lambda L: L.nn.Hardtanh(), None),
    "Hardtanh(-2.0, 0.5, True)": (lambda L: L.nn.Hardtanh(-2.0, 0.5, True), None),
    "Hardtanh(max_val=3.0)": (lambda L: L.nn.Hardtanh(max_val=3.0), None),
    "Hardtanh(1.0, -1.0)": (lambda L: L.nn.Hardtanh(1.0, -1.0), None),
    "Hardtanh(min_value=-0.5, max_value=0.5)": (lambda L: L.nn.Hardtanh(min_value=-0.5, max_value=0.5), None),
    "Sigmoid()": (lambda L: L.nn.Sigmoid(), None),
    "Tanh()": (lambda L: L.nn.Tanh(), None),
    "Softmax()": (lambda L: L.nn.Softmax(), None),
    "Softmax(-1)": (lambda L: L.nn.Softmax(-1), None),
    "LogSoftmax()": (lambda L: L.nn.LogSoftmax(), None),
    "LogSoftmax(dim=1)": (lambda L: L.nn.LogSoftmax(dim=1), None),
    "Dropout().eval()": (lambda L: L.nn.Dropout().eval(), None),
    "Dropout(0.0, True)": (lambda L: L.nn.Dropout(0.0, True), None),
    "Dropout(1.5)": (lambda L: L.nn.Dropout(1.5), None),
    "Flatten()": (lambda L: L.nn.Flatten(), None),
    "Flatten(0)": (lambda L: L.nn.Flatten(0), None),
    "Flatten(0, 1)": (lambda L: L.nn.Flatten(0, 1), None),
    "Flatten(end_dim=1)": (lambda L: L.nn.Flatten(end_dim=1), None),
    "Flatten(2, 0)": (lambda L: L.nn.Flatten(2, 0), None),
    "Identity(3, k=1)": (lambda L: L.nn.Identity(3, k=1), None),
    "Linear(3, 2)": (lambda L: L.nn.Linear(3, 2), None),
    "Linear(3, 2, False, dtype=float64)": (lambda L: L.nn.Linear(3, 2, False, dtype=L.float64), None),
    "Linear(3, 2, device='cpu')": (lambda L: L.nn.Linear(3, 2, device="cpu"), None),
    "MSELoss()": (lambda L: L.nn.MSELoss(), "regression"),
    "MSELoss(size_average=False)": (lambda L: L.nn.MSELoss(size_average=False), "regression"),
    "MSELoss(True, False)": (lambda L: L.nn.MSELoss(True, False), "regression"),
    "L1Loss(reduction='sum')": (lambda L: L.nn.L1Loss(reduction="sum"), "regression"),
    "L1Loss(None, False, 'sum')": (lambda L: L.nn.L1Loss(None, False, "sum"), "regression"),
    "HuberLoss(delta=0.5)": (lambda L: L.nn.HuberLoss(delta=0.5), "regression"),
    "SmoothL1Loss(False)": (lambda L: L.nn.SmoothL1Loss(False), "regression"),
    "SmoothL1Loss(beta=0.5)": (lambda L: L.nn.SmoothL1Loss(beta=0.5), "regression"),
    "BCELoss()": (lambda L: L.nn.BCELoss(), "binary"),
    "BCELoss(weight, reduction='none')": (lambda L: L.nn.BCELoss(L.tensor([1.0, 2.0, 0.5]), reduction="none"),
                                          "binary"),
    "BCEWithLogitsLoss()": (lambda L: L.nn.BCEWithLogitsLoss(), "binary"),
    "BCEWithLogitsLoss(None, False)": (lambda L: L.nn.BCEWithLogitsLoss(None, False), "binary"),
    "BCEWithLogitsLoss(None, None, False)": (lambda L: L.nn.BCEWithLogitsLoss(None, None, False), "binary"),
    "BCEWithLogitsLoss(reduce=True, size_average=False)": (
        lambda L: L.nn.BCEWithLogitsLoss(reduce=True, size_average=False), "binary"),
    "BCEWithLogitsLoss(pos_weight=[2, 1, 0.5])": (
        lambda L: L.nn.BCEWithLogitsLoss(pos_weight=L.tensor([2.0, 1.0, 0.5])), "binary"),
    "CrossEntropyLoss()": (lambda L: L.nn.CrossEntropyLoss(), "class"),
    "CrossEntropyLoss(weight, label_smoothing=0.1)": (
        lambda L: L.nn.CrossEntropyLoss(L.tensor([1.0, 2.0, 0.5]), label_smoothing=0.1), "class"),
    "CrossEntropyLoss(ignore_index=1, reduce=False)": (
        lambda L: L.nn.CrossEntropyLoss(ignore_index=1, reduce=False), "class"),
    "CrossEntropyLoss(reduction='bogus')": (lambda L: L.nn.CrossEntropyLoss(reduction="bogus"), "class"),
    "NLLLoss(ignore_index=2)": (lambda L: L.nn.NLLLoss(ignore_index=2), "class"),
    "NLLLoss(size_average=False)": (lambda L: L.nn.NLLLoss(size_average=False), "class"),
    "MultiMarginLoss()": (lambda L: L.nn.MultiMarginLoss(), "class"),
    "MultiMarginLoss(p=2, margin=0.5)": (lambda L: L.nn.MultiMarginLoss(p=2, margin=0.5), "class"),
    "MultiMarginLoss(p=3)": (lambda L: L.nn.MultiMarginLoss(p=3), "class"),
    "MultiMarginLoss(weight=2-D)": (lambda L: L.nn.MultiMarginLoss(weight=L.ones(2, 2)), "class"),
    "HingeEmbeddingLoss()": (lambda L: L.nn.HingeEmbeddingLoss(), "hinge"),
    "HingeEmbeddingLoss(0.5, reduce=False)": (lambda L: L.nn.HingeEmbeddingLoss(0.5, reduce=False), "hinge"),
}
#: the constructor arguments a module keeps as attributes (compared when either library has them)
MODULE_ATTRS = ("inplace", "negative_slope", "alpha", "approximate", "beta", "threshold", "min_val", "max_val",
                "dim", "p", "start_dim", "end_dim", "in_features", "out_features", "reduction", "ignore_index",
                "label_smoothing", "delta", "margin", "training")


def observe_constructed(L: Any, name: str) -> Any:
    """Construct a module, then its attributes, repr, state_dict and forward value and gradient (parameters
    set to constants: the libraries' random streams differ)."""
    factory, loss_kind = MODULE_CONSTRUCTORS[name]
    mod = factory(L)
    with L.no_grad():
        for p in mod.parameters():
            p.fill_(0.5)
    out: dict[str, Any] = {
        "attrs": {a: getattr(mod, a) for a in MODULE_ATTRS if hasattr(mod, a)},
        "repr": repr(mod), "state_dict": observe(L, dict(mod.state_dict())),
    }
    if loss_kind is None:
        x = L.tensor([[[0.5, -1.5, 2.5]], [[0.0, 1.0, -0.25]]], requires_grad=True)  # (2, 1, 3)
        args = [x * 1.0]  # in-place modules may write to it
    else:
        values, target = _LOSS_INPUTS[loss_kind]
        x = L.tensor(values, requires_grad=True)
        args = [x * 1.0, L.tensor(target)]
    y = _attempt(lambda: mod(*args))
    out["forward"] = y
    if isinstance(y, L.Tensor):
        y.sum().backward()
        out["x.grad"] = x.grad
    return out


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
    "lookups": lambda L, m: [
        _attempt(lambda: type(m.get_submodule("block.0")).__name__), _attempt(lambda: m.get_submodule("block.9")),
        _attempt(lambda: m.get_submodule("act.inplace")), _attempt(lambda: type(m.get_submodule("block")).__name__),
        _attempt(lambda: type(m.get_submodule("head")).__name__), _attempt(lambda: m.get_parameter("fc1.bias")),
        _attempt(lambda: m.get_parameter("head.bias")), _attempt(lambda: m.get_parameter("block")),
        _attempt(lambda: m.get_parameter("nope.weight")), _attempt(lambda: m.get_parameter("running")),
        _attempt(lambda: m.get_buffer("running")), _attempt(lambda: m.get_buffer("scratch")),
        _attempt(lambda: m.get_buffer("fc1.weight")), _attempt(lambda: m.get_buffer("block.nope")),
        _attempt(lambda: m.get_buffer("training")),
    ],
    "modules(remove_duplicate=False)": lambda L, m: _kinds(m.modules(remove_duplicate=False)),
    "named_modules(prefix='net')": lambda L, m: [k for k, _ in m.named_modules(prefix="net")],
    "named_buffers(prefix='b', recurse=False)": lambda L, m: [k for k, _ in m.named_buffers("b", False)],
    "buffers(recurse=False)": lambda L, m: list(m.buffers(recurse=False)),
    "state_dict(None, 'q.', True)": lambda L, m: {k: v.requires_grad for k, v in m.state_dict(None, "q.", True).items()},
    "state_dict(destination=dict)": lambda L, m: list(m.head.state_dict(destination={"x": 1}, prefix="h.")),
    "load_state_dict results": lambda L, m: [
        repr(m.load_state_dict({"bogus": L.zeros(1)}, strict=False)), str(m.load_state_dict(m.state_dict()))],
    "repr(model)": lambda L, m: repr(m),
    "dir(model)": lambda L, m: [k for k in dir(m) if not k.startswith("_") and not hasattr(type(m), k)],
    "deepcopy(model)": _deepcopy_model,
    # version counters after unpickling are a detail of unpickling (torch's are 1), as for save/load
    "pickle(head)": lambda L, m: [[k, observe(L, p, versions=False)]
                                  for k, p in pickle.loads(pickle.dumps(m.head)).named_parameters()],
    "copy.copy(head.weight) shares values": _copy_parameter,
    "Parameter forms": lambda L, m: [
        _attempt(lambda: L.nn.Parameter(L.tensor([1, 2]))), L.nn.Parameter(L.tensor([1, 2]), requires_grad=False),
        L.nn.Parameter(), L.nn.Parameter(requires_grad=False), _attempt(lambda: L.nn.Parameter([1.0])),
        type(L.nn.Parameter(L.nn.Parameter(L.ones(1)))).__name__, repr(L.nn.Parameter(L.ones(2))),
        str(L.nn.Parameter(L.tensor([0.5, 1.5]), False)),  # (minigrad pads no column for a minus sign)
        (lambda x, p: [x.add_(1), p, p is x])(*(lambda x: (x, L.nn.Parameter(x)))(L.zeros(2)))[1:],
        (lambda p: [p.requires_grad_(False), p.requires_grad, p.is_leaf][1:])(L.nn.Parameter(L.ones(1))),
        (lambda p: [copy.deepcopy(p), copy.deepcopy([p, p])[1] is not p])(L.nn.Parameter(L.ones(1) * 3)),
    ],
    "head.weight.requires_grad_(False)": lambda L, m: m.head.weight.requires_grad_(False),
    "head.weight.grad = non-leaf; zero_grad(False)": lambda L, m: [
        setattr(m.head.weight, "grad", L.ones(tuple(m.head.weight.shape), dtype=m.head.weight.dtype,
                                                 requires_grad=True) * 2), m.zero_grad(set_to_none=False)],
    "head.weight.grad = ones(requires_grad); zero_grad(False)": lambda L, m: [
        setattr(m.head.weight, "grad", L.ones(tuple(m.head.weight.shape), dtype=m.head.weight.dtype,
                                                 requires_grad=True)), m.zero_grad(set_to_none=False)],
    "registration before __init__": lambda L, m: [
        _attempt(lambda w=w: _before_init(L, w)) for w in ("parameter", "module", "register_parameter", "buffer")],
    "registration errors": lambda L, m: [
        _attempt(lambda: m.add_module("training", L.nn.Identity())), _attempt(lambda: m.add_module("", None)),
        _attempt(lambda: m.add_module(1, None)), _attempt(lambda: m.add_module("a.b", None)),
        _attempt(lambda: m.register_parameter("head", L.nn.Parameter(L.ones(1)))),
        _attempt(lambda: m.register_parameter("", None)), _attempt(lambda: m.register_buffer(2, None)),
        _attempt(lambda: m.register_parameter("nl", _non_leaf_parameter(L))),
    ],
    "running = Parameter(zeros(4))": lambda L, m: setattr(m, "running", L.nn.Parameter(L.zeros(4))),
    "head.weight = Linear": lambda L, m: setattr(m.head, "weight", _constant_linear(L)),
    "sub = Identity(); sub = None; del sub": lambda L, m: [
        setattr(m, "sub", L.nn.Identity()), setattr(m, "sub", None), [k for k, _ in m.named_children()],
        _attempt(lambda: delattr(m, "sub")), _attempt(lambda: delattr(m, "sub"))],
    "del nope": lambda L, m: delattr(m, "nope"),
    "running = None; double()": lambda L, m: [setattr(m, "running", None), m.double() is m],
    "hooks(with_kwargs)": lambda L, m: _hook_calls(L, m, "with_kwargs"),
    "hooks(prepend)": lambda L, m: _hook_calls(L, m, "prepend"),
    "hooks(always_call)": lambda L, m: _hook_calls(L, m, "always_call"),
    "hooks(always_call after forward)": lambda L, m: _hook_calls(L, m, "always_call after forward"),
    "hooks(bad pre-hook result)": lambda L, m: _hook_calls(L, m, "bad pre-hook result"),
    "Module().forward(x)": lambda L, m: L.nn.Module().forward(L.zeros(1)),
    "type(int64)": lambda L, m: m.type(L.int64) is m,
}


#: the MODULE_CALLS that leave the model as it was (lookups, copies, reprs, calls that must raise): drawn by
#: their own rule, several a step, so that a ci run reaches each of them
PROBE_CALLS = frozenset({
    "parameters(recurse=False)", "named_parameters(prefix='net', recurse=False)", "head.named_parameters(prefix='h')",
    "buffers()", "children()", "modules()", "named_modules(remove_duplicate=False)", "get_submodule('block.0')",
    "get_submodule('nope')", "get_submodule('')", "get_parameter('head.weight')", "get_parameter('head.nope')",
    "state_dict(prefix='p.')", "state_dict(keep_vars=True)", "load_state_dict(list)", "register_parameter('x', tensor)",
    "register_parameter('a.b', Parameter)", "register_parameter(1, None)", "register_parameter(non-leaf)",
    "add_module('bad', 3)", "head.weight = tensor", "block = 3", "running = 3", "missing attribute", "forward hooks",
    "Module()(x)", "Module(3)", "train(1)", "to('cpu')", "cpu()", "extra_repr()", "lookups",
    "modules(remove_duplicate=False)", "named_modules(prefix='net')", "named_buffers(prefix='b', recurse=False)",
    "buffers(recurse=False)", "state_dict(None, 'q.', True)", "state_dict(destination=dict)",
    "load_state_dict results", "repr(model)", "dir(model)", "deepcopy(model)", "pickle(head)", "Parameter forms",
    "registration before __init__", "registration errors", "del nope", "hooks(with_kwargs)", "hooks(prepend)",
    "hooks(always_call)", "hooks(always_call after forward)", "hooks(bad pre-hook result)", "Module().forward(x)",
})


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

    def _calls(self, calls: list[str]) -> None:
        for call in calls:
            self.do(f"model.{call}", lambda L, env, call=call: MODULE_CALLS[call](L, env["m"]),
                    apis=("Module." + call.split("(")[0].split(" ")[0].split(".")[0],))

    @rule(calls=st.lists(st.sampled_from(sorted(set(MODULE_CALLS) - PROBE_CALLS)), min_size=1, max_size=2))
    def module_call(self, calls: list[str]) -> None:
        self._calls(calls)

    @rule(calls=st.lists(st.sampled_from(sorted(PROBE_CALLS)), min_size=1, max_size=3, unique=True))
    def module_probe(self, calls: list[str]) -> None:
        self._calls(calls)

    @rule(edits=st.lists(st.sampled_from(sorted(CONTAINER_EDITS)), min_size=1, max_size=2))
    def edit_block(self, edits: list[str]) -> None:
        """The model's Sequential / ModuleList edited as a list (then traversal, state_dict, forward see it)."""
        for edit in edits:
            self.do(f"model.{edit}", lambda L, env, edit=edit: CONTAINER_EDITS[edit](L, env["m"].block),
                    apis=("Sequential", "ModuleList"))

    def construct(self, names: list[str]) -> None:
        """Layers, activations and losses built with default, explicit, legacy and invalid arguments, compared
        by attributes, repr, state_dict, forward value and input gradient (or the constructor's error).

        A step of the sweep only, not a rule: it does not depend on the model, so random programs add nothing."""
        self.do(f"construct({', '.join(names)})",
                lambda L, env: {n: _attempt(lambda n=n: observe_constructed(L, n)) for n in names},
                apis=tuple("nn." + n.split("(")[0] for n in names))

    @rule(dtype=st.sampled_from(["double", "float", "to(float64)", "to(int64)"]))
    def convert(self, dtype: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            m = env["m"]
            out = {"double": lambda: m.double(), "float": lambda: m.float(),
                   "to(float64)": lambda: m.to(L.float64), "to(int64)": lambda: m.to(L.int64)}[dtype]()
            return out is m

        self.do(f"model.{dtype}", fn, apis=("Module.to",))


def _module_sweeps() -> tuple[tuple[tuple[str, dict[str, Any]], ...], ...]:
    """Every probe, container edit, mutating call and constructor once, on each container kind."""
    edits = ["reads", *sorted(CONTAINER_EDITS), "reads"]
    last = ("head.weight = Linear", "head.bias = None", "block = None", "del running", "del head")  # break the model
    mutating = [c for c in sorted(set(MODULE_CALLS) - PROBE_CALLS) if c not in last] + list(last)
    programs = []
    for container in ("Sequential", "ModuleList"):
        shared = container == "Sequential"
        programs.append((("build", {"bias": shared, "shared": shared, "container": container}),
                         ("module_probe", {"calls": sorted(PROBE_CALLS)}), ("edit_block", {"edits": edits}),
                         ("module_call", {"calls": mutating})))
    programs.append((("build", {"bias": True, "shared": False, "container": "Sequential"}),
                     ("construct", {"names": sorted(MODULE_CONSTRUCTORS)})))
    return tuple(programs)


ModuleMachine.sweeps = _module_sweeps()


# ---- optimisers and schedulers ----------------------------------------------------------------------------
def _loss_of(L: Any, params: list[Any], coef: float) -> Any:
    """A fixed smooth loss of the parameters (the same in every library)."""
    total = None
    for i, p in enumerate(params):
        term = ((p - coef * (i + 1)) ** 2).sum() + (p * coef).sum()
        total = term if total is None else total + term
    return total


def masked(L: Any, text: str) -> str:
    """A message with the library's own name (and torch's) read as ``<lib>``, addresses masked."""
    name = L.__name__.split(".")[0]
    return re.sub(rf"\b{re.escape(name)}\b", "<lib>", normalise(text, "<lib>"))


def outcome(L: Any, call: Callable[[], Any], *, message: bool = True, warns: bool = False,
            show: Callable[[Any, Any], Any] | None = None) -> Any:
    """What ``call()`` gives as plain data: its result observed (``show(L, value)``, default :func:`observe`
    without grads), or its exception as ``"Class: message"`` (the message :func:`masked`; ``message=False``:
    the class only, where torch's message names C++ internals). ``warns``: ``[result, warnings issued]``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call()
            result = (show or (lambda L_, v: observe(L_, v, grads=False)))(L, value)
        except Exception as e:  # noqa: BLE001 - the exception is the outcome
            result = f"{_exception_class(e)}: {masked(L, str(e))}" if message else _exception_class(e)
    if not warns:
        return result
    return [result, [f"{w.category.__name__}: {masked(L, str(w.message))}" for w in caught]]


def chunks(table: dict[str, Any], size: int) -> list[tuple[str, ...]]:
    """The table's keys in groups of about ``size`` (one machine step runs a group: every entry is reached in
    a few dozen steps, and a failure still names its entry)."""
    keys = sorted(table)
    n = max(1, math.ceil(len(keys) / size))
    return [tuple(keys[i::n]) for i in range(n)]


def run_group(L: Any, table: dict[str, Callable[[Any], Any]], group: tuple[str, ...],
              class_only: frozenset[str] = frozenset(), warns: bool = True) -> dict[str, Any]:
    """Every entry of ``group`` by its :func:`outcome` (with its warnings)."""
    return {k: outcome(L, lambda k=k: table[k](L), warns=warns, message=k not in class_only) for k in group}


def _step_twice(L: Any, opt: Any, p: Any) -> Any:
    """Two steps with a fixed gradient; the optimiser's state and the parameter after them."""
    for _ in range(2):
        p.grad = L.full_like(p, 0.5)
        opt.step()
    return [observe_optimizer(L, opt), observe(L, p, grads=False, versions=False)]


def _hyper_cases(name: str) -> list[tuple[str, dict[str, Any]]]:
    """Each hyper-parameter of optimiser ``name`` just outside its valid range and on its boundary (plus
    weight decay 1 and the nesterov constraints): torch's ValueError and message, or the state after two steps."""
    attrs = catalog.get(name).attrs
    cases: list[tuple[str, dict[str, Any]]] = []
    for key in ("lr", "eps", "weight_decay", "momentum", "dampening", "alpha", "lr_decay",
                "initial_accumulator_value"):
        if key in attrs:
            cases += [(f"{key}=-0.5", {key: -0.5}), (f"{key}=0", {key: 0.0})]
    if "weight_decay" in attrs:
        cases.append(("weight_decay=1", {"weight_decay": 1.0}))
    if "betas" in attrs:
        cases += [(f"betas={b}", {"betas": b}) for b in ((1.0, 0.9), (0.9, 1.0), (-0.1, 0.9), (0.0, 0.0))]
    if "nesterov" in attrs:
        cases += [("nesterov without momentum", {"nesterov": True}),
                  ("nesterov with dampening", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
                  ("nesterov", {"nesterov": True, "momentum": 0.9})]
    for flag in ("amsgrad", "maximize", "centered", "foreach"):
        if flag in attrs or flag == "foreach":
            cases.append((f"{flag}=True", {flag: True}))
    return cases


class _Decay:
    """A callable lr_lambda with state (LambdaLR's state_dict keeps a callable object's ``__dict__``)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __call__(self, epoch: int) -> float:
        return self.factor ** epoch


#: LambdaLR's lr_lambda forms: one function, one per group, the wrong count, a callable object with state
LAMBDA_FORMS: dict[str, Callable[[int], Any]] = {
    "lambda": lambda groups: (lambda epoch: 0.5 ** epoch),
    "one per group": lambda groups: [(lambda epoch, k=k: 1.0 / (1 + k + epoch)) for k in range(groups)],
    "three": lambda groups: [lambda epoch: 1.0] * 3,
    "callable object": lambda groups: _Decay(0.8),
    "callable objects per group": lambda groups: [_Decay(0.5 + 0.1 * k) for k in range(groups)],
}


def _optimizer_module(L: Any) -> Any:
    """``<lib>.optim.optimizer`` (torch does not import it as an attribute of ``torch.optim``)."""
    import importlib

    return importlib.import_module(f"{L.__name__}.optim.optimizer")


def _duplicate_params(L: Any, env: dict[str, Any], spec: dict[str, Any]) -> Any:
    return observe_optimizer(L, env["B"].make_optimizer([env["p"][0], env["p"][0]], spec))


def _load_extra_state(L: Any, env: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A state dict with entries the optimiser does not make: an int tensor, a float64 tensor, a number, a
    list of tensors, and state under an index no parameter has."""
    opt = env["opt"]
    sd = opt.state_dict()
    sd["state"] = {k: dict(v) for k, v in sd["state"].items()}
    for v in sd["state"].values():  # the optimisers' own __setstate__ reads their usual entries: keep them
        v.update({"mask": L.tensor([1, 0, 1]), "wide": L.ones(3, dtype=L.float64), "count": 3,
                  "pair": [L.ones(2, dtype=L.float64), 1.5]})
    if sd["state"]:
        sd["state"][99] = {**next(iter(sd["state"].values())), "orphan": L.zeros(1)}
    opt.load_state_dict(sd)
    return observe_optimizer(L, opt)


def _betas_as_list(L: Any, env: dict[str, Any], spec: dict[str, Any]) -> Any:
    sd = env["opt"].state_dict()
    sd["param_groups"] = [{**g, **({"betas": list(g["betas"])} if "betas" in g else {})} for g in sd["param_groups"]]
    env["opt"].load_state_dict(sd)
    return [type(g.get("betas")).__name__ for g in env["opt"].param_groups]


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

#: more optimiser calls, compared with torch's message and warnings too (see :func:`outcome`)
OPTIMIZER_CHECKS: dict[str, Callable[[Any, dict[str, Any], dict[str, Any]], Any]] = {
    "Optimizer(params, {'lr': required})": lambda L, env, spec: L.optim.Optimizer(
        [env["p"][0]], {"lr": _optimizer_module(L).required}),
    "repr(required)": lambda L, env, spec: repr(_optimizer_module(L).required),
    "Optimizer(params, {'lr': 0.1}).step()": lambda L, env, spec: L.optim.Optimizer([env["p"][0]], {"lr": 0.1}).step(),
    "optimizer([p, p])": _duplicate_params,
    "repr(optimizer)": lambda L, env, spec: masked(L, repr(env["opt"])),
    "LRScheduler(optimizer)": lambda L, env, spec: L.optim.lr_scheduler.LRScheduler(
        getattr(L.optim, spec["name"])([L.zeros(1, requires_grad=True)])),
    "deepcopy(optimizer)": lambda L, env, spec: observe_optimizer(L, copy.deepcopy(env["opt"])),
    "load_state_dict(extra state)": _load_extra_state,
    "load_state_dict(betas as a list)": _betas_as_list,
    "default construction": lambda L, env, spec: {
        k: v for k, v in getattr(L.optim, spec["name"])([L.zeros(2, requires_grad=True)]).defaults.items()
        if k not in ("differentiable", "fused", "capturable")},
    "default construction, two steps": lambda L, env, spec: _step_twice(
        L, getattr(L.optim, spec["name"])([q := L.ones(3, requires_grad=True)]), q),
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
            snap["scheduler.state_dict()"] = observe(L, env["sched"].state_dict())
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

    @rule(data=st.data(), name=st.sampled_from(SCHEDULERS), last_epoch=st.sampled_from([-1, -1, 0, 3]))
    def add_scheduler(self, data: Any, name: str, last_epoch: int) -> None:
        # a second scheduler replaces the first; last_epoch >= 0 resumes (it needs 'initial_lr' in the groups,
        # which only an earlier scheduler puts there: KeyError otherwise)
        attrs = {k: draw_attr(data.draw, v) for k, v in catalog.get(name).attrs.items()}
        if last_epoch != -1:
            attrs["last_epoch"] = last_epoch
        spec = {"name": name, "attrs": attrs}

        def fn(L: Any, env: dict[str, Any]) -> Any:
            sched = env["B"].make_scheduler(env["opt"], spec)
            env["sched"], env["sched_spec"] = sched, spec
            return sched.get_last_lr()

        self.do(f"{name}(optimizer, {attrs})", lambda L, env: outcome(L, lambda: fn(L, env), warns=True),
                apis=(name,))

    @rule(form=st.sampled_from(sorted(LAMBDA_FORMS)), last_epoch=st.sampled_from([-1, 2]))
    def add_lambda_scheduler(self, form: str, last_epoch: int) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            lr_lambda = LAMBDA_FORMS[form](len(env["opt"].param_groups))
            sched = L.optim.lr_scheduler.LambdaLR(env["opt"], lr_lambda, last_epoch=last_epoch)
            env["sched"], env["sched_spec"] = sched, {"name": "LambdaLR", "attrs": {"lr_lambda": lr_lambda}}
            return sched.get_last_lr()

        self.do(f"LambdaLR(optimizer, {form}, last_epoch={last_epoch})",
                lambda L, env: outcome(L, lambda: fn(L, env), warns=True), apis=("LambdaLR",))

    @precondition(lambda self: all(env.get("sched") is not None for env in self.envs.values()))
    @rule(how=st.sampled_from(["step()", "step()", "step()", "step(0)", "step(2)", "step(5)", "get_lr()",
                               "step() after replacing optimizer.step", "state_dict round trip"]))
    def scheduler_step(self, how: str) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            sched = env["sched"]
            if how == "get_lr()":
                return sched.get_lr()
            if how == "state_dict round trip":  # into a scheduler resumed from the same epoch
                sd = sched.state_dict()
                spec = env["sched_spec"]
                fresh = env["B"].make_scheduler(env["opt"], {**spec, "attrs": {**spec["attrs"],
                                                                               "last_epoch": sched.last_epoch}})
                fresh.load_state_dict(sd)
                env["sched"] = fresh
                return fresh.get_last_lr()
            if how.startswith("step() after"):  # torch warns once the wrapped step is gone
                opt = env["opt"]
                opt.step = types.MethodType(type(opt).step, opt)
                return sched.step()
            return sched.step() if how == "step()" else sched.step(int(how[5:-1]))

        self.do(f"scheduler.{how}", lambda L, env: outcome(L, lambda: fn(L, env), warns=True),
                apis=("LRScheduler.step",))

    @precondition(lambda self: getattr(self, "hyper_steps", 0) < 2)
    @rule(name=st.sampled_from(SCHEDULERS))
    def scheduler_lifecycle(self, name: str) -> None:
        """A fresh SGD and scheduler through every path of the scheduler API, in order: step() before
        optimizer.step() (warning), get_lr() outside step() (warning), step(epoch) (closed form, deprecation
        warning), a state_dict round trip into a resumed scheduler, and an overridden optimizer.step (warning)."""
        attrs = {k: v["choice"][0] for k, v in catalog.get(name).attrs.items()}
        spec = {"name": name, "attrs": attrs}

        def fn(L: Any, env: dict[str, Any]) -> Any:
            p = L.tensor(np.array([1.0, -1.0], dtype=np.float32), requires_grad=True)
            opt = L.optim.SGD([p], lr=0.5)
            out: dict[str, Any] = {}

            def step(label: str, call: Callable[[], Any]) -> None:
                out[label] = outcome(L, lambda: [call(), opt.param_groups[0]["lr"]], warns=True)

            sched = env["B"].make_scheduler(opt, spec)
            step("step() first", sched.step)
            step("optimizer.step(); step()", lambda: [opt.step(), sched.step()])
            step("get_lr()", sched.get_lr)
            for epoch in (0, 2, 5):
                step(f"step({epoch})", lambda epoch=epoch: sched.step(epoch))
            resumed = env["B"].make_scheduler(opt, {**spec, "attrs": {**attrs, "last_epoch": sched.last_epoch}})
            resumed.load_state_dict(sched.state_dict())
            step("resumed: step()", resumed.step)
            out["state_dict"] = observe(L, resumed.state_dict())
            fresh = env["B"].make_scheduler(opt, {**spec, "attrs": {**attrs, "last_epoch": 3}})
            step("resumed without its state: step()", fresh.step)
            again = env["B"].make_scheduler(opt, spec)
            opt.step = types.MethodType(type(opt).step, opt)  # after the scheduler wrapped it
            step("overridden optimizer.step: step()", again.step)
            return out

        self.do(f"{name}: the scheduler API in order", fn, apis=(name, "LRScheduler.step"))

    @rule(name=st.sampled_from(OPTIMIZERS), part=st.integers(0, 2))
    def hyperparameters(self, name: str, part: int) -> None:
        """A third of an optimiser's hyper-parameter cases (at most twice per program: they cost ~10 ms each)."""
        self.hyper_steps = getattr(self, "hyper_steps", 0) + 1

        def fn(L: Any, env: dict[str, Any]) -> Any:
            out = {}
            for label, kwargs in _hyper_cases(name)[part::3]:
                def run(kwargs: dict[str, Any] = kwargs) -> Any:
                    p = L.tensor(np.array([0.5, -1.0, 2.0], dtype=np.float32), requires_grad=True)
                    return _step_twice(L, getattr(L.optim, name)([p], **kwargs), p)

                out[label] = outcome(L, run, warns=True)
            return out

        self.do(f"{name}: hyper-parameters at and beyond their bounds, part {part}", fn, apis=(name,),
                tol="training")

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

    @rule(call=st.sampled_from(sorted(OPTIMIZER_CHECKS)))
    def optimizer_check(self, call: str) -> None:
        spec = self.spec
        self.do(call, lambda L, env: outcome(L, lambda: OPTIMIZER_CHECKS[call](L, env, spec), warns=True),
                apis=("Optimizer",), tol="training")

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


Pair = namedtuple("Pair", ["a", "b"])

#: samples of a map-style Dataset subclass, by kind (what default_collate and default_convert must handle)
RECORD_KINDS: dict[str, Callable[[Any, int], Any]] = {
    "dict": lambda L, i: {"x": L.tensor([float(i), i + 0.5]), "y": i, "name": f"s{i}",
                          "arr": np.array([i, -i], dtype=np.int32)},
    "tuple": lambda L, i: (np.array([i, 2 * i], dtype=np.float32), i / 2, bool(i % 2)),
    "namedtuple": lambda L, i: Pair(i, L.tensor(float(i))),
    "nested list": lambda L, i: [i, [i, i + 1], (np.float64(i), np.int64(-i))],
    "ndarray": lambda L, i: np.arange(3.0) * i,
    "str": lambda L, i: f"item{i}",
    "ragged": lambda L, i: [0] * (i % 2 + 1),
    "object": lambda L, i: object(),
    "ordered dict": lambda L, i: OrderedDict([("b", i), ("a", float(i))]),
}


def typed(L: Any, v: Any) -> Any:
    """``v`` observed with the type of every container and element (a tuple is not a list here)."""
    if isinstance(v, L.Tensor):
        return ["Tensor", observe(L, v, grads=False)]
    if isinstance(v, dict):
        return [type(v).__name__, [[str(k), typed(L, x)] for k, x in v.items()]]
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, [typed(L, x) for x in v]]
    if isinstance(v, np.ndarray):
        return ["ndarray", v]
    return [type(v).__name__, v if isinstance(v, (bool, int, float, str, np.generic)) else None]


def _records(L: Any, kind: str, n: int) -> Any:
    """A Dataset subclass (of the library's Dataset) with ``n`` samples of ``kind``."""
    class Records(L.utils.data.Dataset):
        def __len__(self) -> int:
            return n

        def __getitem__(self, i: int) -> Any:
            if not 0 <= i < n:
                raise IndexError(f"record {i} out of range")
            return RECORD_KINDS[kind](L, i)

    return Records()


#: DataLoader argument forms over a records dataset (``sampler``/``batch_sampler`` as plain lists, misuse)
LOADER_FORMS: dict[str, Callable[[int], dict[str, Any]]] = {
    "batch_size=2": lambda n: {"batch_size": 2},
    "batch_size=None": lambda n: {"batch_size": None},
    "batch_size=3, drop_last": lambda n: {"batch_size": 3, "drop_last": True},
    "sampler=reversed": lambda n: {"batch_size": 2, "sampler": list(range(n))[::-1]},
    "batch_size=None, sampler": lambda n: {"batch_size": None, "sampler": [n - 1, 0] if n else []},
    "batch_sampler": lambda n: {"batch_sampler": [[i, 0] for i in range(n)][::-1]},
    "batch_sampler, batch_size=2": lambda n: {"batch_sampler": [[0]], "batch_size": 2},
    "batch_sampler, shuffle": lambda n: {"batch_sampler": [[0]], "shuffle": True},
    "sampler, shuffle": lambda n: {"sampler": [0], "shuffle": True},
    "batch_size=None, drop_last": lambda n: {"batch_size": None, "drop_last": True},
    "num_workers=-1": lambda n: {"num_workers": -1},
    "timeout=-1": lambda n: {"timeout": -1},
    "batch_size=0": lambda n: {"batch_size": 0},
    "batch_size=True": lambda n: {"batch_size": True},
    "shuffle, generator": lambda n: {"batch_size": n or 1, "shuffle": True, "collate_fn": lambda b: b},
}


def _load_all(L: Any, dataset: Any, form: str, n: int) -> Any:
    kwargs = LOADER_FORMS[form](n)
    if kwargs.get("shuffle") and "sampler" not in kwargs and "batch_sampler" not in kwargs:
        kwargs["generator"] = L.Generator().manual_seed(0)
    loader = L.utils.data.DataLoader(dataset, **kwargs)
    batches = list(loader)
    if form == "shuffle, generator":  # one uncollated batch of every sample: the order differs, the multiset not
        return [len(loader), [sorted(repr(typed(L, x)) for x in b) for b in batches]]
    return [len(loader), [typed(L, b) for b in batches]]


#: dataset API misuse and corners, compared with torch's message
DATA_CHECKS: dict[str, Callable[[Any], Any]] = {
    "Dataset()[0]": lambda L: L.utils.data.Dataset()[0],
    "TensorDataset(x[3], y[2])": lambda L: L.utils.data.TensorDataset(L.zeros(3), L.zeros(2)),
    "ConcatDataset([])": lambda L: L.utils.data.ConcatDataset([]),
    "Subset(d, [2, 0])[[0, 1]]": lambda L: L.utils.data.Subset(
        L.utils.data.TensorDataset(L.arange(4.0)), [2, 0, 3])[[0, 1]],
    "random_split(range(5), [0.9, 0.1])": lambda L: [list(s) for s in L.utils.data.random_split(
        range(5), [0.9, 0.1], generator=L.Generator().manual_seed(0))][1],
    "random_split(range(7), [0.3, 0.3, 0.4]) sizes": lambda L: [len(s) for s in L.utils.data.random_split(
        range(7), [0.3, 0.3, 0.4])],
    "random_split(range(5), [0.5, 0.6])": lambda L: L.utils.data.random_split(range(5), [0.5, 0.6]),
    "random_split(range(5), [1.5, -0.5])": lambda L: L.utils.data.random_split(range(5), [1.5, -0.5]),
    "random_split(range(4), [3, 3])": lambda L: L.utils.data.random_split(range(4), [3, 3]),
    "default_collate([])": lambda L: L.utils.data.default_collate([]),
    "default_collate([{'a': 1}, {'a': 2}])": lambda L: typed(L, L.utils.data.default_collate([{"a": 1}, {"a": 2}])),
    "default_collate([(1, 2.5), (3, 4.5)])": lambda L: typed(L, L.utils.data.default_collate([(1, 2.5), (3, 4.5)])),
    "default_collate([True, False])": lambda L: typed(L, L.utils.data.default_collate([True, False])),
    "default_collate([np.float32(1), np.float32(2)])": lambda L: typed(
        L, L.utils.data.default_collate([np.float32(1), np.float32(2)])),
    "default_collate([b'a', b'b'])": lambda L: typed(L, L.utils.data.default_collate([b"a", b"b"])),
}


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

    @rule(n=st.integers(0, 4), form=st.sampled_from(sorted(LOADER_FORMS)))
    def records(self, n: int, form: str) -> None:
        """Dataset subclasses of samples of every kind through one DataLoader form: every batch with its types."""
        self.do(f"DataLoader(Records(every kind, n={n}), {form})",
                lambda L, env: {kind: outcome(L, lambda kind=kind: _load_all(L, _records(L, kind, n), form, n),
                                              warns=True, show=lambda L_, v: v) for kind in sorted(RECORD_KINDS)},
                apis=("DataLoader", "default_collate", "Dataset"))

    @rule(group=st.sampled_from(chunks(DATA_CHECKS, 4)))
    def data_check(self, group: tuple[str, ...]) -> None:
        self.do(f"datasets: {', '.join(group)}", lambda L, env: run_group(L, DATA_CHECKS, group),
                apis=("utils.data",))

    @rule(d=datasets, indices=st.lists(st.integers(-2, 6), max_size=3))
    def getitems(self, d: int, indices: list[int]) -> None:
        """A Subset indexed by a list (the dataset gets the list of mapped indices)."""
        self.do(f"Subset(d{d}, range)[{indices}]", lambda L, env: outcome(
            L, lambda: L.utils.data.Subset(env["d"][d], list(range(len(env["d"][d]))))[indices], message=False),
            apis=("Subset",))

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


# ---- creation functions, dtypes, devices, generators and checkpoints ------------------------------------------
DTYPE_NAMES = ("bool", "int32", "int64", "float32", "float64")


def _dtype(L: Any, name: str) -> Any:
    return getattr(L, name)


#: a dtype's attributes and the calls that take one
DTYPE_QUERIES: dict[str, Callable[[Any, Any], Any]] = {
    "is_floating_point": lambda L, d: d.is_floating_point, "is_signed": lambda L, d: d.is_signed,
    "itemsize": lambda L, d: d.itemsize, "is_complex": lambda L, d: d.is_complex,
    "str": lambda L, d: masked(L, str(d)), "repr": lambda L, d: masked(L, repr(d)),
    "== float32": lambda L, d: d == L.float32, "hash stable": lambda L, d: hash(d) == hash(_dtype(L, str(d).split(".")[-1])),
    "deepcopy is itself": lambda L, d: copy.deepcopy(d) is d, "zeros(2, dtype=d)": lambda L, d: L.zeros(2, dtype=d),
    "tensor([1, 0, 2], dtype=d)": lambda L, d: L.tensor([1, 0, 2], dtype=d),
    "arange(3, dtype=d)": lambda L, d: L.arange(3, dtype=d), "eye(2, dtype=d)": lambda L, d: L.eye(2, dtype=d),
    "ones(2).to(d)": lambda L, d: L.ones(2).to(d), "set_default_dtype(d)": lambda L, d: _with_default(L, d),
    "can_cast(d, each)": lambda L, d: [L.can_cast(d, _dtype(L, n)) for n in DTYPE_NAMES],
    "can_cast(each, d)": lambda L, d: [L.can_cast(_dtype(L, n), d) for n in DTYPE_NAMES],
    "rand(2, dtype=d)": lambda L, d: L.zeros_like(L.rand(2, dtype=d)),
    "randn(2, dtype=d)": lambda L, d: L.zeros_like(L.randn(2, dtype=d)),
    "randint(0, 3, (2,), dtype=d) bounds": lambda L, d: L.randint(0, 3, (2,), dtype=d).dtype,
}


def _with_default(L: Any, d: Any) -> Any:
    """set_default_dtype(d), then what a float literal becomes; the default is restored afterwards."""
    old = L.get_default_dtype()
    try:
        L.set_default_dtype(d)
        return [L.get_default_dtype(), L.tensor([1.5]).dtype, L.arange(0.5, 2).dtype]
    finally:
        L.set_default_dtype(old)


def _promotion_operand(L: Any, kind: str, name: str) -> Any:
    """An operand of dtype ``name``: a 1-d tensor, a 0-d tensor or a Python scalar of its category."""
    value = {"bool": True, "int32": 2, "int64": 3}.get(name, 2.5)
    if kind == "scalar":
        return value
    return L.tensor([value, value] if kind == "tensor" else value, dtype=_dtype(L, name))


def _promotion(L: Any, a: str, b: str) -> Any:
    """promote_types both ways, and result_type and the dtype of ``x * y`` for every pair of operand kinds."""
    da, db = _dtype(L, a), _dtype(L, b)
    out: dict[str, Any] = {"promote_types(a, b)": L.promote_types(da, db), "promote_types(b, a)": L.promote_types(db, da)}
    for ka in ("tensor", "0-d", "scalar"):
        for kb in ("tensor", "0-d", "scalar"):
            x, y = _promotion_operand(L, ka, a), _promotion_operand(L, kb, b)
            out[f"result_type({ka} {a}, {kb} {b})"] = outcome(L, lambda x=x, y=y: L.result_type(x, y), message=False)
            if ka != "scalar" or kb != "scalar":
                out[f"({ka} {a} * {kb} {b}).dtype"] = outcome(L, lambda x=x, y=y: (x * y).dtype, message=False)
    return out


def _shares(L: Any, make: Callable[[Any, np.ndarray], Any]) -> Any:
    """Whether a tensor made from an ndarray sees a later write to the array (and the dtype it got)."""
    a = np.zeros(3, dtype=np.float64)
    t = make(L, a)
    a[0] = 5.0
    return [t.dtype, t.tolist()]


def _in_range(t: Any, high: int) -> Any:
    """A random integer tensor's dtype, shape and whether every value is in [0, high)."""
    values = np.asarray(t.numpy())
    return [t.dtype, list(t.shape), bool(np.all((values >= 0) & (values < high)))]


#: creation functions' argument variants and misuse (compared under the current default dtype)
CREATE_CHECKS: dict[str, Callable[[Any], Any]] = {
    "zeros(2, dtype=float)": lambda L: L.zeros(2, dtype=float), "ones(2, dtype=int)": lambda L: L.ones(2, dtype=int),
    "full((2,), 1, dtype=bool)": lambda L: L.full((2,), 1, dtype=bool),
    "zeros(2, dtype='float32')": lambda L: L.zeros(2, dtype="float32"),
    "ones(2, dtype=np.float32)": lambda L: L.ones(2, dtype=np.float32),
    "tensor([1.], dtype=np.float64)": lambda L: L.tensor([1.0], dtype=np.float64),
    "arange(3, dtype='int64')": lambda L: L.arange(3, dtype="int64"),
    "tensor([1, 2.5, True])": lambda L: L.tensor([1, 2.5, True]), "tensor([[1, 2], [3]])": lambda L: L.tensor([[1, 2], [3]]),
    "tensor([[[1], [2, 3]]])": lambda L: L.tensor([[[1], [2, 3]]]), "tensor([[1], 2])": lambda L: L.tensor([[1], 2]),
    "tensor([1, [2]])": lambda L: L.tensor([1, [2]]), "tensor(object())": lambda L: L.tensor(object()),
    "tensor(None)": lambda L: L.tensor(None), "tensor('a')": lambda L: L.tensor("a"),
    "tensor([None], dtype=float32)": lambda L: L.tensor([None], dtype=L.float32),
    "tensor(object(), dtype=float64)": lambda L: L.tensor(object(), dtype=L.float64),
    "result_type(ones(2), 'a')": lambda L: L.result_type(L.ones(2), "a"),
    "tensor(tensor([1, 2]))": lambda L: L.tensor(L.tensor([1, 2])),
    "tensor([tensor(1.), tensor(2.)])": lambda L: L.tensor([L.tensor(1.0), L.tensor(2.0)]),
    "tensor([tensor(1.).double(), 2])": lambda L: L.tensor([L.tensor(1.0).double(), 2]),
    "tensor([np.float32(1.5), 2])": lambda L: L.tensor([np.float32(1.5), 2]),
    "tensor(np.float64(2.5))": lambda L: L.tensor(np.float64(2.5)), "tensor(np.int32(3))": lambda L: L.tensor(np.int32(3)),
    "tensor([np.int32(1), 2])": lambda L: L.tensor([np.int32(1), 2]), "tensor([np.int32(1)])": lambda L: L.tensor([np.int32(1)]),
    "tensor([np.float64(1.5), 2])": lambda L: L.tensor([np.float64(1.5), 2]), "tensor(np.bool_(True))": lambda L: L.tensor(np.bool_(True)),
    "tensor([[]])": lambda L: L.tensor([[]]), "tensor(1.5, requires_grad=True)": lambda L: L.tensor(1.5, requires_grad=True),
    "tensor([1, 2], requires_grad=True)": lambda L: L.tensor([1, 2], requires_grad=True),
    "as_tensor(ndarray) shares": lambda L: _shares(L, lambda L_, a: L_.as_tensor(a)),
    "as_tensor(ndarray, dtype=float32) copies": lambda L: _shares(L, lambda L_, a: L_.as_tensor(a, dtype=L_.float32)),
    "as_tensor(ndarray, dtype=float64) shares": lambda L: _shares(L, lambda L_, a: L_.as_tensor(a, dtype=L_.float64)),
    "from_numpy shares": lambda L: _shares(L, lambda L_, a: L_.from_numpy(a)),
    "tensor(ndarray) copies": lambda L: _shares(L, lambda L_, a: L_.tensor(a)),
    "as_tensor(t) is t": lambda L: (lambda t: L.as_tensor(t) is t)(L.ones(2)),
    "as_tensor(t, dtype=int64)": lambda L: L.as_tensor(L.ones(2), dtype=L.int64),
    "as_tensor([1, 2], dtype=float64)": lambda L: L.as_tensor([1, 2], dtype=L.float64),
    "from_numpy([1])": lambda L: L.from_numpy([1]),
    "full((2,), tensor(3))": lambda L: L.full((2,), L.tensor(3)), "full([2, 2], 2)": lambda L: L.full([2, 2], 2),
    "full((2,), 1.5, dtype=int64)": lambda L: L.full((2,), 1.5, dtype=L.int64),
    "full((2,), 2.5)": lambda L: L.full((2,), 2.5), "full((2,), False)": lambda L: L.full((2,), False),
    "arange(5, 0)": lambda L: L.arange(5, 0), "arange(0, 5, -1)": lambda L: L.arange(0, 5, -1),
    "arange(5, 0, -2)": lambda L: L.arange(5, 0, -2), "arange(0, 1, 0.3)": lambda L: L.arange(0, 1, 0.3),
    "arange(0.5, 2)": lambda L: L.arange(0.5, 2), "arange(3, dtype=float32)": lambda L: L.arange(3, dtype=L.float32),
    "arange(2, 2)": lambda L: L.arange(2, 2), "arange(np.int64(3))": lambda L: L.arange(np.int64(3)),
    "linspace(0, 1, 1)": lambda L: L.linspace(0, 1, 1), "linspace(0, 1, 0)": lambda L: L.linspace(0, 1, 0),
    "linspace(0, 1, -1)": lambda L: L.linspace(0, 1, -1),
    "linspace(0, 10, 5, dtype=int64)": lambda L: L.linspace(0, 10, 5, dtype=L.int64),
    "linspace(-1, 1, 3, requires_grad=True)": lambda L: L.linspace(-1, 1, 3, requires_grad=True),
    "eye(0)": lambda L: L.eye(0), "eye(-1)": lambda L: L.eye(-1), "eye(2, -1)": lambda L: L.eye(2, -1),
    "eye(2, dtype=bool)": lambda L: L.eye(2, dtype=L.bool), "eye(2, requires_grad=True)": lambda L: L.eye(2, requires_grad=True),
    "zeros_like(int, dtype=float64)": lambda L: L.zeros_like(L.ones(2, dtype=L.int64), dtype=L.float64),
    "ones_like(x, requires_grad=True)": lambda L: L.ones_like(L.zeros(2), requires_grad=True),
    "full_like(int, 2.5)": lambda L: L.full_like(L.ones(2, dtype=L.int64), 2.5),
    "empty_like(x, dtype=bool).dtype": lambda L: L.empty_like(L.zeros(2), dtype=L.bool).dtype,
    "rand_like(x) shape": lambda L: L.zeros_like(L.rand_like(L.ones(2, 3))),
    "randn_like(x, dtype=float64) shape": lambda L: L.zeros_like(L.randn_like(L.ones(2), dtype=L.float64)),
    "rand_like(int)": lambda L: L.rand_like(L.ones(2, dtype=L.int64)),
    "randn_like(int32)": lambda L: L.randn_like(L.ones(2, dtype=L.int32)),
    "rand(2, dtype=int64)": lambda L: L.rand(2, dtype=L.int64), "randn(2, dtype=bool)": lambda L: L.randn(2, dtype=L.bool),
    "randn(2, requires_grad=True) flags": lambda L: [L.randn(2, requires_grad=True).requires_grad],
    "randint(3, (2,)) bounds": lambda L: _in_range(L.randint(3, (2,)), 3),
    "randint(2, 5, (4,), dtype=float32).dtype": lambda L: L.randint(2, 5, (4,), dtype=L.float32).dtype,
    "randint(5, size=(3,)) bounds": lambda L: _in_range(L.randint(5, size=(3,)), 5),
    "randint(3, 3, (2,))": lambda L: L.randint(3, 3, (2,)),
    "randint(-1, 1, (2,), dtype=bool)": lambda L: L.randint(-1, 1, (2,), dtype=L.bool),
    "randint(0, 2**40, (2,), dtype=int32)": lambda L: L.randint(0, 2**40, (2,), dtype=L.int32),
    "randperm(4, dtype=float32) sorted": lambda L: (lambda r: [r.dtype, sorted(r.tolist())])(L.randperm(4, dtype=L.float32)),
    "x.new_tensor([1, 2])": lambda L: L.ones(2).new_tensor([1, 2]),
    "x.new_tensor([1.5], requires_grad=True)": lambda L: L.ones(2).new_tensor([1.5], requires_grad=True),
    "x.new_zeros(2, 3)": lambda L: L.ones(2, dtype=L.int64).new_zeros(2, 3),
    "x.new_ones((2,), dtype=int64)": lambda L: L.ones(2).new_ones((2,), dtype=L.int64),
    "x.new_full((2,), 3)": lambda L: L.ones(2).new_full((2,), 3),
    "x.new_empty(2) dtype": lambda L: L.ones(2, dtype=L.float64).new_empty(2).dtype,
    "zeros(2, device='cpu')": lambda L: L.zeros(2, device="cpu"),
    "zeros(2, device='cpu:0')": lambda L: L.zeros(2, device="cpu:0"),
    "ones(2, device=device('cpu', 1))": lambda L: L.ones(2, device=L.device("cpu", 1)),
    "ones(2, device='cuda')": lambda L: L.ones(2, device="cuda"),
    "zeros(2, device='bogus')": lambda L: L.zeros(2, device="bogus"),
    "ones(2).to('cpu:1')": lambda L: L.ones(2).to("cpu:1"),
    "zeros(2).to(device('cpu', 0))": lambda L: L.zeros(2).to(L.device("cpu", 0)),
}

#: creation checks compared by exception class only: torch's message lists the C++ overloads of the function
CREATE_CLASS_ONLY = frozenset({"arange(3, dtype='int64')", "result_type(ones(2), 'a')"})

_DEVICE_ARGS: dict[str, tuple[Any, ...]] = {
    "'cpu'": ("cpu",), "'cpu', 0": ("cpu", 0), "'cpu:0'": ("cpu:0",), "'cuda:1'": ("cuda:1",), "'cuda'": ("cuda",),
    "'meta'": ("meta",), "'nope'": ("nope",), "''": ("",), "'cpu:x'": ("cpu:x",), "'cpu:-1'": ("cpu:-1",),
    "'cpu', -1": ("cpu", -1), "'cpu:1', 2": ("cpu:1", 2), "'cuda', 'x'": ("cuda", "x"), "'cpu:01'": ("cpu:01",),
    "'CPU'": ("CPU",), "'cpu:0:0'": ("cpu:0:0",), "None": (None,),
}


def _device_facts(L: Any, d: Any) -> Any:
    return [str(d), repr(d), d.type, d.index, d == L.device("cpu"), d == L.device(str(d)),
            hash(d) == hash(L.device(str(d))), d == str(d)]


#: devices, tensor.device and generators
DEVICE_CHECKS: dict[str, Callable[[Any], Any]] = {
    **{f"device({k})": (lambda args: lambda L: _device_facts(L, L.device(*args)))(v) for k, v in _DEVICE_ARGS.items()},
    "device(device('cpu', 0))": lambda L: _device_facts(L, L.device(L.device("cpu", 0))),
    "device(type='cpu', index=2)": lambda L: _device_facts(L, L.device(type="cpu", index=2)),
    "ones(2).device": lambda L: _device_facts(L, L.ones(2).device),
    "{device('cpu'): 1}[device('cpu')]": lambda L: {L.device("cpu"): 1}[L.device("cpu")],
    "Generator().initial_seed()": lambda L: L.Generator().initial_seed(),
    "Generator().manual_seed(5).initial_seed()": lambda L: L.Generator().manual_seed(5).initial_seed(),
    "manual_seed(7); initial_seed()": lambda L: [L.manual_seed(7) is not None, L.initial_seed()],
    "rand(2, generator=1)": lambda L: L.rand(2, generator=1),
}


def _round_trip(L: Any, obj: Any, via: str = "buffer", **load_kwargs: Any) -> Any:
    """``obj`` saved and loaded back: through a seekable buffer, a stream that cannot seek, or a file path."""
    if via == "path":
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/checkpoint.pt"
            L.save(obj, path)
            return L.load(path, **load_kwargs)
    buf = io.BytesIO()
    L.save(obj, buf)
    buf.seek(0)
    if via == "stream":
        class Stream:  # read() only
            def read(self, n: int = -1) -> bytes:
                return buf.read(n)

        return L.load(Stream(), **load_kwargs)
    back = L.load(buf, **load_kwargs)
    return back


def _not_a_checkpoint(L: Any, layout: str | None) -> Any:
    """A zip archive that is no checkpoint of either library: plain, or a NumPy archive whose ``__layout__``
    entry names an unknown format or entry kind."""
    buf = io.BytesIO()
    if layout is None:
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("junk.txt", "not a checkpoint")
    else:
        np.savez(buf, __layout__=np.array(layout))
    buf.seek(0)
    return L.load(buf)


_NESTED = {"model": {"w": [1.0, 2.0]}, "epoch": 3, "lr": 0.5, "names": ("a", "b"), "none": None, 7: "int key",
           "flags": [True, False], "nan": float("nan"), "inf": [float("inf"), -math.inf]}

#: checkpoints: what save/load keeps, where the bytes go, and files that are not checkpoints
SAVE_CHECKS: dict[str, Callable[[Any], Any]] = {
    "nested containers": lambda L: typed(L, _round_trip(L, {**_NESTED, "t": L.tensor([1.0, 2.0])})),
    "OrderedDict": lambda L: typed(L, _round_trip(L, OrderedDict([("b", L.ones(2)), ("a", 1)]))),
    "tensor requiring grad": lambda L: _round_trip(L, L.tensor([1.0, 2.0], requires_grad=True)),
    "int64 and bool tensors": lambda L: _round_trip(L, [L.tensor([1, 2]), L.tensor([True, False])]),
    "0-d and empty tensors": lambda L: _round_trip(L, [L.tensor(2.5), L.zeros(0, 3)]),
    "through a file path": lambda L: typed(L, _round_trip(L, {"t": L.ones(2), "n": 1}, via="path")),
    "through a stream without seek": lambda L: typed(L, _round_trip(L, [L.ones(2), 3], via="stream")),
    "load(map_location='cpu')": lambda L: _round_trip(L, L.ones(2), map_location="cpu"),
    "load(map_location=device('cpu'))": lambda L: _round_trip(L, L.ones(2), map_location=L.device("cpu")),
    "load(weights_only=False)": lambda L: _round_trip(L, L.ones(2), weights_only=False),
    "ndarray, weights_only=False": lambda L: typed(L, _round_trip(L, np.arange(3), weights_only=False)),
    "ndarray, weights_only default": lambda L: _round_trip(L, np.arange(3)),
    "from_numpy(np.array(['a']))": lambda L: L.from_numpy(np.array(["a"])),
    "buffer position after load": lambda L: (lambda buf: [L.save([1, 2], buf), buf.seek(0), L.load(buf),
                                                         buf.tell() == len(buf.getvalue())][-1])(io.BytesIO()),
    "empty file": lambda L: L.load(io.BytesIO(b"")),
    "a zip that is no checkpoint": lambda L: _not_a_checkpoint(L, None),
    "an npz with an unknown layout": lambda L: _not_a_checkpoint(L, '{"format": "other", "root": 1}'),
    "an npz with an unknown entry": lambda L: _not_a_checkpoint(L, '{"format": "minigrad-npz-1", "root": {"$": "x"}}'),
}

#: checks compared by exception class only: torch's message names its pickler or C++ reader
SAVE_CLASS_ONLY = frozenset({"empty file", "ndarray, weights_only default", "from_numpy(np.array(['a']))", "a zip that is no checkpoint", "an npz with an unknown layout",
                             "an npz with an unknown entry"})


class FactoryMachine(TwinMachine):
    """Creation functions and their keyword variants, dtypes (attributes, promotion, the default dtype, which
    is the machine's state), devices, generators and checkpoints (containers, files, streams, bad files)."""

    machine_name = "factory"

    def teardown(self) -> None:
        for env in self.envs.values():
            env["L"].set_default_dtype(env["L"].float32)

    def snapshot(self, L: Any, env: dict[str, Any]) -> dict[str, Any]:
        return {"default dtype": observe(L, L.get_default_dtype())}

    @rule(name=st.sampled_from(["float32", "float64", "float64", "int64", "bool"]), as_type=st.booleans())
    def set_default_dtype(self, name: str, as_type: bool) -> None:
        def fn(L: Any, env: dict[str, Any]) -> Any:
            return outcome(L, lambda: L.set_default_dtype(float if as_type else _dtype(L, name)))

        self.do(f"set_default_dtype({'float' if as_type else name})", fn, apis=("set_default_dtype",))

    @rule(name=st.sampled_from(DTYPE_NAMES))
    def dtype_query(self, name: str) -> None:
        self.do(f"{name}: every dtype query", lambda L, env: {q: outcome(L, lambda q=q: DTYPE_QUERIES[q](
            L, _dtype(L, name))) for q in sorted(DTYPE_QUERIES)}, apis=("dtype",))

    @rule(a=st.sampled_from(DTYPE_NAMES), b=st.sampled_from(DTYPE_NAMES))
    def promotion(self, a: str, b: str) -> None:
        self.do(f"promotion of {a} and {b}", lambda L, env: _promotion(L, a, b), apis=("promote_types", "result_type"))

    @rule(group=st.sampled_from(chunks(CREATE_CHECKS, 8)))
    def create(self, group: tuple[str, ...]) -> None:
        self.do(f"creation: {', '.join(group)}", lambda L, env: run_group(L, CREATE_CHECKS, group, CREATE_CLASS_ONLY),
                apis=tuple(sorted({k.split("(")[0] for k in group})))

    @rule(group=st.sampled_from(chunks(DEVICE_CHECKS, 6)))
    def device(self, group: tuple[str, ...]) -> None:
        # device(None) and rand(generator=1) fail alike, but torch lists its C++ overloads in the message
        self.do(f"devices: {', '.join(group)}", lambda L, env: run_group(
            L, DEVICE_CHECKS, group, frozenset({"device(None)", "rand(2, generator=1)"})), apis=("device", "Generator"))

    @rule(group=st.sampled_from(chunks(SAVE_CHECKS, 4)))
    def checkpoint(self, group: tuple[str, ...]) -> None:
        self.do(f"save/load: {', '.join(group)}", lambda L, env: run_group(L, SAVE_CHECKS, group, SAVE_CLASS_ONLY),
                apis=("save", "load"))


MACHINES["factory"] = FactoryMachine


# ---- the public API surface ----------------------------------------------------------------------------
#: where ``import backend as torch`` code looks names up: every public name the backend's library offers there
#: must exist in torch's (a name torch lacks is code that runs on the backend and breaks on torch)
API_NAMESPACES = ("", "Tensor", "nn", "nn.Module", "nn.utils", "optim", "optim.Optimizer")


def _namespace(L: Any, path: str) -> Any:
    obj = L
    for part in path.split(".") if path else ():
        obj = getattr(obj, part)
    return obj


def public_names(L: Any, path: str) -> list[str]:
    """Names a user of ``L`` reaches at ``path``: not private, not a module (``np``, a submodule that torch
    calls differently), not a ``from __future__`` feature."""
    import __future__

    import types

    ns = _namespace(L, path)
    return sorted(n for n in dir(ns) if not n.startswith("_")
                  and not isinstance(getattr(ns, n, None), (types.ModuleType, __future__._Feature)))


class ApiMachine(TwinMachine):
    """The names the backend exports, looked up in torch: each must exist there too."""

    machine_name = "api"

    def snapshot(self, L: Any, env: dict[str, Any]) -> dict[str, Any]:
        return {}

    @rule(path=st.sampled_from(API_NAMESPACES))
    def surface(self, path: str) -> None:
        backend_lib = next(b.lib for name, b in self.sides.items() if name != REFERENCE)
        names = public_names(backend_lib, path)

        def fn(L: Any, env: dict[str, Any]) -> list[str]:
            ns = _namespace(L, path)
            return [n for n in names if not hasattr(ns, n)]  # [] on the backend's side; torch's lists what it lacks

        self.do(f"names of {path or 'the library'} missing in a library", fn, apis=(f"{path or 'library'} names",))


ApiMachine.sweeps = tuple((("surface", {"path": p}),) for p in API_NAMESPACES)
MACHINES["api"] = ApiMachine
