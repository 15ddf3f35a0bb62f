"""Gradients at kinks and ties, as torch 2.13 defines them (DESIGN.md §2, checked in torch 2.13.0)."""

import math

import numpy as np
import pytest

import minigrad as torch
from minigrad.ops import activation as F


def grad_of(fn, values, dtype=torch.float64):
    x = torch.tensor(values, dtype=dtype, requires_grad=True)
    out = fn(x)
    out.backward(torch.ones_like(out))
    return x.grad.numpy()


@pytest.mark.parametrize(
    "fn,x,expected",
    [
        (torch.relu, [0.0], [0.0]),
        (torch.abs, [0.0], [0.0]),
        (torch.sign, [0.0, 2.0], [0.0, 0.0]),
        (lambda x: F.leaky_relu(x, 0.2), [0.0], [0.2]),
        (lambda x: torch.clamp(x, -1.0, 1.0), [-1.0, 1.0, 1.5], [1.0, 1.0, 0.0]),
        (F.hardtanh, [-1.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
        (F.relu6, [0.0, 6.0, 3.0], [0.0, 0.0, 1.0]),
        (torch.sqrt, [0.0], [math.inf]),
        (lambda x: torch.linalg.vector_norm(x), [0.0, 0.0], [0.0, 0.0]),
        (lambda x: x.max(), [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
        (lambda x: x.min(), [2.0, 2.0, 2.0, 5.0], [1 / 3, 1 / 3, 1 / 3, 0.0]),
        (lambda x: x.amax(0), [3.0, 1.0, 3.0], [0.5, 0.0, 0.5]),
        (lambda x: x.max(0).values, [3.0, 1.0, 3.0], [1.0, 0.0, 0.0]),
        (lambda x: x.min(0)[0], [1.0, 1.0], [1.0, 0.0]),
        (lambda x: torch.linalg.vector_norm(x, float("inf")), [-2.0, 2.0, 1.0], [-0.5, 0.5, 0.0]),
        (lambda x: x**0, [0.0], [0.0]),
        (lambda x: x**2, [0.0], [0.0]),
        (lambda x: x.std(), [2.0, 2.0], [0.0, 0.0]),
    ],
)
def test_kink_gradient(fn, x, expected):
    np.testing.assert_array_equal(grad_of(fn, x), expected)


def test_maximum_minimum_tie_splits_half():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([1.0, 3.0], requires_grad=True)
    torch.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0])
    a.grad = b.grad = None
    torch.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0])


def test_logsumexp_of_all_minus_inf():
    x = torch.tensor([-math.inf, -math.inf], dtype=torch.float64, requires_grad=True)
    y = torch.logsumexp(x, 0)
    y.backward()
    assert y.item() == -math.inf
    assert np.isnan(x.grad.numpy()).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stable_at_large_magnitude(dtype, recwarn):
    x = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype, requires_grad=True)
    for fn in (torch.sigmoid, torch.tanh, F.softplus, lambda t: torch.log_softmax(t, 0), lambda t: torch.softmax(t, 0)):
        x.grad = None
        out = fn(x)
        out.backward(torch.ones_like(out))
        assert np.isfinite(out.detach().numpy()).all(), fn
        assert np.isfinite(x.grad.numpy()).all(), fn
        assert out.dtype is dtype and x.grad.dtype is dtype
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    np.testing.assert_array_equal(torch.sigmoid(x).detach().numpy()[[0, 4]], [0.0, 1.0])


def test_indexing_repeated_indices_accumulate():
    x = torch.zeros(4, requires_grad=True)
    x[torch.tensor([1, 1, 3, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 3.0, 0.0, 1.0])
