"""nn.functional losses: values against independent NumPy formulas, gradients against central finite
differences (float64, hypothesis-drawn small arrays away from kinks), torch 2.13's values at the kinks,
stability at |logits| = 1e4, reductions, dtypes, and torch's error classes and messages."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as torch
import minigrad.nn.functional as F
from minigrad import nn

EPS = 1e-6
REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def numeric_vjp(fn: Callable[..., Any], arrays: list[np.ndarray], wrt: tuple[int, ...], cot: np.ndarray) -> list[np.ndarray]:
    """Central differences of sum(fn(*arrays) * cot) w.r.t. the arrays at positions ``wrt``."""
    out = []
    for i in wrt:
        g = np.zeros_like(arrays[i])
        for idx in np.ndindex(arrays[i].shape):
            vals = []
            for sign in (1, -1):
                moved = [a.copy() for a in arrays]
                moved[i][idx] += sign * EPS
                vals.append(np.sum(fn(*[torch.tensor(a) for a in moved]).detach().numpy() * cot))
            g[idx] = (vals[0] - vals[1]) / (2 * EPS)
        out.append(g)
    return out


def check_grad(fn: Callable[..., Any], arrays: list[np.ndarray], wrt: tuple[int, ...] = (0,), seed: int = 0) -> None:
    """Analytic gradient (backward with a random cotangent) == finite differences, for float leaves in ``wrt``."""
    leaves = [torch.tensor(a, requires_grad=(i in wrt)) for i, a in enumerate(arrays)]
    out = fn(*leaves)
    cot = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(torch.tensor(cot))
    expected = numeric_vjp(fn, arrays, wrt, cot)
    for i, exp in zip(wrt, expected):
        assert leaves[i].grad is not None and leaves[i].grad.dtype is torch.float64
        np.testing.assert_allclose(leaves[i].grad.numpy(), exp, rtol=1e-5, atol=1e-6)


def reduce_np(x: np.ndarray, reduction: str) -> np.ndarray:
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](x)


def grad_of(fn: Callable[..., Any], *arrays: np.ndarray, wrt: int = 0) -> np.ndarray:
    leaves = [torch.tensor(a, requires_grad=(i == wrt)) for i, a in enumerate(arrays)]
    fn(*leaves).backward()
    return leaves[wrt].grad.numpy()


def floats(lo: float = -2.0, hi: float = 2.0) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away(x: np.ndarray, points: tuple[float, ...], gap: float = 1e-3) -> bool:
    return all(np.all(np.abs(x - p) > gap) for p in points)


matrix_shapes = st.tuples(st.integers(1, 3), st.integers(2, 4))
small_shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)


@st.composite
def pair(draw: Any, lo: float = -2.0, hi: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    shape = draw(small_shapes)
    return draw(hnp.arrays(np.float64, shape, elements=floats(lo, hi))), draw(hnp.arrays(np.float64, shape, elements=floats(lo, hi)))


@st.composite
def classification(draw: Any, spatial: bool = False) -> tuple[np.ndarray, np.ndarray]:
    n, c = draw(matrix_shapes)
    shape = (n, c, draw(st.integers(1, 2))) if spatial else (n, c)
    x = draw(hnp.arrays(np.float64, shape, elements=floats(-3, 3)))
    tshape = (n, shape[2]) if spatial else (n,)
    t = draw(hnp.arrays(np.int64, tshape, elements=st.integers(0, c - 1)))
    return x, t


def log_softmax_np(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(pair(), st.sampled_from(REDUCTIONS))
def test_mse_loss_value_and_grad(xy: tuple[np.ndarray, np.ndarray], reduction: str) -> None:
    x, y = xy
    out = F.mse_loss(torch.tensor(x), torch.tensor(y), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), reduce_np((x - y) ** 2, reduction), rtol=1e-12)
    check_grad(lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, y], (0, 1))


@settings(max_examples=25)
@given(pair(), st.sampled_from(REDUCTIONS))
def test_l1_loss_value_and_grad(xy: tuple[np.ndarray, np.ndarray], reduction: str) -> None:
    x, y = xy
    assume(away(x - y, (0.0,)))
    out = F.l1_loss(torch.tensor(x), torch.tensor(y), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), reduce_np(np.abs(x - y), reduction), rtol=1e-12)
    check_grad(lambda a, b: F.l1_loss(a, b, reduction=reduction), [x, y], (0, 1))


def huber_np(d: np.ndarray, delta: float) -> np.ndarray:
    """The notes' Huber: 0.5 d^2 if |d| < delta else delta |d| - 0.5 delta^2."""
    return np.where(np.abs(d) < delta, 0.5 * d**2, delta * np.abs(d) - 0.5 * delta**2)


@settings(max_examples=25)
@given(pair(-3, 3), st.sampled_from(REDUCTIONS), st.sampled_from([0.5, 1.0, 1.7]))
def test_huber_loss_value_and_grad(xy: tuple[np.ndarray, np.ndarray], reduction: str, delta: float) -> None:
    x, y = xy
    assume(away(np.abs(x - y), (delta,)))
    out = F.huber_loss(torch.tensor(x), torch.tensor(y), reduction=reduction, delta=delta)
    np.testing.assert_allclose(out.numpy(), reduce_np(huber_np(x - y, delta), reduction), rtol=1e-12)
    check_grad(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta), [x, y], (0, 1))


@settings(max_examples=25)
@given(pair(-3, 3), st.sampled_from(REDUCTIONS), st.sampled_from([0.5, 1.0, 2.0]))
def test_smooth_l1_loss_value_and_grad(xy: tuple[np.ndarray, np.ndarray], reduction: str, beta: float) -> None:
    x, y = xy
    assume(away(np.abs(x - y), (beta,)))
    out = F.smooth_l1_loss(torch.tensor(x), torch.tensor(y), reduction=reduction, beta=beta)
    # smooth_l1 with beta is huber with delta=beta divided by beta
    np.testing.assert_allclose(out.numpy(), reduce_np(huber_np(x - y, beta) / beta, reduction), rtol=1e-12)
    check_grad(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, y], (0, 1))


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_and_smooth_l1_gradient_at_the_kink(delta: float) -> None:
    """torch 2.13: at |d| == delta the gradient is delta*sign(d) (huber) and sign(d) (smooth_l1)."""
    x = np.array([delta, -delta, 0.0, 3 * delta, -0.5 * delta])
    y = np.zeros(5)
    g = grad_of(lambda a, b: F.huber_loss(a, b, delta=delta, reduction="sum"), x, y)
    np.testing.assert_array_equal(g, [delta, -delta, 0.0, delta, -0.5 * delta])
    g = grad_of(lambda a, b: F.huber_loss(a, b, delta=delta, reduction="sum"), x, y, wrt=1)
    np.testing.assert_array_equal(g, [-delta, delta, 0.0, -delta, 0.5 * delta])
    g = grad_of(lambda a, b: F.smooth_l1_loss(a, b, beta=delta, reduction="sum"), x, y)
    np.testing.assert_allclose(g, [1.0, -1.0, 0.0, 1.0, -0.5], rtol=1e-15)
    # the value is continuous there: both branches give 0.5 * delta^2
    v = F.huber_loss(torch.tensor([delta]), torch.tensor([0.0]), delta=delta).item()
    assert v == pytest.approx(0.5 * delta**2, rel=1e-15)


def test_l1_and_smooth_l1_beta0_gradient_at_zero_is_zero() -> None:
    assert grad_of(lambda a, b: F.l1_loss(a, b, reduction="sum"), np.zeros(2), np.zeros(2)).tolist() == [0.0, 0.0]
    g = grad_of(lambda a, b: F.smooth_l1_loss(a, b, beta=0.0, reduction="sum"), np.array([0.0, 2.0, -1.0]), np.zeros(3))
    assert g.tolist() == [0.0, 1.0, -1.0]
    v = F.smooth_l1_loss(torch.tensor([0.5, -3.0]), torch.zeros(2), beta=0.0, reduction="none")
    assert v.tolist() == [0.5, 3.0]


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_per_element_weight(name: str) -> None:
    """torch 2.13's ``weight``: mse/l1 'mean' divide by sum(weight), huber's by the element count."""
    rng = np.random.default_rng(1)
    x, y, w = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.uniform(0.5, 2, size=(3, 2))
    fn = getattr(F, name)
    base = {"mse_loss": (x - y) ** 2, "l1_loss": np.abs(x - y), "huber_loss": huber_np(x - y, 1.0)}[name]
    mean = (base * w).sum() / w.sum() if name != "huber_loss" else (base * w).mean()
    out = fn(torch.tensor(x), torch.tensor(y), weight=torch.tensor(w))
    assert out.item() == pytest.approx(mean, rel=1e-12)
    assert fn(torch.tensor(x), torch.tensor(y), weight=torch.tensor(w), reduction="sum").item() == pytest.approx((base * w).sum(), rel=1e-12)
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        fn(torch.tensor(x), torch.tensor(y), weight=torch.ones(2))


def test_regression_size_mismatch_warns_and_broadcasts() -> None:
    x = torch.tensor([[0.5], [0.5]], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for fn in (F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss):
        with pytest.warns(UserWarning, match=r"Using a target size \(minigrad.Size\(\[2\]\)\) that is different to the input size"):
            out = fn(x, y)
        assert out.shape == ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert F.mse_loss(x, y).item() == pytest.approx(0.25)  # mean over the broadcast (2, 2)
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 0"):
            F.mse_loss(torch.zeros(3), torch.zeros(2))


# ---------------------------------------------------------------------------------------------
# cross entropy / nll
# ---------------------------------------------------------------------------------------------
def ce_np(x: np.ndarray, t: np.ndarray, w: np.ndarray | None, ignore: int, ls: float, reduction: str) -> np.ndarray:
    """Independent reference: cross entropy with class weights, ignore_index and label smoothing
    (torch's definition: (1-ls) * nll + ls/C * sum_c w_c * (-logp_c), 'mean' over the weights of kept targets)."""
    logp = log_softmax_np(x, 1)
    n, c = x.shape[:2]
    w = np.ones(c) if w is None else w
    losses, denom = [], 0.0
    for idx in np.ndindex(t.shape):
        cls = t[idx]
        sl = (idx[0], slice(None), *idx[1:])
        if cls == ignore:
            losses.append(0.0)
            continue
        nll = -w[cls] * logp[sl][cls]
        smooth = -(w * logp[sl]).sum()
        losses.append((1 - ls) * nll + ls / c * smooth)
        denom += w[cls]
    arr = np.array(losses).reshape(t.shape)
    if reduction == "none":
        return arr
    return arr.sum() if reduction == "sum" else arr.sum() / denom


@settings(max_examples=30)
@given(
    st.one_of(classification(), classification(spatial=True)),
    st.sampled_from(REDUCTIONS),
    st.booleans(),
    st.sampled_from([0.0, 0.2]),
    st.booleans(),
)
def test_cross_entropy_class_indices(xt: tuple[np.ndarray, np.ndarray], reduction: str, weighted: bool,
                                     ls: float, use_ignore: bool) -> None:
    x, t = xt
    c = x.shape[1]
    w = np.linspace(0.5, 2.0, c) if weighted else None
    ignore = int(t.flat[0]) if use_ignore else -100
    assume(not (use_ignore and reduction == "mean" and np.all(t == ignore)))

    def fn(a: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(a, torch.tensor(t), weight=None if w is None else torch.tensor(w),
                               ignore_index=ignore, reduction=reduction, label_smoothing=ls)

    out = fn(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), ce_np(x, t, w, ignore, ls, reduction), rtol=1e-10, atol=1e-12)
    check_grad(fn, [x])


@settings(max_examples=20)
@given(classification(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.3]), st.booleans())
def test_cross_entropy_class_probabilities(xt: tuple[np.ndarray, np.ndarray], reduction: str, ls: float, weighted: bool) -> None:
    x, _ = xt
    n, c = x.shape
    p = np.random.default_rng(n * 10 + c).dirichlet(np.ones(c), size=n)
    w = np.linspace(0.5, 2.0, c) if weighted else np.ones(c)
    q = p * (1 - ls) + ls / c
    per = -(log_softmax_np(x, 1) * q * w).sum(1)
    expected = per if reduction == "none" else (per.sum() if reduction == "sum" else per.sum() / n)

    def fn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(a, b, weight=torch.tensor(w) if weighted else None, reduction=reduction, label_smoothing=ls)

    np.testing.assert_allclose(fn(torch.tensor(x), torch.tensor(p)).numpy(), expected, rtol=1e-10)
    check_grad(fn, [x, p], (0, 1))


def test_softmax_cross_entropy_gradient_is_p_minus_y() -> None:
    """Seed example 6: dL/dl = softmax(l) - onehot(y), divided by the batch size under 'mean'."""
    x = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    t = np.array([2, 0])
    g = grad_of(lambda a: F.cross_entropy(a, torch.tensor(t)), x)
    p = np.exp(log_softmax_np(x, 1))
    np.testing.assert_allclose(g, (p - np.eye(3)[t]) / 2, rtol=1e-12)


def test_cross_entropy_stable_for_logits_of_magnitude_1e4() -> None:
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
    t = np.array([1, 2, 0])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        a = torch.tensor(x, requires_grad=True)
        loss = F.cross_entropy(a, torch.tensor(t), reduction="sum")
        loss.backward()
    assert loss.item() == pytest.approx(2e4 + math.log(2), rel=1e-12)
    assert np.all(np.isfinite(a.grad.numpy()))
    np.testing.assert_allclose(a.grad.numpy(), [[1, -1, 0], [0, 0, 0], [-0.5, 0.5, 0]], atol=1e-12)


@settings(max_examples=25)
@given(classification(), st.sampled_from(REDUCTIONS), st.booleans())
def test_nll_loss_mean_divides_by_weight_of_kept_targets(xt: tuple[np.ndarray, np.ndarray], reduction: str, weighted: bool) -> None:
    x, t = xt
    c = x.shape[1]
    w = np.linspace(2.0, 0.5, c) if weighted else np.ones(c)
    ignore = int(t[0])
    kept = t != ignore
    assume(kept.any() or reduction != "mean")
    per = np.where(kept, -w[np.where(kept, t, 0)] * x[np.arange(len(t)), t], 0.0)
    expected = per if reduction == "none" else (per.sum() if reduction == "sum" else per.sum() / w[t[kept]].sum())

    def fn(a: torch.Tensor) -> torch.Tensor:
        return F.nll_loss(a, torch.tensor(t), weight=torch.tensor(w) if weighted else None, ignore_index=ignore, reduction=reduction)

    np.testing.assert_allclose(fn(torch.tensor(x)).numpy(), expected, rtol=1e-12)
    check_grad(fn, [x])


def test_nll_all_targets_ignored() -> None:
    """torch: 'mean' of nothing is nan (0/0) and the gradient is zero."""
    x = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, torch.tensor([-100, -100]))
        loss.backward()
    assert math.isnan(loss.item())
    assert x.grad.tolist() == [[0.0] * 3] * 2
    assert F.nll_loss(torch.zeros(2, 3), torch.tensor([-100, -100]), reduction="sum").item() == 0.0


def test_unbatched_inputs() -> None:
    x = np.array([1.0, 2.0, 3.0])
    logp = log_softmax_np(x[None], 1)[0]
    assert F.cross_entropy(torch.tensor(x), torch.tensor(1)).item() == pytest.approx(-logp[1], rel=1e-14)
    assert F.nll_loss(torch.tensor(x), torch.tensor(1), reduction="none").shape == ()
    p = np.array([0.2, 0.3, 0.5])
    assert F.cross_entropy(torch.tensor(x), torch.tensor(p)).item() == pytest.approx(-(p * logp).sum(), rel=1e-14)


def test_cross_entropy_float32_stays_float32() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(x, torch.tensor([0, 1, 2, 1]))
    loss.backward()
    assert loss.dtype is torch.float32 and x.grad.dtype is torch.float32


# ---------------------------------------------------------------------------------------------
# binary cross entropy
# ---------------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(small_shapes.flatmap(lambda s: st.tuples(
    hnp.arrays(np.float64, s, elements=floats(0.05, 0.95)),
    hnp.arrays(np.float64, s, elements=floats(0.01, 0.99)),  # finite differences move y by 1e-6
    hnp.arrays(np.float64, s, elements=floats(0.5, 2.0)),
)), st.sampled_from(REDUCTIONS), st.booleans())
def test_binary_cross_entropy(pyw: tuple[np.ndarray, ...], reduction: str, weighted: bool) -> None:
    p, y, w = pyw
    per = -(y * np.log(p) + (1 - y) * np.log1p(-p)) * (w if weighted else 1)

    def fn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy(a, b, weight=torch.tensor(w) if weighted else None, reduction=reduction)

    np.testing.assert_allclose(fn(torch.tensor(p), torch.tensor(y)).numpy(), reduce_np(per, reduction), rtol=1e-12)
    check_grad(fn, [p, y], (0, 1))


def test_binary_cross_entropy_clamps_log_at_minus_100() -> None:
    out = F.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.0]), torch.tensor([1.0, 0.0, 0.0]), reduction="none")
    assert out.tolist() == [100.0, 100.0, 0.0]
    g = grad_of(lambda a: F.binary_cross_entropy(a, torch.tensor([1.0, 0.0], dtype=torch.float64), reduction="sum"), np.array([0.0, 1.0]))
    eps = float(np.float32(1e-12))  # torch's epsilon in the denominator max(x (1 - x), eps)
    np.testing.assert_allclose(g, [-1 / eps, 1 / eps], rtol=1e-15)


@settings(max_examples=25)
@given(small_shapes.flatmap(lambda s: st.tuples(
    hnp.arrays(np.float64, s, elements=floats(-4, 4)),
    hnp.arrays(np.float64, s, elements=floats(0.0, 1.0)),
    hnp.arrays(np.float64, s, elements=floats(0.5, 2.0)),
)), st.sampled_from(REDUCTIONS), st.booleans(), st.booleans())
def test_bce_with_logits(xyw: tuple[np.ndarray, ...], reduction: str, weighted: bool, with_pos_weight: bool) -> None:
    x, y, w = xyw
    pw = np.full(x.shape[-1:] if x.ndim else (), 1.7)
    s = 1 / (1 + np.exp(-x))
    per = -((pw if with_pos_weight else 1) * y * np.log(s) + (1 - y) * np.log(1 - s)) * (w if weighted else 1)

    def fn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(
            a, b, weight=torch.tensor(w) if weighted else None,
            pos_weight=torch.tensor(pw) if with_pos_weight else None, reduction=reduction,
        )

    np.testing.assert_allclose(fn(torch.tensor(x), torch.tensor(y)).numpy(), reduce_np(per, reduction), rtol=1e-10)
    check_grad(fn, [x, y], (0, 1))


def test_bce_with_logits_gradient_exact_at_zero() -> None:
    """Gradient is exactly sigmoid(x) - y, also at x = 0 (a composition through abs/relu gets 0.5 wrong)."""
    y = np.array([0.0, 0.5, 1.0, 0.3])
    g = grad_of(lambda a: F.binary_cross_entropy_with_logits(a, torch.tensor(y), reduction="sum"), np.zeros(4))
    assert g.tolist() == (0.5 - y).tolist()
    # with pos_weight: (1 + (pw - 1) y) sigmoid(x) - pw y
    g = grad_of(lambda a: F.binary_cross_entropy_with_logits(a, torch.tensor([0.3], dtype=torch.float64), pos_weight=torch.tensor([2.0], dtype=torch.float64), reduction="sum"), np.zeros(1))
    assert g[0] == pytest.approx(1.3 * 0.5 - 0.6, abs=1e-15)


def test_bce_with_logits_stable_at_1e4() -> None:
    x = np.array([1e4, -1e4, 1e4, -1e4])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        a = torch.tensor(x, requires_grad=True)
        out = F.binary_cross_entropy_with_logits(a, torch.tensor(y), pos_weight=torch.tensor([2.0, 3.0, 1.0, 1.0]), reduction="none")
        out.sum().backward()
    assert out.tolist() == [1e4, 3e4, 0.0, 0.0]
    assert a.grad.tolist() == [1.0, -3.0, 0.0, 0.0]


# ---------------------------------------------------------------------------------------------
# margin losses
# ---------------------------------------------------------------------------------------------
def multi_margin_np(x: np.ndarray, t: np.ndarray, p: int, margin: float, w: np.ndarray | None) -> np.ndarray:
    n, c = x.shape
    out = np.zeros(n)
    for i in range(n):
        for j in range(c):
            if j != t[i]:
                z = max(0.0, margin - x[i, t[i]] + x[i, j])
                out[i] += (w[t[i]] if w is not None else 1.0) * z**p
    return out / c


@settings(max_examples=25)
@given(classification(), st.sampled_from(REDUCTIONS), st.sampled_from([1, 2]), st.sampled_from([0.5, 1.0]), st.booleans())
def test_multi_margin_loss(xt: tuple[np.ndarray, np.ndarray], reduction: str, p: int, margin: float, weighted: bool) -> None:
    x, t = xt
    z = margin - x[np.arange(len(t)), t][:, None] + x
    assume(away(z, (0.0,)))
    w = np.linspace(0.5, 2.0, x.shape[1]) if weighted else None

    def fn(a: torch.Tensor) -> torch.Tensor:
        return F.multi_margin_loss(a, torch.tensor(t), p=p, margin=margin,
                                   weight=None if w is None else torch.tensor(w), reduction=reduction)

    np.testing.assert_allclose(fn(torch.tensor(x)).numpy(), reduce_np(multi_margin_np(x, t, p, margin, w), reduction), rtol=1e-12)
    check_grad(fn, [x])


def test_multi_margin_kink_has_zero_gradient() -> None:
    """z = margin - x_y + x_j == 0 contributes no gradient (torch uses z > 0)."""
    g = grad_of(lambda a: F.multi_margin_loss(a, torch.tensor([0]), reduction="sum"), np.array([[1.0, 0.0, -0.5]]))
    assert g.tolist() == [[0.0, 0.0, 0.0]]


@settings(max_examples=25)
@given(small_shapes.flatmap(lambda s: st.tuples(
    hnp.arrays(np.float64, s, elements=floats(-2, 2)),
    hnp.arrays(np.float64, s, elements=st.sampled_from([-1.0, 1.0])),
)), st.sampled_from(REDUCTIONS), st.sampled_from([0.5, 1.0]))
def test_hinge_embedding_loss(xy: tuple[np.ndarray, np.ndarray], reduction: str, margin: float) -> None:
    x, y = xy
    assume(away(x, (margin,)))
    per = np.where(y == 1, x, np.maximum(0.0, margin - x))
    fn = lambda a, b: F.hinge_embedding_loss(a, b, margin=margin, reduction=reduction)  # noqa: E731
    np.testing.assert_allclose(fn(torch.tensor(x), torch.tensor(y)).numpy(), reduce_np(per, reduction), rtol=1e-12)
    check_grad(fn, [x, y], (0,))


def test_hinge_embedding_kink_and_other_targets() -> None:
    # at x == margin with target -1 torch's clamp_min passes the gradient: -1
    g = grad_of(lambda a: F.hinge_embedding_loss(a, torch.tensor([-1.0, -1.0]), reduction="sum"), np.array([1.0, 0.5]))
    assert g.tolist() == [-1.0, -1.0]
    # torch adds both terms for targets that are neither 1 nor -1
    out = F.hinge_embedding_loss(torch.tensor([0.1, 0.5, 2.0]), torch.tensor([1.0, 0.0, 2.0]), reduction="none")
    np.testing.assert_allclose(out.numpy(), [0.1, 1.0, 2.0], rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# reductions, modules, misc functional
# ---------------------------------------------------------------------------------------------
def test_reduction_validation_and_legacy_flags() -> None:
    x, y = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])
    with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
        F.mse_loss(x, y, reduction="avg")
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert F.mse_loss(x, y, size_average=False).item() == 5.0
    with pytest.warns(UserWarning):
        assert F.mse_loss(x, y, reduce=False).tolist() == [1.0, 4.0]
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(F.mse_loss(torch.zeros(0), torch.zeros(0)).item())


def test_loss_modules_match_functional() -> None:
    rng = np.random.default_rng(3)
    x, t = torch.tensor(rng.normal(size=(4, 3))), torch.tensor([0, 2, 1, 1])
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    p, y = torch.tensor(rng.uniform(0.1, 0.9, (4, 3))), torch.tensor(rng.uniform(0, 1, (4, 3)))
    pairs = [
        (nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, reduction="sum")(x, t),
         F.cross_entropy(x, t, weight=w, label_smoothing=0.1, reduction="sum")),
        (nn.NLLLoss(ignore_index=2)(x, t), F.nll_loss(x, t, ignore_index=2)),
        (nn.MSELoss()(x, p), F.mse_loss(x, p)),
        (nn.L1Loss(reduction="sum")(x, p), F.l1_loss(x, p, reduction="sum")),
        (nn.HuberLoss(delta=0.3)(x, p), F.huber_loss(x, p, delta=0.3)),
        (nn.SmoothL1Loss(beta=0.3)(x, p), F.smooth_l1_loss(x, p, beta=0.3)),
        (nn.BCELoss(weight=w)(p, y), F.binary_cross_entropy(p, y, weight=w)),
        (nn.BCEWithLogitsLoss(pos_weight=w)(x, y), F.binary_cross_entropy_with_logits(x, y, pos_weight=w)),
        (nn.MultiMarginLoss(p=2, margin=0.5, weight=w)(x, t), F.multi_margin_loss(x, t, p=2, margin=0.5, weight=w)),
        (nn.HingeEmbeddingLoss(margin=0.2)(x, torch.sign(p - 0.5)), F.hinge_embedding_loss(x, torch.sign(p - 0.5), margin=0.2)),
    ]
    for a, b in pairs:
        assert a.item() == b.item()
    assert list(dict(nn.CrossEntropyLoss(weight=w).named_buffers())) == ["weight"]


def test_one_hot() -> None:
    out = F.one_hot(torch.tensor([0, 2, 1]))
    assert out.dtype is torch.int64 and out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert F.one_hot(torch.tensor([[1], [0]]), 3).shape == (2, 1, 3)
    assert F.one_hot(torch.tensor(2), 4).tolist() == [0, 0, 1, 0]
    assert F.one_hot(torch.zeros(0, dtype=torch.int64), 4).shape == (0, 4)
    for bad, msg in [
        (lambda: F.one_hot(torch.tensor([0.0])), "one_hot is only applicable to index tensor of type LongTensor."),
        (lambda: F.one_hot(torch.tensor([0, 2]), 2), "Class values must be smaller than num_classes."),
        (lambda: F.one_hot(torch.tensor([0, -1]), 3), "Class values must be non-negative."),
        (lambda: F.one_hot(torch.zeros(0, dtype=torch.int64)), "Can not infer total number of classes from empty tensor."),
    ]:
        with pytest.raises(RuntimeError) as info:
            bad()
        assert str(info.value) == msg


def test_dropout_mask_scale_and_gradient() -> None:
    torch.manual_seed(0)
    x = torch.ones(2000, dtype=torch.float64, requires_grad=True)
    out = F.dropout(x, p=0.25)
    vals = set(np.unique(out.detach().numpy()).tolist())
    assert vals <= {0.0, 1 / 0.75}
    kept = float((out.detach().numpy() != 0).mean())
    assert abs(kept - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 2000)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())  # d out / d x = mask / (1 - p)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(torch.ones(3), 1.0).tolist() == [0.0, 0.0, 0.0]
    torch.manual_seed(5)
    a = F.dropout(torch.ones(50), 0.5).tolist()
    torch.manual_seed(5)
    assert F.dropout(torch.ones(50), 0.5).tolist() == a
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)


def test_dropout_module_train_eval() -> None:
    d = nn.Dropout(0.5)
    x = torch.ones(100)
    assert d.eval()(x) is x
    assert (d.train()(x).numpy() == 0).any()


def test_linear_functional_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(3, 4)), rng.normal(size=(2, 4)), rng.normal(size=2)
    np.testing.assert_allclose(F.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)).numpy(), x @ w.T + b, rtol=1e-14)
    check_grad(lambda a, c, d: F.linear(a, c, d), [x, w, b], (0, 1, 2))
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x4\)"):
        F.linear(torch.ones(2, 3), torch.ones(4, 2))


def test_functional_activations_are_the_core_ops() -> None:
    from minigrad.ops import activation

    for name in ("leaky_relu", "elu", "gelu", "silu", "softplus", "hardtanh", "relu6"):
        assert getattr(F, name) is getattr(activation, name)
    assert F.sigmoid is torch.sigmoid and F.tanh is torch.tanh
    x = torch.tensor([-1.0, 0.0, 2.0])
    assert F.relu(x).tolist() == [0.0, 0.0, 2.0]
    F.relu(x, inplace=True)
    assert x.tolist() == [0.0, 0.0, 2.0]
    np.testing.assert_allclose(F.softmax(torch.tensor([[1.0, 2.0]]), dim=1).numpy().sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(torch.tensor([[1.0, 1.0]]), 1).numpy(), np.log([[0.5, 0.5]]), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# errors (messages as torch 2.13 prints them)
# ---------------------------------------------------------------------------------------------
ERRORS = [
    (lambda: F.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3])), IndexError, "Target 3 is out of bounds."),
    (lambda: F.cross_entropy(torch.zeros(2, 3), torch.tensor([0, -1])), IndexError, "Target -1 is out of bounds."),
    (lambda: F.nll_loss(torch.zeros(2, 3, 4), torch.full((2, 4), 5)), IndexError, "Target 5 is out of bounds."),
    (lambda: F.cross_entropy(torch.zeros(2, 3), torch.tensor([0.0, 1.0])), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda: F.nll_loss(torch.zeros(2, 3), torch.tensor([0, 1], dtype=torch.int32)), RuntimeError,
     "expected target dtype to be Long or Byte, but got Int"),
    (lambda: F.nll_loss(torch.zeros(2, 3), torch.tensor([0, 1, 2])), ValueError,
     "Expected input batch_size (2) to match target batch_size (3)."),
    (lambda: F.nll_loss(torch.zeros(2, 3), torch.zeros(2, 1, dtype=torch.int64)), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda: F.nll_loss(torch.tensor(1.0), torch.tensor(0)), ValueError, "Expected 1 or more dimensions (got 0)"),
    (lambda: F.cross_entropy(torch.zeros(2, 3, 4), torch.zeros(2, 5, dtype=torch.int64)), RuntimeError,
     "Expected target size [2, 4], got [2, 5]"),
    (lambda: F.nll_loss(torch.zeros(2, 3, 4, 5), torch.zeros(2, 4, 4, dtype=torch.int64)), RuntimeError,
     "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]"),
    (lambda: F.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), weight=torch.ones(2)), RuntimeError,
     "weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]"),
    (lambda: F.nll_loss(torch.zeros(2, 3), torch.tensor([0, 1]), weight=torch.ones(3, dtype=torch.float64)),
     RuntimeError, "expected scalar type Float but found Double"),
    (lambda: F.cross_entropy(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.int64)), RuntimeError,
     "Expected floating point type for target with class probabilities, got Long"),
    (lambda: F.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), label_smoothing=1.5), RuntimeError,
     "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda: F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0])), RuntimeError,
     "all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1.5])), RuntimeError,
     "all elements of target should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(torch.full((2, 1), 0.5), torch.tensor([1.0, 0.0])), ValueError,
     "Using a target size (minigrad.Size([2])) that is different to the input size (minigrad.Size([2, 1])) is "
     "deprecated. Please ensure they have the same size."),
    (lambda: F.binary_cross_entropy_with_logits(torch.full((2, 1), 0.5), torch.tensor([1.0, 0.0])), ValueError,
     "Target size (minigrad.Size([2])) must be the same as input size (minigrad.Size([2, 1]))"),
    (lambda: F.binary_cross_entropy_with_logits(torch.zeros(2), torch.zeros(2), pos_weight=torch.ones(2, requires_grad=True)),
     RuntimeError, "The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument "
     "'pos_weight'. This input cannot have requires_grad True."),
    (lambda: F.nll_loss(torch.zeros(1, 2), torch.tensor([0]), weight=torch.ones(2, requires_grad=True)),
     RuntimeError, "The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. "
     "This input cannot have requires_grad True."),
    (lambda: F.mse_loss(torch.tensor([1, 2]), torch.tensor([1, 3])), NotImplementedError,
     "\"mse_cpu\" not implemented for 'Long'"),
    (lambda: F.multi_margin_loss(torch.zeros(2, 3), torch.tensor([0, 1]), p=3), ValueError,
     "only p == 1 and p == 2 supported"),
    (lambda: F.multi_margin_loss(torch.zeros(2, 3), torch.tensor([0, 3])), RuntimeError, "target out of range"),
    (lambda: F.multi_margin_loss(torch.zeros(2, 3), torch.tensor([0.0, 1.0])), RuntimeError,
     "expected scalar type Long but found Float"),
    (lambda: F.multi_margin_loss(torch.zeros(2, 3), torch.zeros(3, dtype=torch.int64)), RuntimeError,
     "multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples (batch size). "
     "Expected target size [2], but got [3]. Input has shape [2, 3]."),
    (lambda: F.multi_margin_loss(torch.zeros(2, 3, 1), torch.zeros(2, dtype=torch.int64)), RuntimeError,
     "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 3, 1]"),
    (lambda: F.multi_margin_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.int64), weight=torch.ones(2)),
     RuntimeError, "inconsistent weight size, expected 3 but got [2]"),
    (lambda: F.huber_loss(torch.ones(2), torch.zeros(2), delta=0.0), RuntimeError,
     "huber_loss does not support non-positive values for delta."),
    (lambda: F.smooth_l1_loss(torch.ones(2), torch.zeros(2), beta=-1.0), RuntimeError,
     "smooth_l1_loss does not support negative values for beta."),
]


@pytest.mark.parametrize("call,exc,message", ERRORS)
def test_error_messages(call: Callable[[], Any], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc
    assert str(info.value) == message
