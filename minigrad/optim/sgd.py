"""Stochastic gradient descent with momentum, dampening, Nesterov, weight decay and maximize (torch's formulas)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_hparam, _grad


class SGD(Optimizer):
    """``buf = momentum * buf + (1 - dampening) * g`` (first step: ``buf = g``), ``p -= lr * (g + momentum * buf
    if nesterov else buf)``, with ``g = grad + weight_decay * p``, as torch's single-tensor SGD."""

    def __init__(
        self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
        weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach: bool | None = None,
        differentiable: bool = False, fused: bool | None = None,
    ) -> None:
        _check_hparam(lr >= 0.0, f"Invalid learning rate: {lr}")
        _check_hparam(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check_hparam(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused,
        )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One SGD update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        with no_grad(), np.errstate(all="ignore"):  # torch updates silently, overflow included
            for group in self.param_groups:
                lr, momentum, dampening = float(group["lr"]), group["momentum"], group["dampening"]
                wd, nesterov = group["weight_decay"], group["nesterov"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = _grad(p, group["maximize"])
                    if wd != 0:
                        g = g + wd * p._data
                    if momentum != 0:
                        state = self.state[p]
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = Tensor._make(g.copy())
                            state["momentum_buffer"] = buf
                        else:
                            b = buf._data
                            b *= momentum
                            b += (1 - dampening) * g
                        g = g + momentum * buf._data if nesterov else buf._data
                    p._data += -lr * g
                    p._bump_version()
        return loss
