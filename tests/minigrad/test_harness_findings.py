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
    # torch 2.13's wording, its missing space included
    with pytest.raises(RuntimeError, match="cannot compute the -inf norm on the dimension 1because this dimension is empty"):
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


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize(("shape", "dim"), [((3, 1, 4), [0, 1]), ((3, 4), 0), ((2, 3, 4), [0, 2]), ((3, 4), 1),
                                            ((9,), None)])
def test_std_and_var_of_identical_values_are_exactly_zero(shape, dim, keepdim, correction, dtype):
    # torch 2.13: std(full((3, 1, 4), 1e-8, float64), dim=[0, 1]) is exactly 0 with gradient 0 (Welford);
    # minigrad used to give 2.0e-24 and gradient -0.408 (numpy's strided mean of 3 x 1e-8 is inexact)
    for value in (1e-8, 0.1, 1 / 3):
        for name in ("std", "var"):
            x = torch.full(shape, value, dtype=dtype, requires_grad=True)
            y = getattr(x, name)(dim=dim, correction=correction, keepdim=keepdim)
            y.sum().backward()
            assert y.dtype is dtype
            np.testing.assert_array_equal(y.detach().numpy(), np.zeros(y.shape))
            np.testing.assert_array_equal(x.grad.numpy(), np.zeros(shape))


def test_var_gradient_is_nan_when_the_correction_exceeds_the_count():
    # torch 2.13 divides by max(0, n - correction): full((1,), 5.).var(correction=2) backward gives nan, not -0
    x = torch.full((1,), 5.0, dtype=torch.float64, requires_grad=True)
    y = x.var(correction=2)
    y.backward()
    assert np.isnan(y.item()) and np.isnan(x.grad.numpy()).all()


def test_std_of_distinct_values_keeps_its_gradient():
    # torch 2.13: tensor([[1., 2.], [3., 5.]], float64).std(dim=[0, 1]) = 1.707825127659933,
    # gradient [-0.3415650255319866, -0.14638501094227996, 0.04879500364742666, 0.43915503282683993]
    x = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64, requires_grad=True)
    y = x.std(dim=[0, 1])
    y.backward()
    np.testing.assert_allclose(y.item(), 1.707825127659933, rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy().ravel(), [-0.3415650255319866, -0.14638501094227996,
                                                        0.04879500364742666, 0.43915503282683993], rtol=1e-14)
# ---- found by torch's OpInfo samples (conformance/opinfo.py); expected values are torch 2.13.0's ----
@pytest.mark.parametrize("call", [
    lambda x: torch.sum(x, dim=0, keepdim=True), lambda x: torch.mean(x, dim=-1),
    lambda x: torch.prod(x, 0, keepdim=True), lambda x: torch.amax(x, dim=-1), lambda x: torch.amin(x, dim=0),
    lambda x: torch.logsumexp(x, (0,), True),
])
def test_scalar_reduced_over_dim_0_or_minus_1_is_itself(call):
    x = torch.tensor(np.float64(-1.5), requires_grad=True)
    y = call(x)
    (g,) = torch.autograd.grad(y, x, torch.tensor(np.float64(2.0)))
    assert y.shape == () and y.item() == -1.5 and g.item() == 2.0


def test_scalar_norm_and_var_over_dim_0():
    x = torch.tensor(np.float64(-1.5), requires_grad=True)
    y = torch.linalg.vector_norm(x, dim=-1)
    (g,) = torch.autograd.grad(y, x, torch.tensor(np.float64(2.0)))
    assert (y.shape, y.item(), g.item()) == ((), 1.5, -2.0)
    assert torch.var(x, dim=0, correction=0).item() == 0.0


def test_gather_and_index_select_of_a_scalar_and_with_empty_indices():
    s = torch.tensor(np.float64(2.5), requires_grad=True)
    y = torch.gather(s, 0, torch.tensor([0, 0, 0]))
    y.backward(torch.tensor(np.array([1.0, 2.0, 3.0])))
    assert y.shape == (3,) and s.grad.item() == 6.0
    s.grad = None
    y = torch.index_select(s, 0, torch.tensor([0]))
    y.backward(torch.tensor(np.float64(4.0)))
    assert y.shape == () and s.grad.item() == 4.0
    with pytest.raises(RuntimeError, match="Index to scalar can have only 1 value, got 0 value"):
        torch.index_select(s, 0, torch.tensor(np.zeros(0, np.int64)))
    v = torch.tensor(np.arange(5.0), requires_grad=True)
    y = torch.gather(v, 0, torch.tensor(np.zeros((2, 0), np.int64)))  # torch checks nothing for an empty index
    y.sum().backward()
    assert y.shape == (2, 0)
    np.testing.assert_array_equal(v.grad.numpy(), np.zeros(5))


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_with_rounding_mode_requires_grad_with_zero_gradient_also_in_place(mode):
    a = torch.tensor(np.array([2.7, -1.3]), requires_grad=True)
    b = torch.tensor(np.array([0.7, 2.0]), requires_grad=True)
    y = a.clone().div_(b, rounding_mode=mode)
    assert y.requires_grad
    np.testing.assert_array_equal(y.detach().numpy(), [3.0, -0.0] if mode == "trunc" else [3.0, -1.0])
    y.backward(torch.ones(2, dtype=torch.float64))
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 0.0])
    assert torch.div(a, b, rounding_mode=mode).requires_grad


def test_round_with_decimals():
    np.testing.assert_array_equal(
        torch.round(torch.tensor([1234.5678, -0.0015, 0.0025, 2500.0]), decimals=3).numpy(),
        np.array([1234.568, -0.002, 0.002, 2500.0], np.float32))
    np.testing.assert_array_equal(
        torch.round(torch.tensor([1500.0, 2500.0, -3500.0, 1234.5678]), decimals=-3).numpy(), [2000, 2000, -4000, 1000])
    with pytest.raises(NotImplementedError, match="\"round_cpu\" not implemented for 'Long'"):
        torch.round(torch.tensor([3, 5]), decimals=1)


@pytest.mark.parametrize(("ord_", "value", "grad"), [
    ("fro", 3.905124837953327, [[0.25607375986579195, -0.5121475197315839, 0.0],
                                [0.7682212795973759, 0.12803687993289598, -0.25607375986579195]]),
    ("nuc", 5.384953768127217, [[0.30051957584365996, -0.9522439710438905, 0.05403151067024162],
                                [0.9083126663647613, 0.2684537175129835, -0.3207813923450009]]),
    (2, 3.3053131009952774, [[0.3059767507572893, -0.0160521785775184, -0.09167712660570157],
                             [0.9064706114461549, -0.047555339071327564, -0.2715978282801511]]),
    (-2, 2.07964066713194, [[-0.005457174913629342, -0.9361917924663721, 0.1457086372759432],
                            [0.0018420549186063519, 0.3160090565843111, -0.04918356406484981]]),
    (1, 4.0, [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
    (-1, 1.0, [[0.0, 0.0, 0.0], [0.0, 0.0, -1.0]]),
    (float("inf"), 4.5, [[0.0, 0.0, 0.0], [1.0, 1.0, -1.0]]),
    (float("-inf"), 3.0, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]),
])
def test_linalg_norm_of_a_matrix_with_ord_is_a_matrix_norm(ord_, value, grad):
    a = torch.tensor(np.array([[1.0, -2.0, 0.0], [3.0, 0.5, -1.0]]), requires_grad=True)
    y = torch.linalg.norm(a, ord_)
    (g,) = torch.autograd.grad(y, a)
    np.testing.assert_allclose(y.item(), value, rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("ord_", "dim", "value", "grad"), [
    (2, None, 1.0000000031710769e-30, -1.0), (2, 0, 0.0, 0.0), (3, 0, 0.0, 0.0), (1, 0, 1.0000000031710769e-30, -1.0),
    (float("inf"), 0, 1.0000000031710769e-30, -1.0),
])
def test_float32_norm_of_a_tiny_scalar_given_a_dim_is_computed_not_shortcut(ord_, dim, value, grad):
    # torch returns |x| for one-element reductions, but not for a 0-d input reduced over dim 0 (found by the
    # strategies once they drew 0-d inputs with a dim)
    x = torch.tensor(np.float32(-1e-30), requires_grad=True)
    y = torch.linalg.vector_norm(x, ord_, dim=dim)
    y.backward()
    assert y.item() == value and x.grad.item() == grad
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


def test_linalg_norm_with_a_matrix_ord_is_a_matrix_norm():
    # torch 2.13: linalg.norm(x2d, ord=1) is the matrix 1-norm (max column sum, 6.0 here); minigrad returned the
    # vector 1-norm of all elements (10.0)
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert torch.linalg.norm(x, ord=1).item() == 6.0
    with pytest.raises(RuntimeError, match="must be 1D or 2D. Got 3D"):
        torch.linalg.norm(torch.ones(2, 2, 2), ord=2)
    assert torch.linalg.norm(x, ord=1, dim=1).tolist() == [3.0, 7.0]
    assert abs(torch.linalg.norm(x, ord="fro").item() - 30 ** 0.5) < 1e-6


@pytest.mark.parametrize("value", [float("-inf"), float("inf"), float("nan"), 2.5])
def test_softmax_of_a_scalar(value):
    # torch 2.13: x - max(x) is x - x, so an infinite scalar gives nan (values and gradients); others 1 and 0
    x = torch.tensor(value, requires_grad=True)
    soft, log_soft = torch.softmax(x, 0), torch.log_softmax(x, 0)
    finite = np.isfinite(value)
    assert (soft.item() == 1.0) if finite else np.isnan(soft.item())
    assert (log_soft.item() == 0.0) if finite else np.isnan(log_soft.item())
    (soft + log_soft).backward()
    assert (x.grad.item() == 0.0) if finite else np.isnan(x.grad.item())


def test_clamp_with_equal_tensor_bounds_gives_no_bound_a_gradient():
    # torch 2.13 (clamp_backward_min_max): with both bounds, min gets the gradient only where x < min < max,
    # max where x > max or max < min; at min == max == 1 and x = 0 neither bound (nor x) gets anything
    x = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    lo = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    hi = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    torch.clamp(x, min=lo, max=hi).sum().backward()
    assert (x.grad.item(), lo.grad.item(), hi.grad.item()) == (0.0, 0.0, 0.0)
    lo2 = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    torch.clamp(torch.tensor([0.0], dtype=torch.float64), min=lo2).sum().backward()
    assert lo2.grad.item() == 1.0  # min alone: wherever x < min
