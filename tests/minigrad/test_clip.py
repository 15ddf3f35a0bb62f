"""clip_grad_norm_ / clip_grad_value_ / get_total_norm against the formulas, and parameter<->vector."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as torch
from minigrad import nn
from minigrad.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)


def params_with_grads(grads: list[np.ndarray]) -> list[nn.Parameter]:
    ps = []
    for g in grads:
        p = nn.Parameter(torch.zeros(*g.shape, dtype=torch.float64))
        p.grad = torch.tensor(g.copy())
        ps.append(p)
    return ps


grad_lists = st.lists(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), elements=st.floats(-5, 5)),
    min_size=1, max_size=4,
)


def norm_formula(grads: list[np.ndarray], p: float) -> float:
    flat = np.concatenate([g.reshape(-1) for g in grads])
    if p == float("inf"):
        return float(np.abs(flat).max(initial=0.0))
    return float((np.abs(flat) ** p).sum() ** (1 / p))


@settings(max_examples=40)
@given(grad_lists, st.sampled_from([2.0, 1.0, 3.0, float("inf")]), st.sampled_from([0.1, 1.0, 100.0]))
def test_clip_grad_norm_formula(grads: list[np.ndarray], p: float, max_norm: float) -> None:
    ps = params_with_grads(grads)
    total = clip_grad_norm_(ps, max_norm, norm_type=p)
    expected = norm_formula(grads, p)
    assert isinstance(total, torch.Tensor) and total.shape == () and total.dtype is torch.float64
    assert total.item() == pytest.approx(expected, rel=1e-12, abs=1e-300)
    coef = min(max_norm / (expected + 1e-6), 1.0)  # scale applied to every gradient
    for prm, g in zip(ps, grads):
        np.testing.assert_allclose(prm.grad.numpy(), g * coef, rtol=1e-12)
    if expected > max_norm:
        assert norm_formula([prm.grad.numpy() for prm in ps], p) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_seed_example() -> None:
    """Seed example 8: g <- min(1, c / ||g||) * g."""
    p = params_with_grads([np.array([3.0, 4.0])])
    assert clip_grad_norm_(p, 1.0).item() == 5.0
    np.testing.assert_allclose(p[0].grad.numpy(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], rtol=1e-15)
    q = params_with_grads([np.array([0.3, 0.4])])
    clip_grad_norm_(q, 1.0)
    assert q[0].grad.tolist() == [0.3, 0.4]  # norm below max: untouched


def test_clip_grad_norm_misc() -> None:
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    a.grad = torch.tensor([6.0, 8.0])  # float32
    total = clip_grad_norm_(iter([a, b]), 5.0)  # b has no grad: skipped
    assert total.dtype is torch.float32 and total.item() == pytest.approx(10.0)
    assert a.grad.dtype is torch.float32 and a.grad.numpy() == pytest.approx([3.0, 4.0], rel=1e-6)
    assert b.grad is None
    single = nn.Parameter(torch.ones(1))
    single.grad = torch.tensor([-3.0])
    assert clip_grad_norm_(single, 1.0).item() == 3.0  # a single tensor is accepted
    assert clip_grad_norm_([b], 1.0).item() == 0.0  # no grads: norm 0
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        clip_grad_norm_((p for p in []), 1.0)
    bad = nn.Parameter(torch.ones(1))
    bad.grad = torch.tensor([float("inf")])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is non-finite"):
        clip_grad_norm_([bad], 1.0, error_if_nonfinite=True)


def test_get_total_norm() -> None:
    ts = [torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([[2.0]], dtype=torch.float64)]
    assert get_total_norm(ts).item() == 3.0
    assert get_total_norm(ts, float("inf")).item() == 2.0
    assert get_total_norm(ts, 1).item() == 5.0


def test_clip_grad_value() -> None:
    ps = params_with_grads([np.array([-3.0, 0.5, 2.0]), np.array([[0.1, -0.2]])])
    assert clip_grad_value_(ps, 1.0) is None
    assert ps[0].grad.tolist() == [-1.0, 0.5, 1.0] and ps[1].grad.tolist() == [[0.1, -0.2]]


def test_parameters_to_vector_and_back() -> None:
    m = nn.Linear(3, 2)
    vec = parameters_to_vector(m.parameters())
    assert vec.shape == (8,)
    np.testing.assert_array_equal(vec.detach().numpy()[:6], m.weight.detach().numpy().reshape(-1))
    vector_to_parameters(torch.arange(8.0), m.parameters())
    assert m.weight.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and m.bias.tolist() == [6.0, 7.0]
    with pytest.raises(TypeError, match="expected minigrad.Tensor, but got: list"):
        vector_to_parameters([1.0], m.parameters())  # type: ignore[arg-type]
