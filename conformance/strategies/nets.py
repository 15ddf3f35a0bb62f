"""Random MLPs and training runs, started from identical parameters and batches in both libraries.

A *training case* is plain JSON (``kind`` ``network`` or ``training``)::

    {"version": 1, "kind": "training", "dtype": "float64",
     "model": {"sizes": [4, 8, 3], "activation": "relu", "bias": true},
     "init": "xavier_uniform_",                      # how the numpy initial parameters were drawn
     "params": {"0.weight": <array>, "0.bias": <array>, "2.weight": ...},
     "loss": {"name": "cross_entropy", "attrs": {"reduction": "mean"}, "module": false},
     "batches": [{"x": <array>, "y": <array>}, ...], "steps": 5,
     "optimizer": null | {"name": "Adam", "attrs": {...}},
     "scheduler": null | {"name": "StepLR", "attrs": {...}},
     "clip": null | {"name": "clip_grad_norm_", "attrs": {...}}}

Arrays use ``conformance.ir.encode_array``. Step ``k`` trains on ``batches[k % len(batches)]``.
Initial parameters are drawn here with numpy following torch's formulas for the named initialiser, because
the two libraries' random streams differ; the initialisers themselves are checked as distributions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .. import catalog
from ..backends.base import ACTIVATIONS
from ..ir import encode_array
from .ops import draw_attr

Draw = Any

LOSSES = ("cross_entropy", "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
          "binary_cross_entropy_with_logits", "multi_margin_loss")
INITS = ("default", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "normal_",
         "uniform_")
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
SCHEDULERS = ("StepLR", "CosineAnnealingLR", "ExponentialLR", "MultiStepLR", "LambdaLR")
CLIPS = ("clip_grad_norm_", "clip_grad_value_")


def init_params(rng: np.random.Generator, sizes: list[int], bias: bool, init: str) -> dict[str, np.ndarray]:
    """Initial parameters drawn with numpy following torch's formula for ``init`` (gain 1 / a = 0)."""
    params: dict[str, np.ndarray] = {}
    for k in range(len(sizes) - 1):
        fan_in, fan_out = sizes[k], sizes[k + 1]
        shape = (fan_out, fan_in)
        if init == "default":  # kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            w = rng.uniform(-1, 1, shape) / math.sqrt(fan_in)
        elif init == "xavier_uniform_":
            w = rng.uniform(-1, 1, shape) * math.sqrt(6.0 / (fan_in + fan_out))
        elif init == "xavier_normal_":
            w = rng.standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))
        elif init == "kaiming_uniform_":
            w = rng.uniform(-1, 1, shape) * math.sqrt(6.0 / fan_in)
        elif init == "kaiming_normal_":
            w = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
        elif init == "normal_":
            w = rng.standard_normal(shape)
        else:
            w = rng.uniform(0, 1, shape)
        params[f"{2 * k}.weight"] = w
        if bias:
            params[f"{2 * k}.bias"] = rng.uniform(-1, 1, (fan_out,)) / math.sqrt(fan_in)
    return params


def _targets(rng: np.random.Generator, loss: str, n: int, out: int) -> np.ndarray:
    if loss in ("cross_entropy", "multi_margin_loss"):
        return rng.integers(0, out, n).astype(np.int64)
    if loss == "binary_cross_entropy_with_logits":
        return rng.uniform(0, 1, (n, out))
    return rng.standard_normal((n, out))


def optimizer_attrs(draw: Draw, name: str) -> dict[str, Any]:
    """Hyper-parameters from the catalogue entry (nesterov needs momentum > 0 and dampening 0)."""
    attrs = {k: draw_attr(draw, v) for k, v in catalog.get(name).attrs.items()}
    if name == "SGD" and attrs.get("nesterov"):
        attrs["momentum"] = attrs["momentum"] or 0.9
        attrs["dampening"] = 0.0
    return attrs


@st.composite
def training_case(draw: Draw, kind: str = "training", optimizer: str | None = None,
                  component: str | None = None, max_steps: int = 6) -> dict[str, Any]:
    """A network (``kind="network"``: one forward/backward) or a K-step training run."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    depth = draw(st.integers(0, 2))
    sizes = [draw(st.integers(1, 6))] + [draw(st.integers(1, 8)) for _ in range(depth)] + [draw(st.integers(1, 4))]
    activation = draw(st.sampled_from(sorted(ACTIVATIONS)))
    bias = draw(st.booleans())
    loss = draw(st.sampled_from(LOSSES))
    loss_attrs: dict[str, Any] = {"reduction": draw(st.sampled_from(["mean", "sum"]))}
    if loss == "cross_entropy" and draw(st.booleans()):
        loss_attrs["label_smoothing"] = 0.1
    init = draw(st.sampled_from(INITS))
    dtype = draw(st.sampled_from(["float64", "float32"]))
    steps = 1 if kind == "network" else draw(st.integers(1, max_steps))
    nb = draw(st.integers(1, 8))
    batches = [{"x": encode_array(rng.standard_normal((nb, sizes[0]))),
                "y": encode_array(_targets(rng, loss, nb, sizes[-1]))}
               for _ in range(draw(st.integers(1, 3)))]
    case: dict[str, Any] = {
        "version": 1, "kind": kind, "dtype": dtype,
        "model": {"sizes": sizes, "activation": activation, "bias": bias,
                  "container": draw(st.sampled_from(["Sequential", "ModuleList"]))}, "init": init,
        "params": {k: encode_array(v) for k, v in init_params(rng, sizes, bias, init).items()},
        "loss": {"name": loss, "attrs": loss_attrs, "module": draw(st.booleans())},
        "batches": batches, "steps": steps, "optimizer": None, "scheduler": None, "clip": None, "seed": seed,
    }
    if kind == "training":
        opt = optimizer or draw(st.sampled_from(OPTIMIZERS))
        case["optimizer"] = {"name": opt, "attrs": optimizer_attrs(draw, opt)}
        if component in SCHEDULERS or (component is None and draw(st.integers(0, 3)) == 0):
            name = component if component in SCHEDULERS else draw(st.sampled_from(SCHEDULERS))
            case["scheduler"] = {"name": name, "attrs": {k: draw_attr(draw, v)
                                                         for k, v in catalog.get(name).attrs.items()}}
        if component in CLIPS or (component is None and draw(st.integers(0, 3)) == 0):
            name = component if component in CLIPS else draw(st.sampled_from(CLIPS))
            case["clip"] = {"name": name, "attrs": {k: draw_attr(draw, v)
                                                    for k, v in catalog.get(name).attrs.items()}}
    return case


def case_ops(case: dict[str, Any]) -> list[str]:
    """Catalogue entries a training case exercises (for blame-by-op)."""
    ops = ["Linear", case["model"].get("container", "Sequential"), case["loss"]["name"]]
    if len(case["model"]["sizes"]) > 2:
        ops.append(case["model"]["activation"] if case["model"]["activation"] != "identity" else "Identity")
        ops.append("Module")
    for key in ("optimizer", "scheduler", "clip"):
        if case.get(key):
            ops.append(case[key]["name"])
    return [o for o in ops if o in catalog.CATALOG]


def case_subject(case: dict[str, Any]) -> str:
    """A short label: ``mlp-4x8x3-relu-cross_entropy`` or ``train-Adam-5steps``."""
    if case["kind"] == "network":
        sizes = "x".join(str(s) for s in case["model"]["sizes"])
        return f"mlp-{sizes}-{case['model']['activation']}-{case['loss']['name']}"
    return f"train-{case['optimizer']['name']}-{case['steps']}steps"
