"""The worked examples of the background lecture notes (shared/seed-examples.md), in float64.

The expected numbers come from the notes (computed there independently of minigrad)."""

import math

import numpy as np
import pytest

import minigrad as torch

F64 = torch.float64


def leaf(v):
    return torch.tensor(v, dtype=F64, requires_grad=True)


def test_graph_with_max_gate():
    x = leaf([5.0, -2.0, -5.0])
    y = 2 * torch.log(x[0] + torch.sin(x[0])) / math.log(10) * torch.max(x[1:])
    y.backward()
    assert y.item() == pytest.approx(-2.425988, abs=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [-0.551821, 1.212994, 0.0], atol=1e-6)


def test_staged_computation_accumulates():
    x, y = leaf(3.0), leaf(-4.0)
    f = (x + torch.sigmoid(y)) / (torch.sigmoid(x) + (x + y) ** 2)
    f.backward()
    assert f.item() == pytest.approx(1.545645, abs=1e-6)
    assert x.grad.item() == pytest.approx(2.059570, abs=1e-6)
    assert y.grad.item() == pytest.approx(1.592233, abs=1e-6)


def test_add_then_multiply():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    q = x + y
    f = q * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_gate_patterns():
    a, b = leaf(2.0), leaf(-3.0)
    (a + b).backward(torch.tensor(7.0, dtype=F64))
    assert (a.grad.item(), b.grad.item()) == (7.0, 7.0)  # add distributes unchanged
    a.grad = b.grad = None
    (a * b).backward(torch.tensor(7.0, dtype=F64))
    assert (a.grad.item(), b.grad.item()) == (7.0 * -3.0, 7.0 * 2.0)  # mul swaps the inputs
    a.grad = b.grad = None
    torch.maximum(a, b).backward(torch.tensor(7.0, dtype=F64))
    assert (a.grad.item(), b.grad.item()) == (7.0, 0.0)  # max routes to the larger


def test_l2_regularised_logistic_unit_and_update():
    xv, tv, lam, lr = 1.5, 1.0, 0.1, 0.5
    w, b = leaf(0.8), leaf(-0.3)
    z = w * xv + b
    y = torch.sigmoid(z)
    loss = 0.5 * (y - tv) ** 2 + lam * 0.5 * w**2
    loss.backward()
    yv = 1 / (1 + math.exp(-(0.8 * xv - 0.3)))
    assert w.grad.item() == pytest.approx((yv - tv) * yv * (1 - yv) * xv + lam * 0.8, rel=1e-12)
    assert b.grad.item() == pytest.approx((yv - tv) * yv * (1 - yv), rel=1e-12)
    with torch.no_grad():
        w -= lr * w.grad
    assert w.item() == pytest.approx(0.8 - lr * ((yv - tv) * yv * (1 - yv) * xv + lam * 0.8), rel=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_cross_entropy_gradient_is_p_minus_y(scale):
    rng = np.random.default_rng(0)
    logits_np = rng.standard_normal((4, 5)) * scale
    target = np.array([0, 3, 1, 4])
    onehot = np.eye(5)[target]
    logits = leaf(logits_np)
    loss = -(torch.tensor(onehot) * torch.log_softmax(logits, dim=1)).sum() / 4
    loss.backward()
    shifted = logits_np - logits_np.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(logits.grad.numpy(), (p - onehot) / 4, atol=1e-12)


def test_two_layer_network_weight_gradient_is_outer_product():
    rng = np.random.default_rng(1)
    x_np, w1_np, b1_np = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    w2_np, b2_np = rng.standard_normal((2, 5)), rng.standard_normal(2)
    x, w1, b1, w2, b2 = torch.tensor(x_np), leaf(w1_np), leaf(b1_np), leaf(w2_np), leaf(b2_np)
    h = torch.relu(x @ w1.T + b1)
    h.retain_grad()
    z = h @ w2.T + b2
    z.retain_grad()
    loss = -torch.log_softmax(z, dim=1)[torch.arange(3), torch.tensor([0, 1, 1])].mean()
    loss.backward()
    delta = z.grad.numpy()
    np.testing.assert_allclose(w2.grad.numpy(), delta.T @ h.detach().numpy(), atol=1e-14)
    np.testing.assert_allclose(b2.grad.numpy(), delta.sum(axis=0), atol=1e-14)
    delta_h = h.grad.numpy() * (h.detach().numpy() > 0)
    np.testing.assert_allclose(w1.grad.numpy(), delta_h.T @ x_np, atol=1e-14)
