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


# ---- found by the factory, optim and data machines (conformance/stateful.py) ------------------------------
def _raises(exc: type[BaseException], match: str, fn) -> None:  # noqa: ANN001
    with pytest.raises(exc, match=match):
        fn()


def test_dtype_arguments_are_dtypes_or_python_types() -> None:
    assert minigrad.zeros(2, dtype=float).dtype is minigrad.float64  # torch: float64
    assert minigrad.ones(2, dtype=int).dtype is minigrad.int64
    # torch: TypeError: zeros(): argument 'dtype' must be torch.dtype, not str
    _raises(TypeError, r"zeros\(\): argument 'dtype' must be minigrad.dtype, not str", lambda: minigrad.zeros(2, dtype="float32"))
    _raises(TypeError, r"tensor\(\): argument 'dtype' must be minigrad.dtype, not type",
            lambda: minigrad.tensor([1.0], dtype=np.float64))
    assert (minigrad.float64.itemsize, minigrad.bool.itemsize, minigrad.int32.is_complex) == (8, 1, False)
    _raises(TypeError, "^invalid dtype object: only floating-point types are supported as the default type$",
            lambda: minigrad.set_default_dtype(float))
    _raises(TypeError, "^only floating-point types are supported as the default type$",
            lambda: minigrad.set_default_dtype(minigrad.int64))
    assert minigrad.result_type(minigrad.ones(2, dtype=minigrad.int32), 2.5) is minigrad.float32  # torch: float32
    assert minigrad.can_cast(minigrad.float64, minigrad.float32) and not minigrad.can_cast(minigrad.int64, minigrad.bool)


def test_devices_are_validated_and_any_cpu_index_is_the_cpu() -> None:
    assert minigrad.zeros(2, device="cpu:0").device == minigrad.device("cpu")  # torch: device(type='cpu')
    assert repr(minigrad.device("cpu", 0)) == "device(type='cpu', index=0)"
    _raises(RuntimeError, "^Device index must not be negative$", lambda: minigrad.device("cpu", -1))
    _raises(RuntimeError, "^Invalid device string: 'cpu:01'$", lambda: minigrad.device("cpu:01"))
    _raises(RuntimeError, "^Device string must not be empty$", lambda: minigrad.device(""))
    _raises(RuntimeError, "device type at start of device string: CPU$", lambda: minigrad.device("CPU"))
    _raises(RuntimeError, "^type \\(string\\) must not include an index because index was passed explicitly: cpu:1$",
            lambda: minigrad.device("cpu:1", 2))
    _raises(TypeError, r"^device\(\): argument 'index' \(position 2\) must be int, not str$",
            lambda: minigrad.device("cuda", "x"))


def test_tensor_infers_numpy_scalars_and_0d_tensors_by_their_dtype() -> None:
    assert minigrad.tensor(np.float64(2.5)).dtype is minigrad.float64  # torch: float64 (np.float64 is a float)
    assert minigrad.tensor([np.int32(1)]).dtype is minigrad.int32  # torch: int32
    assert minigrad.tensor([np.int32(1), 2]).dtype is minigrad.int64  # torch: int64
    assert minigrad.tensor([minigrad.tensor(1.0).double(), 2]).dtype is minigrad.float64  # torch: float64
    with pytest.warns(UserWarning, match=r"To copy construct from a tensor, it is recommended to use "
                      r"sourceTensor.detach\(\).clone\(\)"):
        minigrad.tensor(minigrad.tensor([1, 2]))
    _raises(ValueError, r"^expected sequence of length 1 at dim 2 \(got 2\)$", lambda: minigrad.tensor([[[1], [2, 3]]]))
    _raises(TypeError, "^not a sequence$", lambda: minigrad.tensor([[1], 2]))
    _raises(TypeError, "^'list' object cannot be interpreted as an integer$", lambda: minigrad.tensor([1, [2]]))
    _raises(TypeError, "^new\\(\\): invalid data type 'str'$", lambda: minigrad.tensor("a"))
    _raises(RuntimeError, "^Could not infer dtype of object$", lambda: minigrad.tensor(object()))
    assert minigrad.as_tensor(minigrad.ones(2), dtype=minigrad.int64).dtype is minigrad.int64  # no warning in torch


def test_creation_range_checks() -> None:
    _raises(RuntimeError, "^upper bound and lower bound inconsistent with step sign$", lambda: minigrad.arange(5, 0))
    _raises(NotImplementedError, "^\"arange_cpu\" not implemented for 'Bool'$", lambda: minigrad.arange(3, dtype=minigrad.bool))
    _raises(RuntimeError, "^number of steps must be non-negative$", lambda: minigrad.linspace(0, 1, -1))
    _raises(RuntimeError, "^m must be greater or equal to 0, got -1$", lambda: minigrad.eye(2, -1))
    _raises(NotImplementedError, "^\"check_uniform_bounds\" not implemented for 'Long'$",
            lambda: minigrad.rand(2, dtype=minigrad.int64))
    _raises(NotImplementedError, "^\"normal_kernel_cpu\" not implemented for 'Int'$",
            lambda: minigrad.randn_like(minigrad.ones(2, dtype=minigrad.int32)))
    _raises(RuntimeError, "^random_ expects 'from' to be less than 'to', but got from=3 >= to=3$",
            lambda: minigrad.randint(3, 3, (2,)))
    _raises(RuntimeError, "^to - 1 is out of bounds for bool$", lambda: minigrad.randint(0, 3, (2,), dtype=minigrad.bool))
    _raises(RuntimeError, "^from is out of bounds for int$", lambda: minigrad.randint(-2**40, 0, (2,), dtype=minigrad.int32))
    assert minigrad.zeros(0, 1)[[]].shape == (0, 1)  # torch: an empty selection


def test_scheduler_warnings_and_state_dict_are_torchs() -> None:
    import warnings

    p = minigrad.tensor([1.0], requires_grad=True)
    opt = minigrad.optim.SGD([p], lr=0.1)
    sched = minigrad.optim.lr_scheduler.StepLR(opt, 2)
    # torch's state_dict keys
    assert sorted(sched.state_dict()) == ['_get_lr_called_within_step', '_is_initial', '_last_lr', '_step_count',
                                          'base_lrs', 'gamma', 'last_epoch', 'step_size']
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched.step()
        sched.get_lr()
        sched.step(3)
    texts = [str(w.message) for w in caught]
    assert texts[0].endswith("See more details at https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")
    assert texts[1] == "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
    assert texts[2].startswith("The epoch parameter in `scheduler.step()` was not necessary")
    opt2 = minigrad.optim.SGD([p], lr=0.1)
    sched2 = minigrad.optim.lr_scheduler.ExponentialLR(opt2, 0.5)
    opt2.step = type(opt2).step.__get__(opt2)
    with pytest.warns(UserWarning, match=r"Seems like `optimizer.step\(\)` has been overridden"):
        sched2.step()


def test_optimizer_load_state_dict_casts_and_keeps_as_torch() -> None:
    p = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = minigrad.optim.Adam([p], lr=0.1)
    p.grad = minigrad.ones(3)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["mask"] = minigrad.tensor([1, 0, 1])
    sd["state"][99] = {"step": minigrad.tensor(1.0)}
    sd["param_groups"][0]["betas"] = [0.9, 0.999]
    opt.load_state_dict(sd)
    assert opt.state[p]["mask"].dtype is minigrad.float32  # torch: cast to the (floating) parameter's dtype
    assert opt.state_dict()["state"][99]["step"].item() == 1.0  # torch keeps state under other keys
    assert opt.param_groups[0]["betas"] == [0.9, 0.999]  # torch does not turn the list back into a tuple
    assert opt.state[p]["exp_avg"] is sd["state"][0]["exp_avg"]  # torch takes a same-dtype tensor as is
    q = minigrad.tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        dup = minigrad.optim.SGD([q, q], lr=0.1)
    assert dup.state_dict()["param_groups"][0]["params"] == [1, 1]  # torch: [1, 1]


def test_checkpoint_loading_as_torch() -> None:
    buf = io.BytesIO()
    minigrad.save(np.arange(3), buf)
    buf.seek(0)
    import pickle

    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):  # torch's default refuses it
        minigrad.load(buf)
    buf.seek(0)
    assert minigrad.load(buf, weights_only=False).tolist() == [0, 1, 2]

    class Stream:
        def read(self, n: int = -1) -> bytes:
            return b""

    _raises(AttributeError, "^'Stream' object has no attribute 'seek'. You can only minigrad.load from a file that "
            "is seekable", lambda: minigrad.load(Stream()))


def test_data_utilities_as_torch() -> None:
    from collections import OrderedDict

    from minigrad.utils.data import default_collate, default_convert, random_split

    with pytest.warns(UserWarning, match="^Length of split at index 1 is 0. This might result in an empty dataset.$"):
        random_split(range(5), [0.9, 0.1])
    _raises(ValueError, "^Fraction at index 0 is not between 0 and 1$", lambda: random_split(range(5), [1.5, -0.5]))
    assert isinstance(default_collate([OrderedDict(a=1), OrderedDict(a=2)]), OrderedDict)  # torch keeps the type
    converted = default_convert((np.float64(1.5), {"x": np.array([1, 2])}))
    assert isinstance(converted, list)  # torch: a tuple becomes a list
    assert converted[0].dtype is minigrad.float64 and converted[1]["x"].tolist() == [1, 2]
    loader = DataLoader(TensorDataset(minigrad.arange(4.0)), batch_size=2, num_workers=2)
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0], [2.0, 3.0]]  # torch: the same batches


# ---- custom autograd.Function, hooks, grad modes, anomaly mode, engine call forms (autograd machine) ------------
def _fn(name, forward, backward=None):  # noqa: ANN001, ANN202
    body = {"forward": staticmethod(forward)}
    if backward is not None:
        body["backward"] = staticmethod(backward)
    return type(name, (minigrad.autograd.Function,), body)


def test_custom_function_gradient_forms_follow_torch() -> None:
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    _fn("ExtraNone", lambda ctx, x: x * 2, lambda ctx, g: (g * 2, None, None)).apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]  # torch: trailing None gradients are dropped
    x.grad = None
    _fn("Summed", lambda ctx, x: x * 2, lambda ctx, g: g.expand(2, 3)).apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]  # torch: an expandable gradient is summed to the input's shape
    with pytest.raises(RuntimeError, match=r"^expected Variable or None \(got float\)$"):  # torch's message
        _fn("FloatGrad", lambda ctx, x: x * 2, lambda ctx, g: 1.0).apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="function ScaleBackward returned a gradient different than None at "
                       "position 2, but the corresponding forward input was not a Variable"):
        _fn("Scale", lambda ctx, x, k: x * k, lambda ctx, g: (g, g)).apply(x, 2.0).sum().backward()
    with pytest.raises(NotImplementedError, match="You must implement either the backward or vjp method"):
        _fn("NoBackward", lambda ctx, x: x * 2).apply(x).sum().backward()


def test_save_for_backward_of_a_non_tensor_fails_only_when_recording() -> None:
    def forward(ctx, x):  # noqa: ANN001, ANN202
        ctx.save_for_backward(x, 3)
        return x * 2

    f = _fn("SaveInt", forward, lambda ctx, g: g)
    assert f.apply(minigrad.ones(2)).tolist() == [2.0, 2.0]  # torch: fine when nothing requires grad
    with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument 1 is of type int"):
        f.apply(minigrad.ones(2, requires_grad=True))


def test_custom_function_outputs_non_tensor_and_unmaterialized_gradients() -> None:
    seen = []

    def backward(ctx, g1, g2):  # noqa: ANN001, ANN202
        seen.append((None if g1 is None else g1.tolist(), None if g2 is None else g2.tolist()))
        return (0 if g1 is None else g1 * 2) + (0 if g2 is None else g2 * 3)

    def lazy(ctx, x):  # noqa: ANN001, ANN202
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    _fn("NonTensor", lambda ctx, x: (x * 2, 5), backward).apply(x)[0].sum().backward()
    _fn("Lazy", lazy, backward).apply(x)[1].sum().backward()
    _fn("Two", lambda ctx, x: (x * 2, x * 3), backward).apply(x)[0].sum().backward()
    # torch: None for a non-tensor output; None without materialize_grads; zeros otherwise
    assert seen == [([1.0, 1.0], None), (None, [1.0, 1.0]), ([1.0, 1.0], [0.0, 0.0])]
    assert x.grad.tolist() == [7.0, 7.0]


def test_custom_function_returning_or_dirtying_its_input() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = _fn("Identity", lambda ctx, x: x, lambda ctx, g: g * 5).apply(x)
    assert y is not x and not y.is_leaf and y._version is x._version  # torch: a view sharing the version counter
    with minigrad.no_grad():
        z = _fn("Identity", lambda ctx, x: x, lambda ctx, g: g).apply(x)
    assert z is not x and not z.requires_grad  # torch: element 0 ... does not require grad on backward

    def dirty(ctx, x):  # noqa: ANN001, ANN202
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    m = x * 1
    out = _fn("AddOne", dirty, lambda ctx, g: g * 5).apply(m)
    assert out is m and m.grad_fn.name() == "AddOneBackward" and m._version_number == 2  # torch: 2
    out.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad has been used in an in-place"):
        _fn("AddOne", dirty, lambda ctx, g: g).apply(minigrad.ones(2, requires_grad=True))


def test_tensor_hook_results_are_checked_like_torch() -> None:
    def check(result, exc, message):  # noqa: ANN001, ANN202
        x = minigrad.tensor([1.0, 2.0], requires_grad=True)

        def hook(g):  # noqa: ANN001, ANN202
            return result(g)

        (x * 1).register_hook(hook)
        y = x * 1
        y.register_hook(hook)
        with pytest.raises(exc, match=message):
            y.sum().backward()

    check(lambda g: minigrad.ones(3), RuntimeError, "^hook 'hook' has changed the size of value$")
    check(lambda g: g.double(), RuntimeError, r"^hook 'hook' has changed the type of value \(was minigrad.FloatTensor "
          r"got minigrad.DoubleTensor\)$")
    check(lambda g: 1.0, TypeError, "^expected Variable, but hook returned 'float'$")


def test_grad_modes_decorate_bare_and_generators_and_check_types() -> None:
    @minigrad.no_grad
    def bare():  # noqa: ANN202
        return minigrad.is_grad_enabled()

    @minigrad.no_grad()
    def gen():  # noqa: ANN202
        yield minigrad.is_grad_enabled()
        yield minigrad.is_grad_enabled()

    @minigrad.inference_mode
    def inference():  # noqa: ANN202
        return minigrad.is_grad_enabled(), minigrad.is_inference_mode_enabled()

    assert bare() is False and list(gen()) == [False, False]  # torch: the mode holds inside the generator
    assert inference() == (False, True) and minigrad.is_inference_mode_enabled() is False
    with pytest.raises(TypeError, match=r"set_grad_enabled\(\): argument 'enabled' \(position 1\) must be bool, "
                       "not int"):
        minigrad.set_grad_enabled(0)
    assert minigrad.is_grad_enabled()


def test_anomaly_mode_warns_and_checks_like_torch() -> None:
    import warnings

    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    outside = (x * 1).exp()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="^Function 'SqrtBackward0' returned nan values in its 0th output.$"):
            with minigrad.autograd.detect_anomaly():
                (minigrad.sqrt(x * 0) * 0).sum().backward()
        outside.sum().backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            with minigrad.autograd.detect_anomaly():
                outside.sum().backward()
    first = [str(w.message).splitlines()[0] for w in caught]
    assert first == [  # torch 2.13's warnings, in order
        "Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled for "
        "debugging.",
        "Error detected in SqrtBackward0. Traceback of forward call that caused the error:",
        "Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled for "
        "debugging.",
        "Error detected in ExpBackward0. No forward pass information available. Enable detect anomaly during "
        "forward pass for more information.",
    ]
    with pytest.raises(TypeError, match=r"set_anomaly_enabled\(\): argument 'enabled' \(position 1\) must be bool"):
        minigrad.autograd.set_detect_anomaly(1)
    assert minigrad.is_anomaly_enabled() is False and minigrad.is_anomaly_check_nan_enabled() is True


def test_backward_and_grad_argument_forms_follow_torch() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    minigrad.autograd.backward([x * 2], [minigrad.ones(2), minigrad.ones(2)])  # torch: extra gradients ignored
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="^got 2 tensors and 1 gradients$"):
        minigrad.autograd.backward([x * 2, x * 3], [minigrad.ones(2)])
    with pytest.raises(TypeError, match="'float' object is not iterable"):
        (x * 2).sum().backward(2.0)
    with pytest.raises(TypeError, match="^gradients can be either Tensors or None, but got float$"):
        minigrad.autograd.grad((x * 2).sum(), x, grad_outputs=[2.0])
    with pytest.raises(RuntimeError, match=r"^`inputs` argument to `grad\(\)` cannot be empty.$"):
        minigrad.autograd.grad((x * 2).sum(), [])
    with pytest.raises(RuntimeError, match="^all inputs have to be Tensors or GradientEdges, but got int$"):
        minigrad.autograd.grad((x * 2).sum(), [x, 3])
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad"):  # outputs checked first
        minigrad.autograd.grad(minigrad.ones(2).sum(), [x, 3])
    with pytest.raises(RuntimeError, match=r"^Mismatch in shape: grad_output\[0\]"):  # before requires_grad
        minigrad.autograd.grad(minigrad.ones(2), [x], grad_outputs=[minigrad.ones(5)])
    with pytest.raises(AssertionError, match="Expected output to be a minigrad.Tensor"):
        minigrad.autograd.backward([(x * 2).sum(), 3])


def test_backward_inputs_retain_each_input_once_in_order() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    x.grad = None
    (x * 1).sum().backward(inputs=[x, x])
    assert x.grad.tolist() == [1.0, 1.0]  # torch: listed twice, accumulated once
    m = x * 2
    with pytest.raises(RuntimeError, match="^can't retain_grad on Tensor that has requires_grad=False$"):
        (m * m).sum().backward(inputs=[m, minigrad.ones(2)])
    assert m.retains_grad  # torch retained m before reaching the second input
    m.mul_(3)  # the retained gradient follows the in-place op (torch: [1., 1.], not the old node's too)
    m.sum().backward()
    assert m.grad.tolist() == [1.0, 1.0]


def test_tensor_api_paths_found_by_every_query() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with minigrad.no_grad():
        assert x.numpy().tolist() == [1.0, 2.0]  # torch allows numpy() of a grad tensor under no_grad
    assert x.numpy(force=True).tolist() == [1.0, 2.0]
    with pytest.raises(IndexError, match="^Dimension specified as 0 but tensor has no dimensions$"):
        minigrad.tensor(1.0).size(0)
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 1"):
        minigrad.ones(3)[0, 1]
    with pytest.raises(IndexError, match="^invalid index of a 0-dim tensor"):
        minigrad.tensor(1.0)[0]
    assert minigrad.ones(2)[True, 0].tolist() == [1.0]  # torch: a Python bool adds a dim, like None
    with pytest.raises(TypeError, match="^Variable data has to be a tensor, but got list$"):
        x.data = [1.0]
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                       "memory location"):
        minigrad.ones(3).expand(2, 3).add_(1)
    assert minigrad.tensor([1.0]).grad_fn is None and (x * 1).grad_fn.next_functions[0][0].name() == \
        "minigrad::autograd::AccumulateGrad"  # torch: torch::autograd::AccumulateGrad


def test_the_requires_grad_attribute_of_a_non_leaf_cannot_be_set() -> None:
    y = minigrad.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"^you can only change requires_grad flags of leaf variables\.$"):
        y.requires_grad = True  # torch: the short message for True
    with pytest.raises(RuntimeError, match="If you want to use a computed variable in a subgraph"):
        y.requires_grad = False
    assert y.requires_grad_(True) is y  # torch allows the method
