"""Planted bugs: backends that wrap a correct one and get one thing wrong, to prove the harness finds it.

Bugs are planted by composing the library's own public ops (``detach``, ``where``, ``expand``) inside the
adapter, never by editing the library, so the same plants work on minigrad and on torch:

- ``exp_sign``: exp's VJP has the wrong sign (forward unchanged: ``2 * y.detach() - y``);
- ``relu_kink``: relu'(0) = 1 instead of 0 (found only because kink values are drawn on purpose);
- ``maximum_tie``: maximum sends the whole gradient to the first input on a tie instead of half to each;
- ``add_unbroadcast``: add's gradient for a broadcast input is one slice instead of the sum over it;
- ``accumulate_overwrite``: a leaf used several times keeps only its last gradient (``=`` instead of ``+=``);
- ``sgd_momentum``: SGD ignores momentum.

``selftest`` runs each plant against the property that must catch it, and the unmodified backend against
the same properties.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, reject, settings

from .backends import load_backend
from .backends.base import ModuleBackend
from .catalog import OpSpec, get


class PlantedBackend(ModuleBackend):
    """A correct backend's library with one planted bug."""

    def __init__(self, bug: str, base: ModuleBackend) -> None:
        super().__init__(base.lib, f"{base.name}+{bug}")
        if bug not in BUGS:
            raise ValueError(f"unknown planted bug {bug!r}")
        self.bug = bug
        self._aliases: list[tuple[Any, Any]] = []

    def leaf(self, values: np.ndarray, requires_grad: bool) -> Any:
        self._aliases = []
        return super().leaf(values, requires_grad)

    def apply(self, spec: OpSpec, form: str, inputs: list[Any], attrs: dict[str, Any]) -> Any:
        T = self.lib
        if self.bug == "accumulate_overwrite":
            inputs = [self._alias(x) for x in inputs]
        if self.bug == "exp_sign" and spec.name == "exp":
            y = super().apply(spec, form, inputs, attrs)
            return y.detach() * 2 - y
        if self.bug == "relu_kink" and spec.name == "relu":
            x = inputs[0]
            y = super().apply(spec, form, inputs, attrs)
            return y + (x - x.detach()) * (x == 0)
        if self.bug == "maximum_tie" and spec.name == "maximum":
            a, b = inputs
            return T.where(a >= b, a, b)
        if self.bug == "add_unbroadcast" and spec.name == "add":
            a, b = inputs
            shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
            return _first_slice_grad(T, a, shape) + _first_slice_grad(T, b, shape)
        return super().apply(spec, form, inputs, attrs)

    def _alias(self, x: Any) -> Any:
        if getattr(x, "is_leaf", False) and getattr(x, "requires_grad", False):
            alias = x * 1.0
            self._aliases.append((x, alias))
            return alias
        return x

    def vjp(self, outputs: list[Any], cotangents: list[np.ndarray | None], leaves: list[Any],
            method: str = "backward") -> list[np.ndarray | None]:
        if self.bug != "accumulate_overwrite" or not self._aliases:
            return super().vjp(outputs, cotangents, leaves, method)
        pairs = [(o, c) for o, c in zip(outputs, cotangents) if c is not None and getattr(o, "requires_grad", False)]
        if not pairs:
            return [None] * len(leaves)
        aliases = [a for _, a in self._aliases]
        got = self.lib.autograd.grad([o for o, _ in pairs], aliases,
                                     grad_outputs=[self.lib.tensor(c) for _, c in pairs], allow_unused=True)
        last: dict[int, Any] = {}
        for (leaf, _), g in zip(self._aliases, got):
            if g is not None:
                last[id(leaf)] = g  # overwrite, do not accumulate
        out: list[np.ndarray | None] = []
        for lf in leaves:
            g = last.get(id(lf))
            direct = super().vjp(outputs, cotangents, [lf], method)[0] if g is None else None
            out.append(self.to_numpy(g) if g is not None else direct)
        return out

    def make_optimizer(self, params: list[Any], spec: dict[str, Any]) -> Any:
        if self.bug == "sgd_momentum" and spec["name"] == "SGD" and spec["attrs"].get("momentum"):
            attrs = {**spec["attrs"], "momentum": 0.0, "nesterov": False, "dampening": 0.0}
            return super().make_optimizer(params, {"name": "SGD", "attrs": attrs})
        return super().make_optimizer(params, spec)


def _first_slice_grad(T: Any, x: Any, shape: tuple[int, ...]) -> Any:
    """``x`` broadcast to ``shape`` whose gradient comes only from the first slice of each broadcast dim."""
    xb = x.expand(*shape) if tuple(x.shape) != shape else x
    if tuple(x.shape) == shape:
        return x
    mask = np.zeros(shape, dtype=np.float64)
    pad = (1,) * (len(shape) - len(x.shape)) + tuple(x.shape)
    sl = tuple(slice(0, 1) if p == 1 and s != 1 else slice(None) for p, s in zip(pad, shape))
    mask[sl] = 1.0
    m = T.tensor(mask.astype(x.detach().numpy().dtype))
    return xb.detach() + (xb - xb.detach()) * m


#: bug -> (the op the message must name, the property that must catch it)
BUGS: dict[str, tuple[str, str]] = {
    "exp_sign": ("exp", "op"),
    "relu_kink": ("relu", "op"),
    "maximum_tie": ("maximum", "op"),
    "add_unbroadcast": ("add", "op"),
    "accumulate_overwrite": ("dag", "graph"),
    "sgd_momentum": ("SGD", "training"),
}


def run_property(kind: str, subject: str, backend: Any, max_examples: int) -> str | None:
    """Run one property (op / graph / training) against ``backend``; the shrunk failure's message or None."""
    from .checks import HarnessRejected, assert_no_failures, check_graph_case, check_op_case, check_train_case
    from .strategies.dags import dag_case
    from .strategies.nets import training_case
    from .strategies.ops import op_case

    def check(case: Any) -> list[dict[str, Any]]:
        if kind == "op":
            return check_op_case(get(subject), case, backend)
        if kind == "graph":
            return check_graph_case(case, backend)
        return check_train_case(case, backend)

    if kind == "op":
        strategy = op_case(get(subject))
    elif kind == "graph":
        strategy = dag_case()
    else:
        strategy = training_case(kind="training", optimizer=subject)

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(case: Any) -> None:
        try:
            records = check(case)
        except HarnessRejected:
            reject()
        assert_no_failures(records)

    try:
        prop()
    except AssertionError as e:
        return str(e)
    return None


def check_bug(bug: str, base: ModuleBackend, max_examples: int = 60) -> tuple[bool, str]:
    """Whether the planted ``bug`` is caught and its shrunk message names the op (and the message)."""
    name, kind = BUGS[bug]
    msg = run_property(kind, name, PlantedBackend(bug, base), max_examples)
    caught = msg is not None and name in msg and "worst err/tol" in msg  # a wrong number, not a crash
    return caught, (msg or "not caught")


def selftest(base_name: str | None = None, max_examples: int = 60,
             out: Callable[[str], None] = print) -> int:
    """Every planted bug must be caught; the unmodified backend must pass the same properties."""
    from .backends.minigrad import available

    base_name = base_name or ("minigrad" if available() else "torch")
    base = load_backend(base_name)
    ok = True
    for bug, (name, kind) in BUGS.items():
        t0 = time.perf_counter()
        caught, msg = check_bug(bug, base, max_examples)
        clean = run_property(kind, name, base, max_examples)
        ok &= caught and clean is None
        first = msg.splitlines()[1].strip() if "\n" in msg else msg
        out(f"{'ok  ' if caught else 'MISS'} {bug:22} {time.perf_counter() - t0:5.1f}s  {first[:150]}")
        if clean is not None:
            out(f"     unmodified {base_name} fails the same property: {clean.splitlines()[-1][:150]}")
    out("selftest " + ("passed" if ok else "FAILED") + f" (base backend: {base_name})")
    return 0 if ok else 1


class PlantedExpSign(PlantedBackend):
    """``--backend conformance.planted:PlantedExpSign``: minigrad (torch if absent) with exp's VJP negated."""

    def __init__(self) -> None:
        from .backends.minigrad import available

        super().__init__("exp_sign", load_backend("minigrad" if available() else "torch"))
