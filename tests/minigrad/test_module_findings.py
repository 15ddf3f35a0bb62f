"""Module / container / Parameter behaviours where minigrad differed from torch 2.13 (found by the conformance
``module`` machine); each expected value is torch's answer, quoted in a ``torch:`` comment."""

from __future__ import annotations

import copy
import warnings

import pytest

import minigrad as mg
from minigrad import nn


def _names(m: nn.Module) -> list[str]:
    return [k for k, _ in m.named_parameters()]


def test_reassigned_parameter_and_module_keep_their_place() -> None:
    layer = nn.Linear(2, 2)
    layer.weight = nn.Parameter(mg.zeros(2, 2))
    assert _names(layer) == ["weight", "bias"]  # torch: ['weight', 'bias']
    seq = nn.Sequential(nn.ReLU(), nn.Tanh())
    seq.add_module("x", nn.Identity())
    seq[0] = nn.Sigmoid()
    assert [k for k, _ in seq.named_children()] == ["0", "1", "x"]  # torch: ['0', '1', 'x']


def test_get_submodule_parameter_buffer_follow_attributes() -> None:
    m = nn.Sequential(nn.Linear(2, 2, bias=False))
    m.register_buffer("running", mg.zeros(2))
    with pytest.raises(AttributeError, match="`bias` is not an nn.Parameter"):  # torch: bias is None
        m.get_parameter("0.bias")
    with pytest.raises(AttributeError, match="Linear has no attribute `nope`"):
        m.get_parameter("0.nope")
    m[0] = None
    with pytest.raises(AttributeError, match="`0` is not an nn.Module"):  # torch: a None child is an error
        m.get_submodule("0")
    assert m.get_buffer("running") is m.running
    with pytest.raises(AttributeError, match="`training` is not a buffer"):
        m.get_buffer("training")


def test_module_type_converts_every_tensor() -> None:
    layer = nn.Linear(2, 2)
    # torch: RuntimeError('data set to a tensor that requires gradients must be floating point or complex dtype')
    with pytest.raises(RuntimeError, match="must be floating point or complex dtype"):
        layer.type(mg.int64)
    layer.requires_grad_(False)
    assert layer.type(mg.int64).weight.dtype is mg.int64  # torch: torch.int64


def test_hardtanh_check_and_deprecated_keywords() -> None:
    with pytest.raises(AssertionError, match=r"max_val \(-1.0\) must be greater than min_val \(1.0\)"):
        nn.Hardtanh(1.0, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = nn.Hardtanh(min_value=-2.0, max_value=3.0)
    assert (h.min_val, h.max_val) == (-2.0, 3.0)  # torch: (-2.0, 3.0)


def test_parameter_deepcopy_drops_grad() -> None:
    p = nn.Parameter(mg.ones(2))
    p.sum().backward()
    q = copy.deepcopy(p)
    assert q.grad is None and q.requires_grad and type(q) is nn.Parameter  # torch: grad None


def test_zero_grad_keeps_zeroed_grad_out_of_the_graph() -> None:
    layer = nn.Linear(2, 1)
    layer.weight.grad = mg.ones(1, 2, requires_grad=True)
    layer.zero_grad(set_to_none=False)
    assert not layer.weight.grad.requires_grad  # torch: False


def test_container_insert_and_dir_as_torch() -> None:
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    with pytest.raises(KeyError):  # torch: KeyError('-1') after shifting
        ml.insert(-1, nn.Sigmoid())
    assert [type(x).__name__ for x in ml] == ["ReLU", "ReLU", "Tanh"]
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.insert(5, nn.Sigmoid())
    assert list(ml._modules) == ["0", "1", "5"]  # torch: ['0', '1', '5']
    assert "0" not in dir(nn.Sequential(nn.ReLU()))  # torch: False
    with pytest.raises(TypeError, match="should be called with an iterable, but got int"):
        nn.ModuleList().extend(3)


def test_sequential_iadd_mul_pop() -> None:
    a, b = nn.ReLU(), nn.Tanh()
    s = nn.Sequential(a)
    s += nn.Sequential(b)
    assert list(s) == [a, b]
    assert list(2 * s) == [a, b, a, b]
    s *= 2
    assert list(s._modules) == ["0", "1", "2", "3"]
    assert s.pop(0) is a and len(s) == 3
    with pytest.raises(ValueError, match="Non-positive multiplication factor"):
        s * 0


def test_forward_hooks_kwargs_prepend_always_call() -> None:
    seen: list[str] = []
    layer = nn.Identity()
    layer.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 2,), kwargs), with_kwargs=True)
    layer.register_forward_hook(lambda m, args, out: seen.append("second"))
    layer.register_forward_hook(lambda m, args, kwargs, out: seen.append("first") or out + 1, prepend=True,
                                with_kwargs=True)
    assert layer(mg.ones(1)).item() == 3.0 and seen == ["first", "second"]
    bad = nn.Module()
    bad.register_forward_hook(lambda m, args, out: seen.append("always"), always_call=True)
    with pytest.raises(NotImplementedError):
        bad(mg.ones(1))
    assert seen[-1] == "always"


def test_modulelist_delete_uses_positional_keys() -> None:
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.insert(9, nn.Sigmoid())  # keys '0', '1', '9'
    with pytest.raises(AttributeError, match="'ModuleList' object has no attribute '2'"):  # torch: the same
        del ml[-1]


def test_relu6_is_a_hardtanh() -> None:
    r = nn.ReLU6(inplace=True)
    assert isinstance(r, nn.Hardtanh) and (r.min_val, r.max_val) == (0.0, 6.0)  # torch: True, (0.0, 6.0)
    assert repr(r) == "ReLU6(inplace=True)"


def test_copy_of_parameter_shares_values() -> None:
    p = nn.Parameter(mg.ones(2))
    c = copy.copy(p)
    with mg.no_grad():
        c.mul_(2)
    assert p.tolist() == [2.0, 2.0] and c is not p  # torch: [2.0, 2.0]
