"""Differences from torch 2.13 found by the stateful conformance machines (conformance/stateful.py).

Every expected value or exception below is torch 2.13.0's answer to the same calls."""

from __future__ import annotations

import io

import numpy as np
import pytest

import minigrad
from minigrad.utils.data import DataLoader, TensorDataset


# ---- assigning .grad ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0.0, 1, [1.0, 1.0, 1.0]])
def test_assigning_a_non_tensor_to_grad_is_a_type_error(value) -> None:  # noqa: ANN001
    x = minigrad.ones(3)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None but got grad of type "
                       + type(value).__name__):
        x.grad = value
    assert x.grad is None


def test_assigning_grad_of_another_size_or_dtype_or_itself_is_a_runtime_error() -> None:
    x = minigrad.ones(3)
    with pytest.raises(RuntimeError, match=r"attempting to assign a gradient of size '\[7\]' to a tensor of size '\[3\]'"):
        x.grad = minigrad.ones(7)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype 'double' to a tensor with "
                       "grad_dtype 'Float'"):
        x.grad = minigrad.ones(3).double()
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype 'long int'"):
        x.grad = minigrad.ones(3).long()
    with pytest.raises(RuntimeError, match="can't assign Variable as its own grad"):
        x.grad = x


def test_assigning_a_matching_grad_or_none_works_and_backward_accumulates_into_it() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    x.grad = minigrad.ones(2, requires_grad=True)  # torch accepts a grad that requires grad
    x.grad = minigrad.tensor([1.0, 1.0])
    (x * 3).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]
    x.grad = None
    assert x.grad is None
    xi = minigrad.ones(3, dtype=minigrad.int64)
    xi.grad = minigrad.ones(3, dtype=minigrad.int64)  # an integer tensor may hold an integer grad
    del x.grad
    assert x.grad is None


# ---- autograd.grad and backward(inputs=...) ------------------------------------------------------------
def test_grad_with_an_input_listed_twice_returns_its_gradient_twice() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    g1, g2 = minigrad.autograd.grad((x * x).sum(), [x, x])
    assert g1.tolist() == [2.0, 4.0] and g2.tolist() == [2.0, 4.0]


def test_materialize_grads_with_allow_unused_false_is_a_value_error() -> None:
    x = minigrad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed when materialize_grads=True"):
        minigrad.autograd.grad(x * 2, [x], allow_unused=False, materialize_grads=True)


def test_leaf_hooks_run_under_grad_and_backward_with_inputs() -> None:
    x = minigrad.tensor(2.0, requires_grad=True)
    x.register_hook(lambda g: g * 2)
    assert minigrad.autograd.grad(x * 3, x)[0].item() == 6.0  # torch: (tensor(6.),)
    (x * 3).backward(inputs=[x])
    assert x.grad.item() == 6.0
    y = minigrad.tensor(2.0, requires_grad=True)
    y.register_hook(lambda g: g * 2)
    y.backward(inputs=[y])
    assert y.grad.item() == 2.0


def test_grad_runs_only_the_nodes_on_a_path_to_an_input() -> None:
    x = minigrad.zeros(2, 3)
    x[0, 1] = minigrad.tensor(1.5, requires_grad=True)
    calls = []
    x.register_hook(calls.append)  # on the grad_fn of the first assignment
    x[0, 1] = 2.0  # x now has a new grad_fn; the hooked node is below it
    (g,) = minigrad.autograd.grad(x, [x], minigrad.ones(2, 3))
    assert g.tolist() == [[1.0] * 3] * 2
    assert calls == []  # torch does not run the old node: x itself is the input


def test_retained_grad_is_filled_under_grad_and_backward_with_inputs() -> None:
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    b.retain_grad()
    minigrad.autograd.grad(b.sum(), [a])
    assert b.grad.tolist() == [1.0, 1.0]
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    b.retain_grad()
    (b * 3).sum().backward(inputs=[a])
    assert b.grad.tolist() == [3.0, 3.0] and a.grad.tolist() == [6.0, 6.0]


def test_backward_with_empty_inputs_is_an_error() -> None:
    x = minigrad.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty."):
        (x * 2).backward(inputs=[])


# ---- x[i] = v ------------------------------------------------------------------------------------------
def test_setitem_with_a_value_that_does_not_broadcast_is_a_runtime_error() -> None:
    x = minigrad.ones(2, 3)
    with pytest.raises(RuntimeError):  # torch: expand(torch.FloatTensor{[2, 3]}, size=[]): ...
        x[0, 1] = x
    with pytest.raises(RuntimeError, match="shape mismatch"):
        x[0] = minigrad.ones(2)
    with pytest.raises(RuntimeError):
        x.requires_grad_()[0] = minigrad.ones(2)  # the differentiable path (index_put)


# ---- optimisers and schedulers -------------------------------------------------------------------------
def test_adagrad_initialises_the_state_of_a_param_group_added_later() -> None:
    p = minigrad.zeros(2, requires_grad=True)
    opt = minigrad.optim.Adagrad([p], lr=0.1, initial_accumulator_value=0.5)
    q = minigrad.ones(2, requires_grad=True)
    opt.add_param_group({"params": [q]})
    assert q not in opt.state
    (p.sum() + q.sum()).backward()
    opt.step()
    assert opt.state[q]["step"].item() == 1.0
    assert opt.state[q]["sum"].tolist() == [1.5, 1.5]
    np.testing.assert_allclose(q.detach().numpy(), [0.9183503, 0.9183503], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_scheduler_step_after_adding_a_param_group_raises_like_torch() -> None:
    """LambdaLR has one lr_lambda per group it saw; torch's strict zip fails on the new group. StepLR's
    recursive formula reads every group's lr and simply schedules the new group too."""
    opt = minigrad.optim.SGD([minigrad.zeros(2, requires_grad=True)], lr=0.1)
    sched = minigrad.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.9 ** e)
    opt.add_param_group({"params": [minigrad.ones(1, requires_grad=True)]})
    with pytest.raises(ValueError, match="zip\\(\\) argument 2 is shorter than argument 1"):
        sched.step()
    opt = minigrad.optim.SGD([minigrad.zeros(2, requires_grad=True)], lr=0.1)
    sched = minigrad.optim.lr_scheduler.StepLR(opt, 1)
    opt.add_param_group({"params": [minigrad.ones(1, requires_grad=True)]})
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.010000000000000002, 0.010000000000000002]


def test_grad_outputs_may_be_one_tensor() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    assert minigrad.autograd.grad(x * 2, x, minigrad.ones(2))[0].tolist() == [2.0, 2.0]


# ---- DataLoader ---------------------------------------------------------------------------------------
def test_shuffled_loader_over_an_empty_dataset_is_a_value_error() -> None:
    ds = TensorDataset(minigrad.zeros(0, 2))
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        DataLoader(ds, batch_size=2, shuffle=True)
    assert list(DataLoader(ds, batch_size=2)) == []


def test_batch_size_none_with_drop_last_is_a_value_error() -> None:
    ds = TensorDataset(minigrad.zeros(3, 2))
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching and is mutually exclusive "
                       "with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)


def test_save_load_round_trip_of_a_nested_checkpoint() -> None:
    sd = {"w": minigrad.tensor([1.0, 2.0]), "epoch": 3, "names": ("a", "b"), "none": None}
    buf = io.BytesIO()
    minigrad.save(sd, buf)
    buf.seek(0)
    back = minigrad.load(buf)
    assert list(back) == ["w", "epoch", "names", "none"] and back["names"] == ("a", "b") and back["epoch"] == 3


def test_randint_high_size_form() -> None:
    t = minigrad.randint(5, (3,))  # torch: randint(high, size) draws from [0, high)
    assert tuple(t.shape) == (3,) and t.dtype is minigrad.int64 and all(0 <= v < 5 for v in t.tolist())


def test_float_and_int_of_a_multi_element_tensor_are_value_errors() -> None:
    x = minigrad.zeros(2, 3)
    for convert in (float, int):
        with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
            convert(x)
    with pytest.raises(RuntimeError, match="a Tensor with 6 elements cannot be converted to Scalar"):
        x.item()


def test_matmul_of_boolean_tensors_is_not_implemented() -> None:
    t = minigrad.tensor([True, False])
    with pytest.raises(NotImplementedError, match="\"dot\" not implemented for 'Bool'"):
        t @ t


def test_clip_grad_norm_of_an_integer_gradient_is_a_runtime_error() -> None:
    x = minigrad.arange(5)
    x.grad = minigrad.ones_like(x)
    with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point or complex tensor as input. "
                       "Got Long"):
        minigrad.nn.utils.clip_grad_norm_([x], 0.5)


def test_grad_captures_a_node_that_still_runs_before_its_hooks() -> None:
    # torch's engine captures an input's gradient before the tensor's hooks when its node must still run
    # for another input beyond it, and after them when the node only feeds the capture.
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 10)
    w = y * 2
    w.register_hook(lambda g: g * 100)
    gw, gy, gx = minigrad.autograd.grad(w, [w, y, x], grad_outputs=minigrad.ones(2), retain_graph=True)
    assert gw.tolist() == [1.0, 1.0] and gy.tolist() == [200.0, 200.0] and gx.tolist() == [6000.0, 6000.0]
    (gy_alone,) = minigrad.autograd.grad(y.sum(), [y])
    assert gy_alone.tolist() == [10.0, 10.0]  # torch: (tensor([10., 10.]),)


def test_a_full_integer_index_is_a_view_sharing_storage_and_version() -> None:
    x = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    x.add_(1)
    assert [t._version_number for t in x[0]] == [1, 1]  # torch: every element of list(x[0]) has version 1
    x[1, 1].add_(1)  # torch writes through the 0-d view
    assert x.tolist() == [[2.0, 3.0], [4.0, 6.0]] and x._version_number == 2


def test_data_has_a_version_counter_of_its_own() -> None:
    x = minigrad.tensor(-2.0)
    x.add_(1)
    d = x.data
    assert (x._version_number, d._version_number) == (1, 0)  # torch: 1 0
    d.add_(1)
    assert (x._version_number, d._version_number, x.item()) == (1, 1, 0.0)  # torch: 1 1 0.0
