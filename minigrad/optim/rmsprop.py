"""RMSprop (optionally centered, with momentum), as torch's single-tensor implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_hparam, _grad, _lerp_, _scalar_step_tensor


class RMSprop(Optimizer):
    """``v = alpha v + (1 - alpha) g^2``; ``avg = sqrt(v - gavg^2)`` if centered else ``sqrt(v)``, plus eps;
    ``p -= lr * g / avg`` or, with momentum, ``buf = momentum buf + g / avg; p -= lr * buf``."""

    def __init__(
        self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
        momentum: float = 0, centered: bool = False, capturable: bool = False, foreach: bool | None = None,
        maximize: bool = False, differentiable: bool = False,
    ) -> None:
        _check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
        _check_hparam(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_hparam(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check_hparam(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check_hparam(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
            capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RMSprop update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        with no_grad(), np.errstate(all="ignore"):  # torch updates silently, overflow included
            for group in self.param_groups:
                lr, alpha, eps = float(group["lr"]), group["alpha"], group["eps"]
                wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_step_tensor()
                        state["square_avg"] = Tensor._make(np.zeros_like(p._data))
                        if momentum > 0:
                            state["momentum_buffer"] = Tensor._make(np.zeros_like(p._data))
                        if centered:
                            state["grad_avg"] = Tensor._make(np.zeros_like(p._data))
                    g = _grad(p, group["maximize"])
                    state["step"]._data += 1
                    if wd != 0:
                        g = g + wd * p._data
                    square_avg = state["square_avg"]._data
                    square_avg *= alpha
                    square_avg += (1 - alpha) * g * g
                    if centered:
                        grad_avg = state["grad_avg"]._data
                        _lerp_(grad_avg, g, 1 - alpha)
                        # torch's addcmul is one fused multiply-add: grad_avg**2 never overflows on its own
                        # (inf - 1e56 stays inf); a float64 product, rounded once, does the same
                        wide = square_avg.astype(np.float64) - np.square(grad_avg.astype(np.float64))
                        avg = np.sqrt(wide.astype(square_avg.dtype))
                    else:
                        avg = np.sqrt(square_avg)
                    avg += eps
                    if momentum > 0:
                        buf = state["momentum_buffer"]._data
                        buf *= momentum
                        buf += g / avg
                        p._data += -lr * buf
                    else:
                        p._data += -lr * g / avg
                    p._bump_version()
        return loss
