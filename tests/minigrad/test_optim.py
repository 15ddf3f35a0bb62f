"""Optimisers against update formulas written out by hand in the test (float64), the Optimizer API,
state_dict round trips, and the lr schedulers against their closed forms."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as torch
from minigrad import nn
from minigrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from minigrad.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LambdaLR, MultiStepLR, StepLR
from minigrad.serialization import load, save

P0 = np.array([1.0, -2.0, 0.5])
GRADS = [np.array([0.3, -0.1, 2.0]), np.array([-0.4, 0.2, 1.0]), np.array([0.1, 0.1, -3.0])]


def run(make: Callable[[list[nn.Parameter]], Optimizer], grads: list[np.ndarray] = GRADS) -> tuple[nn.Parameter, list[np.ndarray]]:
    """Apply the optimiser with the given gradient sequence; returns the parameter and its trajectory."""
    p = nn.Parameter(torch.tensor(P0.copy(), dtype=torch.float64))
    opt = make([p])
    traj = []
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        traj.append(p.detach().numpy().copy())
    return p, traj


def close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# SGD
# ---------------------------------------------------------------------------------------------
def test_sgd_plain() -> None:
    _, traj = run(lambda ps: SGD(ps, lr=0.1))
    close(traj[0], P0 - 0.1 * GRADS[0])
    close(traj[1], P0 - 0.1 * GRADS[0] - 0.1 * GRADS[1])


def test_sgd_momentum_two_steps_by_hand() -> None:
    lr, mu = 0.1, 0.9
    _, traj = run(lambda ps: SGD(ps, lr=lr, momentum=mu))
    buf1 = GRADS[0]  # the buffer starts as a copy of the first gradient (no (1 - dampening) factor)
    p1 = P0 - lr * buf1
    buf2 = mu * buf1 + GRADS[1]
    p2 = p1 - lr * buf2
    buf3 = mu * buf2 + GRADS[2]
    close(traj[0], p1)
    close(traj[1], p2)
    close(traj[2], p2 - lr * buf3)


def test_sgd_nesterov_weight_decay_dampening_maximize() -> None:
    lr, mu, wd = 0.05, 0.8, 0.01
    _, traj = run(lambda ps: SGD(ps, lr=lr, momentum=mu, nesterov=True, weight_decay=wd))
    p, buf = P0.copy(), None
    for g, got in zip(GRADS, traj):
        g = g + wd * p
        buf = g.copy() if buf is None else mu * buf + g
        p = p - lr * (g + mu * buf)
        close(got, p)

    damp = 0.3
    _, traj = run(lambda ps: SGD(ps, lr=lr, momentum=mu, dampening=damp, maximize=True))
    p, buf = P0.copy(), None
    for g, got in zip(GRADS, traj):
        buf = -g if buf is None else mu * buf + (1 - damp) * (-g)
        p = p - lr * buf
        close(got, p)


def test_logistic_unit_gradient_descent() -> None:
    """Seed example 5: L2-regularised logistic unit, dL/dw = (y - t) y (1 - y) x + lam w, then w -= lr dw."""
    x, t, lam, lr = 1.5, 1.0, 0.1, 0.5
    w = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))
    b = nn.Parameter(torch.tensor(-0.2, dtype=torch.float64))
    opt = SGD([w, b], lr=lr)
    y = torch.sigmoid(w * x + b)
    loss = 0.5 * (y - t) ** 2 + lam * 0.5 * w**2
    opt.zero_grad()
    loss.backward()
    yv = 1 / (1 + math.exp(-(0.3 * x - 0.2)))
    dw = (yv - t) * yv * (1 - yv) * x + lam * 0.3
    db = (yv - t) * yv * (1 - yv)
    assert w.grad.item() == pytest.approx(dw, rel=1e-12) and b.grad.item() == pytest.approx(db, rel=1e-12)
    opt.step()
    assert w.item() == pytest.approx(0.3 - lr * dw, rel=1e-12)
    assert b.item() == pytest.approx(-0.2 - lr * db, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Adam / AdamW
# ---------------------------------------------------------------------------------------------
def adam_reference(lr: float, b1: float, b2: float, eps: float, wd: float = 0.0, decoupled: bool = False,
                   amsgrad: bool = False, maximize: bool = False) -> list[np.ndarray]:
    """Kingma & Ba with bias-corrected moments: p -= lr * m_hat / (sqrt(v_hat) + eps)."""
    p, m, v, vmax = P0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    out = []
    for t, g in enumerate(GRADS, start=1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * wd)
        elif wd:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1**t)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(weight_decay=0.1), dict(amsgrad=True), dict(maximize=True), dict(betas=(0.5, 0.9), eps=1e-3)],
)
def test_adam_against_reference(kwargs: dict[str, Any]) -> None:
    lr = 0.01
    b1, b2 = kwargs.get("betas", (0.9, 0.999))
    ref = adam_reference(lr, b1, b2, kwargs.get("eps", 1e-8), kwargs.get("weight_decay", 0.0),
                         amsgrad=kwargs.get("amsgrad", False), maximize=kwargs.get("maximize", False))
    _, traj = run(lambda ps: Adam(ps, lr=lr, **kwargs))
    for got, exp in zip(traj, ref):
        close(got, exp)


def test_adam_first_step_moves_each_coordinate_by_lr() -> None:
    """With bias correction the first update is lr * g / (|g| + eps) ~= lr * sign(g)."""
    _, traj = run(lambda ps: Adam(ps, lr=0.01))
    np.testing.assert_allclose(traj[0], P0 - 0.01 * np.sign(GRADS[0]), rtol=1e-7)


def test_adamw_decoupled_decay() -> None:
    lr, wd = 0.01, 0.5
    ref = adam_reference(lr, 0.9, 0.999, 1e-8, wd, decoupled=True)
    _, traj = run(lambda ps: AdamW(ps, lr=lr, weight_decay=wd))
    for got, exp in zip(traj, ref):
        close(got, exp)
    assert AdamW([nn.Parameter(torch.ones(1))]).defaults["weight_decay"] == 1e-2
    # decoupled decay differs from Adam's L2 decay
    _, l2 = run(lambda ps: Adam(ps, lr=lr, weight_decay=wd))
    assert not np.allclose(l2[-1], traj[-1])


# ---------------------------------------------------------------------------------------------
# RMSprop / Adagrad
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_against_reference(centered: bool, momentum: float) -> None:
    lr, alpha, eps, wd = 0.01, 0.9, 1e-8, 0.05
    _, traj = run(lambda ps: RMSprop(ps, lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum, centered=centered))
    p, v, gavg, buf = P0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for g, got in zip(GRADS, traj):
        g = g + wd * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            avg = np.sqrt(v - gavg**2) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        close(got, p)


def test_adagrad_against_reference() -> None:
    lr, lr_decay, init_acc, eps, wd = 0.1, 0.05, 0.2, 1e-10, 0.01
    _, traj = run(lambda ps: Adagrad(ps, lr=lr, lr_decay=lr_decay, initial_accumulator_value=init_acc, eps=eps, weight_decay=wd))
    p, s = P0.copy(), np.full(3, init_acc)
    for t, (g, got) in enumerate(zip(GRADS, traj), start=1):
        g = g + wd * p
        s = s + g * g
        clr = lr / (1 + (t - 1) * lr_decay)
        p = p - clr * g / (np.sqrt(s) + eps)
        close(got, p)


# ---------------------------------------------------------------------------------------------
# Optimizer API
# ---------------------------------------------------------------------------------------------
ALL = [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: AdamW(ps, lr=0.01),
    lambda ps: RMSprop(ps, lr=0.01, centered=True, momentum=0.3),
    lambda ps: Adagrad(ps, lr=0.1),
]


@pytest.mark.parametrize("make", ALL)
def test_updates_in_place_keep_parameter_identity_and_dtype(make: Callable[[list[nn.Parameter]], Optimizer]) -> None:
    model = nn.Linear(3, 2)
    w, storage = model.weight, model.weight._data
    opt = make(list(model.parameters()))
    before = w.detach().numpy().copy()
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    assert model.weight is w and w._data is storage  # same Parameter, same storage
    assert w.dtype is torch.float32 and w.is_leaf and w.grad_fn is None
    assert not np.array_equal(before, w.detach().numpy())


@pytest.mark.parametrize("make", ALL)
def test_state_dict_round_trip_continues_identically(make: Callable[[list[nn.Parameter]], Optimizer]) -> None:
    """Train 2 steps, checkpoint (npz), restore into fresh objects, train 2 more == 4 uninterrupted steps."""
    grads = GRADS + [np.array([0.5, 0.5, 0.5])]
    _, straight = run(make, grads)

    p = nn.Parameter(torch.tensor(P0.copy(), dtype=torch.float64))
    opt = make([p])
    for g in grads[:2]:
        p.grad = torch.tensor(g)
        opt.step()
    buf = io.BytesIO()
    save({"p": p.detach(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    ck = load(buf)
    q = nn.Parameter(ck["p"])
    opt2 = make([q])
    opt2.load_state_dict(ck["opt"])
    for g in grads[2:]:
        q.grad = torch.tensor(g)
        opt2.step()
    np.testing.assert_array_equal(q.detach().numpy(), straight[-1])


def test_param_groups_defaults_and_per_group_lr() -> None:
    a, b = nn.Parameter(torch.ones(2, dtype=torch.float64)), nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.0)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 1.0
    assert opt.param_groups[1]["params"] == [b]
    assert set(opt.param_groups[0]) == {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov",
                                       "maximize", "foreach", "differentiable", "fused"}
    a.grad = torch.ones(2, dtype=torch.float64)
    b.grad = torch.ones(2, dtype=torch.float64)
    opt.step()
    assert a.tolist() == [0.9, 0.9] and b.tolist() == [0.0, 0.0]
    c = nn.Parameter(torch.ones(1))
    opt.add_param_group({"params": [c], "lr": 0.5})
    assert opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_parameters_without_grad_are_skipped_and_zero_grad() -> None:
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    opt = Adam([a, b], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert b.tolist() == [1.0, 1.0] and len(opt.state[b]) == 0 and len(opt.state[a]) == 3
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None


def test_step_closure_reevaluates_with_grad() -> None:
    w = nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    opt = SGD([w], lr=0.25)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.item() == 2.0 - 0.25 * 4.0


@pytest.mark.parametrize(
    "call,exc,message",
    [
        (lambda: SGD(torch.ones(2), lr=0.1), TypeError,
         "params argument given to the optimizer should be an iterable of Tensors or dicts, but got minigrad.FloatTensor"),
        (lambda: SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
        (lambda: SGD([nn.Parameter(torch.ones(1))], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
        (lambda: SGD([nn.Parameter(torch.ones(1))], lr=0.1, momentum=-1), ValueError, "Invalid momentum value: -1"),
        (lambda: SGD([nn.Parameter(torch.ones(1))], lr=0.1, nesterov=True), ValueError,
         "Nesterov momentum requires a momentum and zero dampening"),
        (lambda: Adam([nn.Parameter(torch.ones(1))], betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
        (lambda: Adam([nn.Parameter(torch.ones(1))], eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
        (lambda: RMSprop([nn.Parameter(torch.ones(1))], alpha=-0.1), ValueError, "Invalid alpha value: -0.1"),
        (lambda: Adagrad([nn.Parameter(torch.ones(1))], lr_decay=-1.0), ValueError, "Invalid lr_decay value: -1.0"),
        (lambda: SGD([torch.ones(1, requires_grad=True) * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
        (lambda: SGD([nn.Parameter(torch.ones(1))], lr=0.1).add_param_group({"params": {nn.Parameter(torch.ones(1))}}),
         TypeError, "optimizer parameters need to be organized in ordered collections, but the ordering of tensors in "
         "sets will change between runs. Please use a list instead."),
    ],
)
def test_optimizer_errors(call: Callable[[], Any], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == message


def test_load_state_dict_mismatch_errors() -> None:
    opt = SGD([nn.Parameter(torch.ones(1))], lr=0.1)
    other = SGD([nn.Parameter(torch.ones(1)), nn.Parameter(torch.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="loaded state dict contains a parameter group that doesn't match the size of optimizer's group"):
        opt.load_state_dict(other.state_dict())


def test_optimizer_repr() -> None:
    opt = Adagrad([nn.Parameter(torch.ones(1))], lr=0.1)
    assert repr(opt).startswith("Adagrad (\nParameter Group 0\n    differentiable: False\n    eps: 1e-10\n")


# ---------------------------------------------------------------------------------------------
# lr schedulers
# ---------------------------------------------------------------------------------------------
def _lrs(make_sched: Callable[[Optimizer], Any], n: int, lr: float = 1.0) -> list[float]:
    opt = SGD([nn.Parameter(torch.ones(1))], lr=lr)
    sched = make_sched(opt)
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
        assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    return out


def test_step_lr() -> None:
    got = _lrs(lambda o: StepLR(o, step_size=3, gamma=0.5), 9)
    expected = [0.5 ** (e // 3) for e in range(10)]
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_cosine_annealing_follows_closed_form() -> None:
    T, eta_min, base = 10, 0.1, 1.0
    got = _lrs(lambda o: CosineAnnealingLR(o, T_max=T, eta_min=eta_min), 3 * T, base)
    closed = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(3 * T + 1)]
    np.testing.assert_allclose(got, closed, rtol=1e-12, atol=1e-14)
    assert got[T] == pytest.approx(eta_min) and got[2 * T] == pytest.approx(base)


def test_other_schedulers() -> None:
    np.testing.assert_allclose(_lrs(lambda o: ExponentialLR(o, gamma=0.9), 5), [0.9**e for e in range(6)], rtol=1e-14)
    np.testing.assert_allclose(_lrs(lambda o: MultiStepLR(o, milestones=[2, 4], gamma=0.1), 5),
                               [1, 1, 0.1, 0.1, 0.01, 0.01], rtol=1e-14)
    np.testing.assert_allclose(_lrs(lambda o: LambdaLR(o, lambda e: 1 / (e + 1)), 4), [1 / (e + 1) for e in range(5)], rtol=1e-15)


def test_scheduler_state_dict_resume_and_warning() -> None:
    opt = SGD([nn.Parameter(torch.ones(1))], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["last_epoch"] == 3 and "optimizer" not in state
    opt2 = SGD([nn.Parameter(torch.ones(1))], lr=1.0)
    sched2 = StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(state)
    opt2.load_state_dict(opt.state_dict())
    opt.step()
    sched.step()
    opt2.step()
    sched2.step()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.25
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        StepLR(SGD([nn.Parameter(torch.ones(1))], lr=1.0), step_size=1).step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o = SGD([nn.Parameter(torch.ones(1))], lr=1.0)
        s = StepLR(o, step_size=1)
        o.step()
        s.step()


def test_centered_rmsprop_at_float32_overflow_matches_torch_silently() -> None:
    # grad 1e30: square_avg overflows to inf; torch's fused addcmul gives avg = sqrt(inf - 1e56) = inf, so the
    # update is 0 and the parameter is unchanged (torch 2.13: [1.0, -2.0]), with no warning
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=0.01, centered=True)
    p.grad = torch.tensor([1e30, -1e30])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
    assert p.tolist() == [1.0, -2.0]
