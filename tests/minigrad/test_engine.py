"""Engine behaviours: accumulation, freeing, errors, hooks, grad modes, autograd.grad, Function."""

import numpy as np
import pytest

import minigrad as torch
from minigrad.autograd import Function


def test_gradients_accumulate_across_backward_calls():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    grad_obj = x.grad
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3 + 2, 3 + 4])
    assert x.grad is grad_obj  # accumulated in place, like torch


def test_fan_out_accumulates_within_one_backward():
    x = torch.tensor(2.0, requires_grad=True)
    y = x * x + x * 3 + torch.exp(x * 0)
    y.backward()
    assert x.grad.item() == 2 * 2 + 3


def test_second_backward_through_freed_graph_raises():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_saved_buffers_are_released_after_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = y.sum()
    z.backward()
    assert y.grad_fn.ctx._saved == ()


def test_non_scalar_backward_needs_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(torch.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])


def test_backward_gradient_shape_mismatch():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of minigrad\.Size\(\[3\]\)"):
        (x * 2).backward(torch.tensor([1.0, 2.0, 3.0]))


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.tensor(1.0).backward()


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_tensors_cannot_require_grad(dtype):
    # torch 2.13's wording at creation
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        torch.tensor([1, 0], dtype=dtype, requires_grad=True)


def test_inplace_on_leaf_requiring_grad_raises():
    x = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        x.add_(1)
    with torch.no_grad():
        x.add_(1)  # allowed under no_grad (optimiser updates)
    assert x.item() == 2.0


def test_inplace_change_of_saved_tensor_detected_by_version_counter():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y.exp()  # saves its output
    z.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_differentiable_inplace_on_non_leaf():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    assert y._version_number == 2


def test_setitem_with_grad():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = torch.tensor(5.0, requires_grad=True)
    y = x * 1
    y[1] = v * 2
    (y * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 100.0])
    assert v.grad.item() == 20.0


def test_deep_chain_is_iterative():
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.5
    y.backward()
    assert x.grad.item() == 1.0


def test_grad_modes():
    x = torch.tensor(1.0, requires_grad=True)
    with torch.no_grad():
        assert not (x * 2).requires_grad
        with torch.enable_grad():
            assert (x * 2).requires_grad
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    with torch.inference_mode():
        assert not (x * 2).requires_grad

    @torch.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert torch.is_grad_enabled()


def test_detach_and_requires_grad_():
    x = torch.tensor([1.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    d.requires_grad_()
    (d * 3).sum().backward()
    assert x.grad is None and d.grad.item() == 3.0
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad_(False)


def test_hooks_on_leaf_and_non_leaf():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    handle = y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])
    np.testing.assert_array_equal(seen[0], [30.0, 30.0])
    handle.remove()
    x.grad = None
    y = x * 3
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_retain_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = y * y
    z.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 12.0])
    assert (x * 2).grad is None


def test_autograd_grad_returns_without_accumulating():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    unused = torch.tensor(1.0, requires_grad=True)
    y = (x * w).sum()
    gx, gw = torch.autograd.grad(y, (x, w), retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        torch.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = torch.autograd.grad(y, [x, unused], allow_unused=True)
    assert gu is None


def test_autograd_grad_of_non_leaf():
    x = torch.tensor(2.0, requires_grad=True)
    h = x * x
    y = h * 3
    (gh,) = torch.autograd.grad(y, h)
    assert gh.item() == 3.0


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


class SplitTwo(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k, x + k

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * ctx.k + gb, None


def test_custom_function():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 12.0])


def test_custom_function_multiple_outputs_one_used():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a, b = SplitTwo.apply(x, 5.0)
    a.sum().backward()  # b gets no gradient: the engine fills zeros for it
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_gradient_dtype_and_shape_follow_the_tensor():
    x32 = torch.tensor([[1.0, 2.0]], requires_grad=True)
    x64 = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    (x32 * x64).sum().backward()
    assert x32.grad.dtype is torch.float32 and x32.grad.shape == (1, 2)
    assert x64.grad.dtype is torch.float64 and x64.grad.shape == (1,)
