"""The backend protocol and a generic adapter for any library with torch's API.

A backend turns IR cases and training cases into numbers. The harness only ever calls the methods of
:class:`Backend`; :class:`ModuleBackend` implements all of them for a module that mirrors torch (torch
itself, minigrad), so an adapter is usually ``ModuleBackend(the_module)``. A third party can pass
``--backend package.module:Class`` with a class implementing :class:`Backend`.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .. import catalog
from ..catalog import OpSpec
from ..ir import decode_array


@runtime_checkable
class Backend(Protocol):
    """What the harness needs from a library under test."""

    name: str

    def version(self) -> str:
        """Library version (recorded in results)."""

    def leaf(self, values: np.ndarray, requires_grad: bool) -> Any:
        """A tensor holding a copy of ``values`` (dtype kept)."""

    def apply(self, spec: OpSpec, form: str, inputs: list[Any], attrs: dict[str, Any]) -> Any:
        """Apply one catalogue op."""

    def to_numpy(self, value: Any) -> np.ndarray:
        """A detached ndarray copy of a tensor."""

    def vjp(self, outputs: list[Any], cotangents: list[np.ndarray | None], leaves: list[Any],
            method: str = "backward") -> list[np.ndarray | None]:
        """Gradients of ``sum_i <cotangent_i, output_i>`` with respect to ``leaves``."""

    def train(self, case: dict[str, Any]) -> dict[str, Any]:
        """Run a training case (see ``conformance.strategies.nets``) and return its trajectory."""

    def init_sample(self, name: str, shape: tuple[int, ...], attrs: dict[str, Any], seed: int) -> np.ndarray:
        """Values of ``nn.init.<name>`` applied to a fresh tensor of ``shape`` (``Linear`` = default init;
        ``calculate_gain``: the gains of ``attrs["cases"]``)."""

    def param_utils(self, case: dict[str, Any]) -> dict[str, np.ndarray]:
        """Results of the ``nn.utils`` parameter helpers on a case (see ``checks.check_param_utils``)."""


@functools.lru_cache(maxsize=8192)
def _compiled(expr: str) -> Any:
    return compile(expr, "<conformance-op>", "eval")


#: activation name -> (nn module class, functional template)
ACTIVATIONS: dict[str, tuple[str, str]] = {
    "relu": ("ReLU", "F.relu(x)"),
    "tanh": ("Tanh", "T.tanh(x)"),
    "sigmoid": ("Sigmoid", "T.sigmoid(x)"),
    "leaky_relu": ("LeakyReLU", "F.leaky_relu(x, 0.01)"),
    "gelu": ("GELU", "F.gelu(x)"),
    "elu": ("ELU", "F.elu(x)"),
    "silu": ("SiLU", "F.silu(x)"),
    "softplus": ("Softplus", "F.softplus(x)"),
    "identity": ("Identity", "x"),
}

#: functional loss -> nn module class
LOSS_MODULES: dict[str, str] = {
    "cross_entropy": "CrossEntropyLoss", "mse_loss": "MSELoss", "l1_loss": "L1Loss", "huber_loss": "HuberLoss",
    "smooth_l1_loss": "SmoothL1Loss", "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "multi_margin_loss": "MultiMarginLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
    "hinge_embedding_loss": "HingeEmbeddingLoss",
}


class ModuleBackend:
    """Adapter for a module with torch's API (``T``), e.g. ``torch`` or ``minigrad``."""

    name = "module"

    def __init__(self, lib: Any, name: str | None = None) -> None:
        self.lib = lib
        if name:
            self.name = name
        nn = getattr(lib, "nn", None)
        self._ns = {"T": lib, "F": getattr(nn, "functional", None), "math": math}

    def version(self) -> str:
        return str(getattr(self.lib, "__version__", "unknown"))

    # ---- graph cases -------------------------------------------------------------------------
    def leaf(self, values: np.ndarray, requires_grad: bool) -> Any:
        return self.lib.tensor(np.array(values, copy=True), requires_grad=requires_grad)

    def apply(self, spec: OpSpec, form: str, inputs: list[Any], attrs: dict[str, Any]) -> Any:
        names = [f"_i{k}" for k in range(len(inputs))]
        expr = catalog.render_call(spec, form, names, attrs)
        env = dict(self._ns)
        env.update(zip(names, inputs))
        return eval(_compiled(expr), env)  # noqa: S307 - templates come from the catalogue

    def to_numpy(self, value: Any) -> np.ndarray:
        if hasattr(value, "detach"):
            value = value.detach()
        if hasattr(value, "numpy"):
            return np.array(value.numpy(), copy=True)
        return np.asarray(value)

    def vjp(self, outputs: list[Any], cotangents: list[np.ndarray | None], leaves: list[Any],
            method: str = "backward") -> list[np.ndarray | None]:
        pairs = [(o, c) for o, c in zip(outputs, cotangents)
                 if c is not None and getattr(o, "requires_grad", False)]
        if not pairs:
            return [None] * len(leaves)
        if method == "grad":
            got = self.lib.autograd.grad([o for o, _ in pairs], leaves,
                                         grad_outputs=[self.lib.tensor(c) for _, c in pairs], allow_unused=True)
            return [None if g is None else self.to_numpy(g) for g in got]
        for o, c in pairs:
            o.backward(self.lib.tensor(c), retain_graph=True)
        return [None if lf.grad is None else self.to_numpy(lf.grad) for lf in leaves]

    # ---- networks and training ---------------------------------------------------------------
    def activation(self, name: str) -> Any:
        """An activation module: ``nn.<Class>()`` when the library has it, else a functional wrapper."""
        cls_name, expr = ACTIVATIONS[name]
        cls = getattr(self.lib.nn, cls_name, None)
        if cls is not None:
            return cls()
        ns = self._ns
        code = _compiled(expr)

        class _Act(self.lib.nn.Module):  # type: ignore[name-defined,misc]
            def forward(self, x: Any) -> Any:
                return eval(code, {**ns, "x": x})  # noqa: S307

        return _Act()

    def build_mlp(self, sizes: list[int], activation: str, bias: bool, container: str = "Sequential") -> Any:
        """``Sequential(Linear, act, Linear, act, ..., Linear)`` (Linear layers at even indices), or the same
        layers held in an ``nn.ModuleList`` by a custom Module (parameter names prefixed ``layers.``)."""
        layers: list[Any] = []
        for k in range(len(sizes) - 1):
            layers.append(self.lib.nn.Linear(sizes[k], sizes[k + 1], bias=bias))
            if k < len(sizes) - 2:
                layers.append(self.activation(activation))
        if container == "ModuleList":
            mlist = self.lib.nn.ModuleList(layers)

            class _Stack(self.lib.nn.Module):  # type: ignore[name-defined,misc]
                def __init__(self) -> None:
                    super().__init__()
                    self.layers = mlist

                def forward(self, x: Any) -> Any:
                    for layer in self.layers:
                        x = layer(x)
                    return x

            return _Stack()
        return self.lib.nn.Sequential(*layers)

    def load_params(self, model: Any, params: dict[str, np.ndarray], prefix: str = "") -> None:
        """Set the model's parameters to exactly ``params`` (by state_dict name)."""
        model.load_state_dict({prefix + k: self.lib.tensor(np.array(v, copy=True)) for k, v in params.items()})

    def make_optimizer(self, params: list[Any], spec: dict[str, Any]) -> Any:
        attrs = dict(spec["attrs"])
        if "betas" in attrs:
            attrs["betas"] = tuple(attrs["betas"])
        return getattr(self.lib.optim, spec["name"])(params, **attrs)

    def make_scheduler(self, opt: Any, spec: dict[str, Any]) -> Any:
        """A scheduler; ``lr_lambda`` arrives as ``{"expr": "0.9 ** epoch"}`` and becomes a function."""
        attrs = dict(spec["attrs"])
        if isinstance(attrs.get("lr_lambda"), dict):
            code = _compiled(attrs["lr_lambda"]["expr"])
            attrs["lr_lambda"] = lambda epoch: eval(code, {"epoch": epoch})  # noqa: S307
        return getattr(self.lib.optim.lr_scheduler, spec["name"])(opt, **attrs)

    def clip(self, params: list[Any], spec: dict[str, Any]) -> float | None:
        fn = getattr(self.lib.nn.utils, spec["name"])
        out = fn(params, **spec["attrs"])
        return None if out is None else float(self.to_numpy(out))

    def loss(self, name: str, out: Any, y: Any, attrs: dict[str, Any], module: bool = False) -> Any:
        """``F.<name>(out, y, **attrs)``, or the loss module (``nn.CrossEntropyLoss(**attrs)``) when asked
        and the library has it."""
        cls = getattr(self.lib.nn, LOSS_MODULES.get(name, ""), None) if module else None
        if cls is not None:
            return cls(**attrs)(out, y)
        return getattr(self.lib.nn.functional, name)(out, y, **attrs)

    def train(self, case: dict[str, Any]) -> dict[str, Any]:
        lib = self.lib
        dtype = case["dtype"]
        m = case["model"]
        container = m.get("container", "Sequential")
        prefix = "layers." if container == "ModuleList" else ""
        model = self.build_mlp(m["sizes"], m["activation"], m["bias"], container)
        if dtype == "float64":
            model = model.double()
        self.load_params(model, {k: decode_array(v).astype(dtype) for k, v in case["params"].items()}, prefix)
        named = {k[len(prefix):]: p for k, p in model.named_parameters()}
        names = sorted(named)
        opt = self.make_optimizer([named[k] for k in names], case["optimizer"]) if case.get("optimizer") else None
        sched = self.make_scheduler(opt, case["scheduler"]) if case.get("scheduler") and opt else None
        batches = [(decode_array(b["x"]), decode_array(b["y"])) for b in case["batches"]]
        res: dict[str, Any] = {"loss": [], "grads": [], "params": [], "lr": [], "total_norm": [],
                               "accuracy": []}
        ev = case.get("eval")
        for step in range(case["steps"]):
            xb, yb = batches[step % len(batches)]
            x = lib.tensor(xb.astype(dtype) if xb.dtype.kind == "f" else xb)
            y = lib.tensor(yb.astype(dtype) if yb.dtype.kind == "f" else yb)
            if opt is not None:
                opt.zero_grad()
            else:
                for p in named.values():
                    p.grad = None
            out = model(x)
            loss = self.loss(case["loss"]["name"], out, y, case["loss"].get("attrs", {}),
                             bool(case["loss"].get("module")))
            loss.backward()
            if case.get("clip"):
                res["total_norm"].append(self.clip([named[k] for k in names], case["clip"]))
            res["loss"].append(float(self.to_numpy(loss)))
            res["grads"].append({k: self.to_numpy(named[k].grad) for k in names if named[k].grad is not None})
            if opt is not None:
                res["lr"].append(float(opt.param_groups[0]["lr"]))
                opt.step()
            if sched is not None:
                sched.step()
            res["params"].append({k: self.to_numpy(named[k]) for k in names})
            if ev and (step + 1) % ev["every"] == 0:
                with lib.no_grad():
                    pred = self.to_numpy(model(lib.tensor(decode_array(ev["x"]).astype(dtype))))
                res["accuracy"].append(float(np.mean(pred.argmax(axis=1) == decode_array(ev["y"]))))
        return res

    def param_utils(self, case: dict[str, Any]) -> dict[str, np.ndarray]:
        """``nn.utils`` helpers on a list of parameters with gradients: parameters_to_vector,
        vector_to_parameters, get_total_norm and clip_grads_with_norm_."""
        lib = self.lib
        params = [lib.tensor(decode_array(p), requires_grad=True) for p in case["params"]]
        for p, g in zip(params, case["grads"]):
            (p * lib.tensor(decode_array(g))).sum().backward()
        utils = lib.nn.utils
        out = {"parameters_to_vector": self.to_numpy(utils.parameters_to_vector(params))}
        grads = [p.grad for p in params]
        total = utils.get_total_norm(grads, norm_type=case["norm_type"])
        out["get_total_norm"] = self.to_numpy(total)
        before = np.concatenate([self.to_numpy(g).ravel() for g in grads])
        utils.clip_grads_with_norm_(params, case["max_norm"], total)
        for i, p in enumerate(params):
            out[f"clipped_grad[{i}]"] = self.to_numpy(p.grad)
        # the scale applied, compared relatively (tiny gradients would pass any absolute tolerance)
        after = np.concatenate([out[f"clipped_grad[{i}]"].ravel() for i in range(len(params))])
        out["clip_coefficient"] = np.asarray(np.abs(after).sum() / np.abs(before).sum())
        with lib.no_grad():
            utils.vector_to_parameters(lib.tensor(decode_array(case["vector"])), params)
        for i, p in enumerate(params):
            out[f"vector_to_parameters[{i}]"] = self.to_numpy(p)
        return out

    def init_sample(self, name: str, shape: tuple[int, ...], attrs: dict[str, Any], seed: int) -> np.ndarray:
        self.lib.manual_seed(seed)
        if name == "calculate_gain":
            return np.array([self.lib.nn.init.calculate_gain(nl, *([p] if p is not None else []))
                             for nl, p in attrs["cases"]], dtype=np.float64)
        if name == "Linear":
            layer = self.lib.nn.Linear(shape[1], shape[0])
            return self.to_numpy(layer.weight)
        t = self.lib.empty(*shape) if hasattr(self.lib, "empty") else self.lib.zeros(*shape)
        fn = getattr(self.lib.nn.init, name)
        with self.lib.no_grad():
            fn(t, **attrs)
        return self.to_numpy(t)
