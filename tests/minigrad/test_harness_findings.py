"""Bugs the conformance harness found in minigrad, pinned with torch 2.13's answers."""

import numpy as np
import pytest

import minigrad as torch


def test_tensor_where_method_takes_condition_first():
    out = torch.tensor([1.0, 2.0]).where(torch.tensor([True, False]), torch.tensor([5.0, 6.0]))
    np.testing.assert_array_equal(out.numpy(), [1.0, 6.0])


def test_norm_of_tiny_values_underflows_like_torch_except_for_one_element():
    # torch squares in the input's dtype (so [1e-30, 1e-30] underflows to 0 in float32 and 1e-163 in
    # float64), but a one-element reduction returns |x| itself
    for values, dtype, norm, grad in [
        ([-1e-30, -1e-30], np.float32, 0.0, [0.0, 0.0]),
        (1.59096432e-163, np.float64, 1.59096432e-163, 1.0),
        ([1.59096432e-163, 1e-163], np.float64, 0.0, [0.0, 0.0]),
    ]:
        x = torch.tensor(np.array(values, dtype), requires_grad=True)
        y = torch.linalg.vector_norm(x)
        y.backward()
        assert y.item() == norm
        np.testing.assert_array_equal(x.grad.numpy(), grad)


def test_float32_norm_of_one_tiny_value_does_not_underflow():
    x = torch.tensor(np.array([-1e-30], np.float32), requires_grad=True)
    y = torch.linalg.vector_norm(x)
    y.backward()
    assert y.dtype is torch.float32
    np.testing.assert_allclose(y.item(), 1e-30, rtol=1e-6)
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0])


def test_float32_std_of_tiny_values_does_not_underflow():
    x = torch.tensor(np.array([-1e-30, 0.0], np.float32), requires_grad=True)
    y = x.std()
    y.backward()
    np.testing.assert_allclose(y.item(), 7.0710678e-31, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [-0.70710678, 0.70710678], rtol=1e-6)


def test_fractional_norm_gradient_at_zero_is_zero():
    x = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    torch.linalg.vector_norm(x, 0.5).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


def test_nonzero_of_0d():
    assert torch.nonzero(torch.tensor(2.0)).shape == (1, 0)
    assert torch.nonzero(torch.tensor(0.0)).shape == (0, 0)


def test_float32_remainder_is_exact_and_differentiable():
    r = torch.tensor(np.float32(10000.0)) % torch.tensor(np.float32(1.1357678))
    assert r.item() == np.remainder(np.float32(10000.0), np.float32(1.1357678))
    a = torch.tensor([5.0, -7.0], requires_grad=True)
    b = torch.tensor([3.0, 2.0], requires_grad=True)
    (a % b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [-1.0, 4.0])  # -floor(a / b)


def test_no_names_torch_does_not_have():
    assert not hasattr(torch, "linalg_vector_norm") and not hasattr(torch, "Any")
    assert not hasattr(torch.Tensor, "cat") and not hasattr(torch.Tensor, "stack")


def test_p_norm_gradient_follows_torchs_formulas_in_the_input_dtype():
    # p < 1 is exact for a tiny float64 value; p >= 2 in float32 underflows to nan exactly as torch 2.13
    x = torch.tensor([1.06370828e-210], dtype=torch.float64, requires_grad=True)
    torch.linalg.vector_norm(x, 0.5).backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])
    x = torch.tensor(np.array([-1e-30], np.float32), requires_grad=True)
    torch.linalg.vector_norm(x, 3).backward()
    assert np.isnan(x.grad.numpy()).all()


def test_inf_norm_of_empty_inputs():
    x = torch.zeros(0, 1, requires_grad=True)
    y = torch.linalg.vector_norm(x, float("inf"), dim=1)
    assert y.shape == (0,)
    y.backward(torch.zeros(0))
    assert x.grad.shape == (0, 1)
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        torch.linalg.vector_norm(torch.zeros(0), float("inf"))
    with pytest.raises(RuntimeError, match="cannot compute the -inf norm on the dimension 1 because this dimension is empty"):
        torch.linalg.vector_norm(torch.zeros(2, 0), float("-inf"), dim=1)


def test_chunk_of_an_empty_dim_gives_chunks_empty_pieces():
    pieces = torch.zeros(0, 2).chunk(3)
    assert len(pieces) == 3 and all(p.shape == (0, 2) for p in pieces)


def test_integer_indices_select_before_tensor_indices_as_torch():
    # numpy would move the advanced dims first (shape (2, 3)); torch selects dim 0 first: (3, 2)
    a = np.arange(24.0).reshape(2, 3, 4)
    x = torch.tensor(a, requires_grad=True)
    y = x[0, :, torch.tensor([1, 2])]
    assert y.shape == (3, 2)
    np.testing.assert_array_equal(y.detach().numpy(), a[0][:, [1, 2]])
    y.sum().backward()
    expected = np.zeros_like(a)
    expected[0][:, [1, 2]] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    assert torch.tensor(np.ones((1, 1, 1)))[0, ..., torch.tensor([], dtype=torch.int64)].shape == (1, 0)
    z = torch.tensor(a)
    z[0, :, torch.tensor([1, 2])] = torch.zeros(3, 2)
    assert z[0, :, 1:3].abs().sum().item() == 0


def test_prod_gradient_uses_torchs_result_over_input_without_zeros():
    # float32 [1.4e-45, 1.5]: the product rounds to 2.8e-45, so torch's result / input gives 2 * grad;
    # minigrad follows torch's formula (and its rounding) when no element is zero
    x = torch.tensor(np.array([1.40129846e-45, 1.5], np.float32), requires_grad=True)
    x.prod().backward(torch.tensor(np.float32(0.12573022)))
    np.testing.assert_allclose(x.grad.numpy(), [0.25146043, 0.0], rtol=1e-6)
    y = torch.tensor([[1.0, 2.0], [3.0, 0.0]], requires_grad=True)  # with a zero: product of the others
    y.prod(1).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [[2.0, 1.0], [0.0, 3.0]])


def test_prod_gradient_with_a_zero_does_not_turn_overflow_into_nan():
    # float32: the product of the other elements overflows (1e40) before meeting the zero; torch's
    # cumprod accumulates in double, so the elements beside the zero get 0 (not nan) and the zero gets inf
    v = np.full((2, 2, 3), 10000.0, np.float32)
    v[0, 0, 1] = 0
    x = torch.tensor(v, requires_grad=True)
    x.prod().backward()
    g = x.grad.numpy().ravel()
    assert g[1] == np.inf and not np.isnan(g).any() and (np.delete(g, 1) == 0).all()


@pytest.mark.parametrize("mode, quotient", [("trunc", [3.0, -3.0]), ("floor", [3.0, -4.0])])
def test_div_with_a_rounding_mode_keeps_a_grad_fn_with_zero_gradient(mode, quotient):
    # torch 2.13: DivBackward2, gradient 0 for both inputs; minigrad returned a tensor without grad_fn, so
    # backward raised "element 0 of tensors does not require grad"
    a = torch.tensor([7.5, -7.5], requires_grad=True)
    b = torch.tensor([2.0, 2.0], requires_grad=True)
    q = torch.div(a, b, rounding_mode=mode)
    assert q.grad_fn is not None and q.dtype == torch.float32
    q.sum().backward()
    np.testing.assert_array_equal(q.detach().numpy(), quotient)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(torch.div(torch.tensor([7, -7]), 2, rounding_mode=mode).numpy(),
                                  [3, -3] if mode == "trunc" else [3, -4])


def test_clamp_with_tensor_bounds_at_ties_passes_the_gradient_to_the_input():
    # torch 2.13: x == min or x == max (closed interval) sends the gradient to x, none to the bound; a bound
    # gets it only where it is active strictly
    x = torch.tensor([0.5, 1.0, 2.0, -1.0], dtype=torch.float64, requires_grad=True)
    lo = torch.tensor([0.5, 0.0, 2.5, -1.0], dtype=torch.float64, requires_grad=True)
    hi = torch.tensor([1.0, 1.0, 3.0, -1.0], dtype=torch.float64, requires_grad=True)
    y = torch.clamp(x, min=lo, max=hi)
    y.backward(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    np.testing.assert_array_equal(y.detach().numpy(), [0.5, 1.0, 2.5, -1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 0.0, 4.0])
    np.testing.assert_array_equal(lo.grad.numpy(), [0.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0.0, 0.0, 0.0, 0.0])


def test_linalg_norm_with_a_matrix_ord_raises_instead_of_computing_a_vector_norm():
    # torch 2.13: linalg.norm(x2d, ord=1) is the matrix 1-norm (max column sum); minigrad returned the vector
    # 1-norm of all elements. Matrix norms are not in minigrad: it must say so, not answer something else.
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    with pytest.raises(NotImplementedError, match="matrix norm ord=1"):
        torch.linalg.norm(x, ord=1)
    with pytest.raises(RuntimeError, match="must be 1D or 2D. Got 3D"):
        torch.linalg.norm(torch.ones(2, 2, 2), ord=2)
    assert torch.linalg.norm(x, ord=1, dim=1).tolist() == [3.0, 7.0]
    assert abs(torch.linalg.norm(x, ord="fro").item() - 30 ** 0.5) < 1e-6
