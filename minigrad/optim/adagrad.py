"""Adagrad, as torch's single-tensor implementation (state created at construction, like torch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_hparam, _grad, _scalar_step_tensor


class Adagrad(Optimizer):
    """``sum += g^2``; ``p -= clr * g / (sqrt(sum) + eps)`` with ``clr = lr / (1 + (t - 1) lr_decay)``."""

    def __init__(
        self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
        initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
        maximize: bool = False, differentiable: bool = False, fused: bool | None = None,
    ) -> None:
        _check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
        _check_hparam(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check_hparam(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check_hparam(0.0 <= initial_accumulator_value, f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        _check_hparam(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
            differentiable=differentiable, fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """``step`` and ``sum`` of a parameter: at construction, or at its first step when it came later
        through ``add_param_group`` (torch's ``_init_group``)."""
        state = self.state[p]
        if not state:
            state["step"] = _scalar_step_tensor()
            state["sum"] = Tensor._make(np.full_like(p._data, group["initial_accumulator_value"]))
        return state

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adagrad update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        with no_grad(), np.errstate(all="ignore"):  # torch updates silently, overflow included
            for group in self.param_groups:
                lr, lr_decay, eps, wd = float(group["lr"]), group["lr_decay"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self._init_state(p, group)
                    state["step"]._data += 1
                    step = float(state["step"]._data)
                    g = _grad(p, group["maximize"])
                    if wd != 0:
                        g = g + wd * p._data
                    clr = lr / (1 + (step - 1) * lr_decay)
                    s = state["sum"]._data
                    s += 1 * g * g
                    std = np.sqrt(s) + eps
                    p._data += -clr * g / std
                    p._bump_version()
        return loss
