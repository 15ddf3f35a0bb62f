"""How ops enter the graph: built-in :class:`Op` (on ndarrays) and user :class:`Function` (on Tensors)."""

from __future__ import annotations

import functools
import re
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from .grad_mode import is_grad_enabled, no_grad
from .graph import Context, Node, gradient_edge

if TYPE_CHECKING:
    from ..tensor import Tensor


def _describe(t: Tensor) -> tuple[np.dtype, tuple[int, ...]]:
    """What an in-place error names: the saved tensor's dtype and shape (formatted only on error)."""
    return (t._data.dtype, t._data.shape)


class Op:
    """A built-in differentiable op: ``forward`` and its vector-Jacobian product side by side.

    ``forward(ctx, *arrays, **attrs)`` computes on ndarrays and saves what backward needs with
    ``ctx.save_for_backward``; ``backward(ctx, grad)`` returns one gradient (or None) per input,
    each of the input's shape. Formulas use ``ctx.xp`` for array functions so that the same rule can
    later run on Tensors for higher-order gradients.
    """

    name: str = ""

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    is_view = False  # True when forward returns a view of input 0 (shares its version counter)

    @classmethod
    def apply(cls, *inputs: Tensor, dtype: Any = None, **attrs: Any) -> Tensor:
        """Run forward on the inputs' data and, when any input requires grad, record a node.

        ``dtype`` (a minigrad dtype) is the computation dtype the inputs are cast to first; the
        engine casts each gradient back to its input's dtype, as torch's does.
        """
        from ..tensor import Tensor

        ctx = Context()
        requires = is_grad_enabled() and any(t.requires_grad for t in inputs)
        ctx.needs_input_grad = tuple(requires and t.requires_grad for t in inputs)
        if dtype is None:
            arrays = tuple(t._data for t in inputs)
        else:
            arrays = tuple(t._data if t._data.dtype == dtype.np else t._data.astype(dtype.np) for t in inputs)
        with np.errstate(all="ignore"):  # torch computes inf/nan silently; so do we
            out = Tensor._make(cls.forward(ctx, *arrays, **attrs))
        if cls.is_view and inputs and np.may_share_memory(out._data, inputs[0]._data):
            out._version = inputs[0]._version
            out._base = inputs[0] if inputs[0]._base is None else inputs[0]._base
        if requires:
            if not out.dtype.is_floating_point:
                return out  # integer/bool results (argmax, comparisons) are never differentiable
            node = Node(
                f"{cls.name or cls.__name__}Backward0",
                cls.backward,
                ctx,
                [gradient_edge(t) for t in inputs],
                [(t.shape, t.dtype.np) if t.requires_grad else None for t in inputs],
            )
            ctx._node = node
            _track_saved_versions(ctx, inputs, out)
            out.grad_fn = node
            out._requires_grad = True
        return out


_BACKWARD_SUFFIX = re.compile(r"Backward\d*$")


def _origin(t: Tensor, saver: Node | None) -> Any:
    """What the in-place error says produced a saved tensor, as torch words it: a saved output names the op
    that saved it, a saved input the op that last wrote it (its grad_fn when the error is raised); a leaf
    names nothing. Evaluated only on error."""
    ref = weakref.ref(t)

    def describe() -> str:
        live = ref()
        node = saver if saver is not None else (live.grad_fn if live is not None else None)
        if node is None:
            return ""
        output_nr = 0 if saver is not None or live is None else live._output_nr
        op = _BACKWARD_SUFFIX.sub("", node.name())  # torch 2.13 names the op, "Add" for AddBackward0
        return f", which is output {output_nr} of {op},"

    return describe


def _track_saved_versions(ctx: Context, inputs: tuple[Tensor, ...], out: Tensor) -> None:
    """Remember the version of every input/output whose buffer backward will read."""
    for value in ctx._saved:
        for t in (*inputs, out):
            if value is t._data:
                saver = ctx._node if t is out else None
                ctx._versions.append((t._version, t._version[0], (*_describe(t), _origin(t, saver))))
                break


class FunctionCtx(Context):
    """The ``ctx`` of a custom :class:`Function`: saves Tensors, marks non-differentiable and dirty (modified in
    place) outputs, and says whether missing output gradients reach backward as zeros or as None."""

    def __init__(self) -> None:
        super().__init__()
        self._non_differentiable: set[int] = set()
        self._dirty: tuple[Tensor, ...] = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        super().save_for_backward(*tensors)
        for t in tensors:
            if t is not None and hasattr(t, "_version"):
                self._versions.append((t._version, t._version[0], _describe(t)))

    def _check_saved(self) -> None:
        """Only Tensors (or None) can be saved; torch checks when it records the node (not without grad)."""
        from ..tensor import Tensor

        for i, t in enumerate(self._saved):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare inputs that forward modified in place (and returns)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """False: outputs that got no gradient reach backward as None instead of zeros."""
        self.materialize_grads = bool(value)


def once_differentiable(fn: Any) -> Any:
    """Decorator for a ``backward`` that is not itself differentiable (as torch's); minigrad never builds a graph
    of a backward (no ``create_graph``), so it runs ``fn`` with grad disabled and nothing else."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            return fn(ctx, *args)

    return wrapper


def _sum_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """torch's engine sums a gradient to its input's shape when the input expands to the gradient's shape."""
    lead = grad.ndim - len(shape)
    if lead < 0 or any(s not in (1, g) for s, g in zip(shape, grad.shape[lead:])):
        return grad  # not expandable: the engine reports the invalid shape
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


class Function:
    """User-defined op, as ``torch.autograd.Function``: static ``forward(ctx, ...)`` and
    ``backward(ctx, *grad_outputs)``, called through ``MyFunction.apply(...)``."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        from ..tensor import Tensor

        ctx = FunctionCtx()
        tensor_args = [a if isinstance(a, Tensor) else None for a in args]
        requires = is_grad_enabled() and any(t is not None and t.requires_grad for t in tensor_args)
        ctx.needs_input_grad = tuple(t is not None and t.requires_grad for t in tensor_args)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        for t in ctx._dirty:  # torch counts the in-place write once more, then checks
            t._bump_version()
        if not all(any(t is o for o in outs) for t in ctx._dirty):
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as output. "
                               "The inputs that are modified inplace must all be outputs of the Function.")
        if requires and any(t.grad_fn is None and t.requires_grad for t in ctx._dirty):
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        wrapped = []
        for o in outs:
            if isinstance(o, Tensor) and any(o is a for a in args) and not any(o is d for d in ctx._dirty):
                # forward returned an input as it is: torch returns a view of it (storage and version shared)
                view = Tensor._make(o._data)
                view._version = o._version
                view._base = o if o._base is None else o._base
                o = view
            wrapped.append(o)
        if not requires:
            return wrapped[0] if single else tuple(wrapped)
        ctx._check_saved()
        positions = [k for k, o in enumerate(wrapped) if isinstance(o, Tensor)]
        tensor_outs = [wrapped[k] for k in positions]
        out_meta = [(o.shape, o.dtype.np) for o in tensor_outs]

        def backward_fn(c: FunctionCtx, *grads: np.ndarray | None) -> list[np.ndarray | None]:
            given: list[Any] = [None] * len(wrapped)  # non-tensor outputs get None, as in torch
            for k, meta, g in zip(positions, out_meta, grads):
                if g is None and c.materialize_grads:
                    g = np.zeros(*meta)
                given[k] = None if g is None else Tensor._make(g)
            with no_grad():
                res = cls.backward(c, *given)
            res = res if isinstance(res, tuple) else (res,)
            if len(res) > len(args) and all(g is None for g in res[len(args):]):
                res = res[:len(args)]  # torch drops trailing Nones
            if len(res) != len(args):
                raise RuntimeError(
                    f"function {cls.__name__}Backward returned an incorrect number of gradients "
                    f"(expected {len(args)}, got {len(res)})"
                )
            out: list[np.ndarray | None] = []
            for i, (a, g) in enumerate(zip(args, res)):
                if not isinstance(a, Tensor):
                    if g is not None:
                        raise RuntimeError(
                            f"function {cls.__name__}Backward returned a gradient different than None at position "
                            f"{i + 1}, but the corresponding forward input was not a Variable")
                    continue
                if g is not None and not isinstance(g, Tensor):
                    raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
                out.append(None if g is None else _sum_to(g._data, tuple(a.shape)))
            return out

        node = Node(
            f"{cls.__name__}Backward",
            backward_fn,
            ctx,
            [gradient_edge(t) for t in tensor_args if t is not None],
            [(t.shape, t.dtype.np) if t.requires_grad else None for t in tensor_args if t is not None],
            n_outputs=len(tensor_outs),
        )
        ctx._node = node
        for k, o in enumerate(tensor_outs):
            if id(o) in ctx._non_differentiable or not o.dtype.is_floating_point:
                continue
            o._rebase(node, k)  # a dirty input keeps its retained gradient
            o._requires_grad = True
        return wrapped[0] if single else tuple(wrapped)
