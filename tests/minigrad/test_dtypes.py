"""dtype policy: torch's creation defaults and promotion, float32 kept end to end."""

import numpy as np
import pytest

import minigrad as torch


def test_creation_defaults():
    assert torch.tensor([1.0, 2.0]).dtype is torch.float32
    assert torch.tensor([1, 2]).dtype is torch.int64
    assert torch.tensor([True]).dtype is torch.bool
    assert torch.tensor([1, 2.5]).dtype is torch.float32
    assert torch.tensor(np.array([1.0])).dtype is torch.float64  # an ndarray keeps its dtype
    assert torch.from_numpy(np.zeros(2, np.float32)).dtype is torch.float32
    assert torch.zeros(2).dtype is torch.float32 and torch.arange(3).dtype is torch.int64
    assert torch.arange(0, 1, 0.5).dtype is torch.float32
    assert torch.full((2,), 7).dtype is torch.int64


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (torch.ones(2), 2.0, torch.float32),
        (torch.ones(2), 2, torch.float32),
        (torch.ones(2, dtype=torch.int64), 2.5, torch.float32),
        (torch.ones(2, dtype=torch.int64), 2, torch.int64),
        (torch.ones(2), torch.tensor(2.0, dtype=torch.float64), torch.float32),  # 0-d doesn't upcast
        (torch.ones(2), torch.ones(2, dtype=torch.float64), torch.float64),
        (torch.ones(2, dtype=torch.int64), torch.tensor(2.0, dtype=torch.float64), torch.float64),
        (torch.ones(2, dtype=torch.bool), 1, torch.int64),
        (torch.ones(2, dtype=torch.int32), torch.ones(2, dtype=torch.int64), torch.int64),
    ],
)
def test_binary_promotion(a, b, expected):
    assert (a + b).dtype is expected
    assert (b * a).dtype is expected


def test_int_division_gives_default_float():
    assert (torch.tensor([1, 2]) / 2).dtype is torch.float32
    torch.set_default_dtype(torch.float64)
    try:
        assert (torch.tensor([1, 2]) / 2).dtype is torch.float64
        assert torch.tensor([1.0]).dtype is torch.float64
    finally:
        torch.set_default_dtype(torch.float32)


def test_float32_stays_float32_through_a_network():
    torch.manual_seed(0)
    x = torch.randn(4, 3)
    w = torch.randn(3, 2, requires_grad=True)
    y = torch.log_softmax(torch.tanh(x @ w) * 0.5 + 1, dim=1).exp().sum() / 3.0
    assert y.dtype is torch.float32
    y.backward()
    assert w.grad.dtype is torch.float32


def test_casts_are_differentiable():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert y.dtype is torch.float64
    y.sum().backward()
    assert x.grad.dtype is torch.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_unsupported_numpy_dtype_is_an_error():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type complex128"):
        torch.from_numpy(np.zeros(2, np.complex128))


def test_comparisons_have_no_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = x > 1
    assert c.dtype is torch.bool and not c.requires_grad
    assert torch.argmax(x).dtype is torch.int64
