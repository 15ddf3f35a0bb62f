"""The computation graph and the reverse-mode engine.

A tensor produced by a differentiable op points at a :class:`Node` (its ``grad_fn``). A node holds the
op's backward function, what the op saved in its :class:`Context`, and one edge per input: the input's
own node, or the :class:`AccumulateGrad` node of a leaf. :func:`run_backward` walks the graph
iteratively in topological order (no recursion, so 100,000-node chains work), sums the gradients that
reach each node and, at the leaves, accumulates into ``.grad``.
"""

from __future__ import annotations

import heapq
import itertools
import traceback
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import anomaly_mode
from .grad_mode import no_grad

if TYPE_CHECKING:
    from ..tensor import Tensor

_sequence = itertools.count()

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class Context:
    """What an op keeps from forward for backward: ``save_for_backward`` plus plain attributes."""

    xp = np  # the array namespace backward formulas are written against

    def __init__(self) -> None:
        self._saved: tuple[Any, ...] = ()
        self._freed = False
        self._versions: list[tuple[list[int], int, tuple[np.dtype, tuple[int, ...]]]] = []  # (box, version, (dtype, shape))
        self._node: Node | None = None
        self.needs_input_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        """Keep values (arrays for built-in ops, Tensors for custom Functions) for backward."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The saved values; an error once the graph has been freed or a saved tensor was modified."""
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        for box, version, what in self._versions:
            if box[0] != version:
                from .._dtype import from_numpy_dtype

                origin = what[2]() if len(what) > 2 else ""
                hint = ("the backtrace further above shows the operation that failed to compute its gradient. The "
                        "variable in question was changed in there or anywhere later. Good luck!"
                        if anomaly_mode.is_anomaly_enabled() else
                        "enable anomaly detection to find the operation that failed to compute its gradient, with "
                        "minigrad.autograd.set_detect_anomaly(True, check_nan=False).")
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [minigrad.{from_numpy_dtype(what[0]).scalar_type}Tensor {list(what[1])}]"
                    f"{origin} is at version {box[0]}; expected version {version} instead. Hint: {hint}"
                )
        return self._saved

    def _free(self) -> None:
        if self._saved:
            self._saved = ()
            self._freed = True
        for key in [k for k in vars(self) if isinstance(vars(self)[k], np.ndarray)]:
            delattr(self, key)


class Node:
    """One recorded op application (a ``grad_fn``)."""

    __slots__ = (
        "backward_fn", "ctx", "next_edges", "input_meta", "n_outputs", "seq", "_name",
        "pre_hooks", "retained", "trace", "__weakref__",
    )

    def __init__(
        self,
        name: str,
        backward_fn: Callable[..., Sequence[Any]] | None,
        ctx: Context | None,
        next_edges: list[tuple[Node, int] | None],
        input_meta: list[tuple[tuple[int, ...], np.dtype] | None],
        n_outputs: int = 1,
    ) -> None:
        self._name = name
        self.backward_fn = backward_fn
        self.ctx = ctx
        self.next_edges = next_edges
        self.input_meta = input_meta
        self.n_outputs = n_outputs
        self.seq = next(_sequence)
        # anomaly mode: the forward call's stack, shown when this node's backward fails
        self.trace: list[str] | None = traceback.format_stack()[:-2] if anomaly_mode.is_anomaly_enabled() else None
        self.pre_hooks: dict[int, list[Callable[[Any], Any]]] | None = None  # created on first use
        self.retained: dict[int, weakref.ref[Tensor]] | None = None

    def name(self) -> str:
        """torch-style name, e.g. ``MulBackward0``."""
        return self._name

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        """The nodes of this node's inputs, as torch exposes them."""
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self.next_edges)

    def __repr__(self) -> str:
        return f"<{self._name} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The sink node of a leaf tensor: runs its hooks and accumulates into ``.grad`` (the engine handles it
    itself and never calls a backward function)."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor) -> None:
        super().__init__("AccumulateGrad", None, None, [], [], 1)
        self.variable = variable

    def name(self) -> str:
        return "minigrad::autograd::AccumulateGrad"  # torch: "torch::autograd::AccumulateGrad"


def gradient_edge(t: Tensor) -> tuple[Node, int] | None:
    """The edge through which a gradient reaches tensor ``t`` (None if it needs none)."""
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    if t.requires_grad:
        acc = t._accumulator() if t._accumulator is not None else None
        if acc is None:
            acc = AccumulateGrad(t)
            t._accumulator = weakref.ref(acc)
        return (acc, 0)
    return None


def _wrap(arr: np.ndarray) -> Tensor:
    from ..tensor import Tensor

    return Tensor._make(arr)


def _apply_tensor_hooks(hooks: list[Callable[[Any], Any]], grad: np.ndarray) -> np.ndarray:
    """Run tensor hooks in order; a returned Tensor replaces the gradient (same shape and dtype, as torch
    checks), None keeps it."""
    from ..tensor import Tensor

    for hook in hooks:
        result = hook(_wrap(grad))
        if result is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(result, Tensor):
            raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
        new = result._data
        if new.shape != grad.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        if new.dtype != grad.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {_type_name(grad)} got "
                               f"{_type_name(new)})")
        grad = new
    return grad


def _type_name(arr: np.ndarray) -> str:
    from .._dtype import from_numpy_dtype

    return f"minigrad.{from_numpy_dtype(arr.dtype).scalar_type}Tensor"


def _check_grad(node: Node, i: int, grad: Any) -> np.ndarray:
    meta = node.input_meta[i]
    assert meta is not None
    shape, dtype = meta
    grad = np.asarray(grad)
    if grad.shape != shape:
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {i} - got "
            f"{list(grad.shape)} but expected shape compatible with {list(shape)}"
        )
    if grad.dtype != dtype:  # torch's engine casts each gradient to its input's dtype
        grad = grad.astype(dtype)
    return grad


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[np.ndarray],
    retain_graph: bool,
    inputs: Sequence[Tensor] | None = None,
    allow_unused: bool = False,
) -> list[np.ndarray | None] | None:
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs=None`` (``Tensor.backward``) gradients accumulate into the leaves' ``.grad``.
    With ``inputs`` (``autograd.grad``) the gradients reaching those tensors are returned instead,
    and no ``.grad`` is touched.
    """
    buffers: dict[Node, list[np.ndarray | None]] = {}
    root_nodes: list[Node] = []
    for t, g in zip(roots, root_grads):
        edge = gradient_edge(t)
        assert edge is not None, "the callers check that every root requires grad"
        node, k = edge
        buf = buffers.setdefault(node, [None] * node.n_outputs)
        buf[k] = g if buf[k] is None else buf[k] + g
        root_nodes.append(node)

    captures: dict[tuple[Node, int], list[int]] = {}  # an input listed twice gets its gradient twice
    if inputs is not None:
        for j, t in enumerate(inputs):
            edge = gradient_edge(t)
            if edge is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            captures.setdefault(edge, []).append(j)
    captured: list[np.ndarray | None] = [None] * (len(inputs) if inputs is not None else 0)

    # Count, for every reachable node, how many edges point at it (iterative DFS).
    deps: dict[Node, int] = {}
    parents: dict[Node, list[Node]] = {}
    seen: set[Node] = set()
    stack = list(dict.fromkeys(root_nodes))
    seen.update(stack)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            deps[child] = deps.get(child, 0) + 1
            if inputs is not None:
                parents.setdefault(child, []).append(node)
            if child not in seen:
                seen.add(child)
                stack.append(child)

    # With ``inputs``, like torch, only the nodes on a path to an input run (their hooks too): ``needed``.
    needed: set[Node] | None = None
    capture_nodes = {node for node, _ in captures}
    if inputs is not None:
        needed = set()
        frontier = list(capture_nodes)
        while frontier:
            for parent in parents.get(frontier.pop(), ()):
                if parent not in needed:
                    needed.add(parent)
                    frontier.append(parent)

    ready = [(-n.seq, id(n), n) for n in dict.fromkeys(root_nodes) if deps.get(n, 0) == 0]
    heapq.heapify(ready)
    with no_grad(), np.errstate(all="ignore"):
        while ready:
            _, _, node = heapq.heappop(ready)
            grads = buffers.pop(node, [None] * node.n_outputs)
            if needed is not None and node not in needed and node not in capture_nodes:
                grads = [None] * node.n_outputs  # not on a path to an input: torch does not run it
            try:  # tensor hooks fail inside the node's evaluation, as in torch (anomaly mode names the node)
                leaf_hooks = node.variable._hooks if isinstance(node, AccumulateGrad) else None
                if leaf_hooks and grads[0] is not None:  # a leaf's tensor hooks run before capture and accumulation
                    grads[0] = _apply_tensor_hooks(leaf_hooks, grads[0])
                # torch captures a node that must still run (an input lies beyond it) before its tensor
                # hooks, and one that only feeds a capture after them (engine.cpp evaluate_function).
                capture_raw = needed is not None and node in needed
                for k in range(node.n_outputs):
                    if grads[k] is None:
                        continue
                    if capture_raw:
                        for j in captures.get((node, k), ()):
                            captured[j] = grads[k]
                    if node.pre_hooks and node.pre_hooks.get(k):
                        grads[k] = _apply_tensor_hooks(node.pre_hooks[k], grads[k])
                    ref = node.retained.get(k) if node.retained else None
                    if ref is not None and ref() is not None:
                        _accumulate_into(ref(), grads[k])
                    if not capture_raw:
                        for j in captures.get((node, k), ()):
                            captured[j] = grads[k]
            except Exception:
                if anomaly_mode.is_anomaly_enabled():
                    _warn_anomaly(node)
                raise

            if isinstance(node, AccumulateGrad):
                if inputs is None and grads[0] is not None:
                    _accumulate_into(node.variable, grads[0])
                continue

            if needed is not None and node not in needed:
                grads = [None] * node.n_outputs
            if any(g is not None for g in grads):
                try:
                    if node.ctx is not None and node.ctx._freed:
                        raise RuntimeError(FREED_MESSAGE)
                    in_grads = node.backward_fn(node.ctx, *grads)  # type: ignore[misc] - None only for AccumulateGrad
                    if anomaly_mode.is_anomaly_enabled() and anomaly_mode.is_anomaly_check_nan_enabled():
                        _check_nan(node, in_grads)
                except Exception:
                    if anomaly_mode.is_anomaly_enabled():  # torch warns for a NaN found by check_nan too
                        _warn_anomaly(node)
                    raise
                if len(in_grads) != len(node.next_edges):
                    raise RuntimeError(
                        f"function {node.name()} returned an incorrect number of gradients "
                        f"(expected {len(node.next_edges)}, got {len(in_grads)})"
                    )
                for i, (edge, g) in enumerate(zip(node.next_edges, in_grads)):
                    if edge is None or g is None:
                        continue
                    g = _check_grad(node, i, g)
                    child, k = edge
                    buf = buffers.setdefault(child, [None] * child.n_outputs)
                    buf[k] = g if buf[k] is None else buf[k] + g
            if not retain_graph and node.ctx is not None and (needed is None or node in needed):
                node.ctx._free()
            for edge in node.next_edges:
                if edge is None:
                    continue
                child = edge[0]
                deps[child] -= 1
                if deps[child] == 0:
                    heapq.heappush(ready, (-child.seq, id(child), child))

    if inputs is None:
        return None
    for j, g in enumerate(captured):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"The differentiated Tensor at index {j} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
    return captured


def _warn_anomaly(node: Node) -> None:
    """Anomaly mode: name the node whose backward failed, with the stack of its forward call when it was
    recorded in anomaly mode."""
    if node.trace is None:
        warnings.warn(f"Error detected in {node.name()}. No forward pass information available. Enable detect "
                      "anomaly during forward pass for more information.", stacklevel=3)
    else:
        warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                      + "".join(node.trace), stacklevel=3)


def _check_nan(node: Node, in_grads: Sequence[Any]) -> None:
    """Anomaly mode's ``check_nan``: a backward that returned NaN is an error."""
    for i, g in enumerate(in_grads):
        if g is not None and np.isnan(g).any():
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


def _accumulate_into(t: Tensor, g: np.ndarray) -> None:
    """AccumulateGrad: the first gradient is copied in, later ones are added in place."""
    from ..tensor import Tensor

    if t._grad is None:
        t._grad = Tensor._make(np.array(g, dtype=t.dtype.np, copy=True))
    else:
        t.grad._data += g
        t.grad._bump_version()
