"""Differences from torch 2.13 found by the catalogue's new call forms and invalid statements (issue #8 coverage).

Each test states torch's answer (checked in torch 2.13.0) and asserts minigrad gives the same."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minigrad as torch
import minigrad.nn.functional as F


def test_subtract_and_not_equal_aliases_exist() -> None:
    a, b = torch.tensor([3.0, 1.0]), torch.tensor([1.0, 1.0])
    # torch: tensor([1., -1.]) and tensor([True, False])
    assert torch.subtract(a, b, alpha=2).tolist() == [1.0, -1.0]
    assert a.subtract(b).tolist() == [2.0, 0.0]
    assert a.not_equal(b).tolist() == [True, False]


@pytest.mark.parametrize(("call", "value", "dtype"), [
    (lambda: torch.add(1.0, 2.0), 3.0, torch.float32),  # torch: tensor(3.)
    (lambda: torch.add(1, 2), 3, torch.int64),  # torch: tensor(3)
    (lambda: torch.sub(1, 2.5), -1.5, torch.float32),  # torch: tensor(-1.5000)
    (lambda: torch.mul(True, 2), 2, torch.int64),  # torch: tensor(2)
    (lambda: torch.div(1, 2), 0.5, torch.float32),  # torch: tensor(0.5000)
    (lambda: torch.div(7, 2, rounding_mode="trunc"), 3, torch.int64),  # torch: tensor(3)
])
def test_arithmetic_of_two_python_numbers_is_a_0d_tensor(call, value, dtype) -> None:  # noqa: ANN001
    out = call()
    assert out.ndim == 0 and out.dtype == dtype and out.item() == value


@pytest.mark.parametrize(("call", "cls", "message"), [
    (lambda p: torch.div(p, 2.0, rounding_mode="round"), RuntimeError,
     "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'"),
    (lambda p: torch.clamp(p), RuntimeError, "minigrad.clamp: At least one of 'min' or 'max' must not be None"),
    (lambda p: p.permute(0, 0), RuntimeError, "permute(): duplicate dims are not allowed."),
    (lambda p: torch.cat(p), TypeError, "cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"),
    (lambda p: torch.linalg.svdvals(p[0]), RuntimeError,
     "linalg.svd: The input tensor A must have at least 2 dimensions."),
    (lambda p: torch.norm(p, p="bad"), RuntimeError, "linalg.matrix_norm: Order bad not supported."),
    (lambda p: F.cross_entropy(torch.tensor(1.0), torch.tensor([0])), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda p: F.mse_loss([1.0, 2.0], p), AttributeError, "'list' object has no attribute 'size'"),
    (lambda p: F.binary_cross_entropy_with_logits(p, [1.0]), AttributeError, "'list' object has no attribute 'size'"),
    (lambda p: F.nll_loss(p, [1]), TypeError, "nll_loss_nd(): argument 'target' (position 2) must be Tensor, not list"),
    (lambda p: torch.softmax(p), TypeError, 'softmax() missing 1 required positional arguments: "dim"'),
    (lambda p: p[0, [3]], IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda p: torch.ones(2, 3, 4)[:, [0], [5]], IndexError, "index 5 is out of bounds for dimension 1 with size 4"),
])
def test_torch_exception_and_message(call, cls, message) -> None:  # noqa: ANN001
    p = torch.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True)
    with pytest.raises(cls) as info:
        call(p)
    assert str(info.value) == message


def test_float_list_index_is_truncated_to_long() -> None:
    p = torch.arange(6.0).reshape(3, 2)
    # torch: p[[0.5, 1.7]] is p[[0, 1]]
    assert p[[0.5, 1.7]].tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_functional_softmax_without_dim_takes_torchs_implicit_dim() -> None:
    x = torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = F.softmax(x)  # torch: dim 1 for a 2-D input, with a deprecation warning
    assert "Implicit dimension choice for softmax" in str(caught[0].message)
    np.testing.assert_allclose(out.sum(1).numpy(), [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize(("call", "cls", "message"), [
    (lambda: torch.ones(3)[:, 3], IndexError, "too many indices for tensor of dimension 1"),
    (lambda: torch.ones(())[0], IndexError, "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                                            "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"),
    (lambda: torch.flatten(torch.tensor(1.0), start_dim=2, end_dim=0), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 2)"),
    (lambda: torch.allclose(torch.zeros(0, dtype=torch.int64), torch.tensor(1.0, dtype=torch.float64)), RuntimeError,
     "Long did not match Double"),
    (lambda: torch.linalg.norm(torch.ones(2, 2, dtype=torch.int64), ord=1, dtype=torch.float64), RuntimeError,
     "linalg.matrix_norm: Expected a floating point or complex tensor as input. Got Long"),
])
def test_torch_exception_found_by_drawn_error_cases(call, cls, message) -> None:  # noqa: ANN001
    with pytest.raises(cls) as info:
        call()
    assert str(info.value).endswith(message)  # error parity allows an op prefix ("flatten: ")


def test_cat_promotes_over_the_skipped_empty_tensors_too() -> None:
    # torch: cat([float32 (1,), float64 (0,)]) is float64 although the empty 1-D tensor is skipped
    assert torch.cat([torch.ones(1), torch.zeros(0, dtype=torch.float64)]).dtype == torch.float64


@pytest.mark.parametrize(("x", "bias", "message"), [
    # torch 2.13's messages: addmm expands the bias to (rows, out_features); elsewhere it is added in place
    ((4, 2), (5,), r"The expanded size of the tensor \(3\) must match the existing size \(5\) at non-singleton "
                   r"dimension 1\.  Target sizes: \[4, 3\]\.  Tensor sizes: \[5\]"),
    ((2, 4, 2), (5,), r"Target sizes: \[8, 3\]\.  Tensor sizes: \[5\]"),
    ((2,), (2, 3), r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
    ((1, 4, 2), (2, 4, 3), r"output with shape \[1, 4, 3\] doesn't match the broadcast shape \[2, 4, 3\]"),
])
def test_linear_bias_of_the_wrong_shape(x, bias, message) -> None:  # noqa: ANN001
    with pytest.raises(RuntimeError, match=message):
        F.linear(torch.ones(*x), torch.ones(3, 2), torch.ones(*bias))
