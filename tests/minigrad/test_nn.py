"""nn.Module API: registration, traversal, modes, conversion, state_dict round trips (.npz), hooks,
containers, Linear's layout and init, activation modules, errors."""

from __future__ import annotations

import copy
import io
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import minigrad as torch
from minigrad import nn
from minigrad.serialization import load, save


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Tanh()])
        self.head = nn.Sequential(OrderedDict([("out", nn.Linear(4, 2))]))
        self.scale = nn.Parameter(torch.ones(1))
        self.register_buffer("running", torch.zeros(2))
        self.register_buffer("scratch", torch.zeros(1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x))
        for m in self.blocks:
            h = m(h)
        return self.head(h) * self.scale + self.running


def test_parameter_is_a_leaf_tensor_sharing_storage() -> None:
    t = torch.ones(3)
    p = nn.Parameter(t)
    assert isinstance(p, torch.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    p.data[0] = 5.0  # shares storage with t, like torch
    assert t[0].item() == 5.0
    assert not nn.Parameter(torch.ones(1), requires_grad=False).requires_grad
    assert repr(nn.Parameter(torch.tensor([1.0, 2.0]))).startswith("Parameter containing:\ntensor([1., 2.]")
    y = (p * 2).sum()
    assert type(p * 2) is torch.Tensor
    y.backward()
    assert p.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype can require gradients$"):
        nn.Parameter(torch.tensor([1, 2]))


def test_registration_and_traversal_order() -> None:
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias", "head.out.weight", "head.out.bias"]
    assert [n for n, _ in net.named_buffers()] == ["running", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "blocks", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "blocks", "blocks.0", "blocks.1", "head", "head.out"]
    assert len(list(net.modules())) == 8 and len(list(net.children())) == 4
    assert len(list(net.parameters())) == 7
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert list(net.state_dict()) == [
        "scale", "running", "fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias", "head.out.weight",
        "head.out.bias",
    ]
    assert net.get_submodule("head.out") is net.head.out
    assert net.get_parameter("blocks.0.bias") is net.blocks[0].bias
    assert net(torch.randn(5, 3)).shape == (5, 2)


def test_shared_parameters_are_listed_once() -> None:
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    x = torch.randn(3, 2)
    model(x).sum().backward()
    assert shared.weight.grad is not None


def test_setattr_rules_and_errors() -> None:
    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"cannot assign 'minigrad.FloatTensor' as parameter 'weight' \(minigrad.nn.Parameter or None expected\)"):
        m.weight = torch.ones(3, 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", torch.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'minigrad.FloatTensor' object to parameter 'w'"):
        m.register_parameter("w", torch.ones(1))
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        _ = m.foo
    with pytest.raises(KeyError) as info:
        nn.Module().add_module("a.b", nn.ReLU())
    assert info.value.args[0] == 'module name can\'t contain ".", got: a.b'
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.Module().add_module("a", 3)  # type: ignore[arg-type]

    class Early(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(torch.ones(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
        Early()
    # replacing a parameter with another Parameter and deleting it
    m.bias = nn.Parameter(torch.zeros(3))
    assert m.bias.tolist() == [0.0, 0.0, 0.0]
    del m.bias
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    m.bias = None  # plain attribute now
    assert m(torch.ones(1, 2)).shape == (1, 3)
    # assigning a Tensor to a registered buffer updates the buffer
    net = Net()
    net.running = torch.ones(2)
    assert net.state_dict()["running"].tolist() == [1.0, 1.0]


def test_train_eval_propagate() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")  # type: ignore[arg-type]


def test_zero_grad_set_to_none_and_zeros() -> None:
    net = Net()
    net(torch.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_double_keeps_parameter_objects_and_converts_buffers() -> None:
    net = Net()
    params = list(net.parameters())
    net(torch.randn(2, 3)).sum().backward()
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype is torch.float64 and p.grad.dtype is torch.float64 for p in net.parameters())
    assert net.running.dtype is torch.float64
    assert net(torch.randn(2, 3, dtype=torch.float64)).dtype is torch.float64
    net.float()
    assert all(p.dtype is torch.float32 for p in net.parameters())
    net.to(torch.float64)
    assert net.fc1.weight.dtype is torch.float64
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes"):
        net.to(torch.int64)


def test_requires_grad_and_apply() -> None:
    net = Net()
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen: list[str] = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"  # children first, self last

    def init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net.apply(init_weights)
    assert net.blocks[0].weight.numpy().min() == 0.5 == net.fc1.weight.numpy().max()


def test_state_dict_round_trip_through_npz(tmp_path: Path) -> None:
    torch.manual_seed(0)
    a = Net()
    a.running.fill_(3.0)
    torch.manual_seed(1)
    b = Net()
    assert not np.array_equal(a.fc1.weight.detach().numpy(), b.fc1.weight.detach().numpy())
    path = tmp_path / "model.pt"
    save(a.state_dict(), path)
    assert path.exists() and not (tmp_path / "model.pt.npz").exists()
    with open(path, "rb") as fh:  # a real .npz archive, readable without pickle
        assert "__layout__" in np.load(fh, allow_pickle=False).files
    before = b.fc1.weight
    result = b.load_state_dict(load(path))
    assert repr(result) == "<All keys matched successfully>"
    assert b.fc1.weight is before  # loaded in place
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    x = torch.randn(4, 3)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())


def test_state_dict_values_share_storage_and_are_detached() -> None:
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad
    sd["weight"][0, 0] = 42.0
    assert m.weight[0, 0].item() == 42.0
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


def test_save_load_nested_checkpoint() -> None:
    m = nn.Linear(2, 3)
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    m(torch.ones(1, 2)).sum().backward()
    opt.step()
    buf = io.BytesIO()
    save({"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 7, "hist": [1.5, float("inf")],
          "scalar": torch.tensor(3.5, dtype=torch.float64), "ids": torch.tensor([1, 2])}, buf)
    buf.seek(0)
    ck = load(buf)
    assert ck["epoch"] == 7 and ck["hist"] == [1.5, float("inf")]
    assert ck["scalar"].shape == () and ck["scalar"].dtype is torch.float64 and ck["scalar"].item() == 3.5
    assert ck["ids"].dtype is torch.int64 and ck["ids"].tolist() == [1, 2]
    assert isinstance(ck["model"], OrderedDict) and list(ck["model"]) == ["weight", "bias"]
    assert ck["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(ck["optim"]["state"]) == {0, 1}
    np.testing.assert_array_equal(ck["optim"]["state"][0]["exp_avg"].numpy(), opt.state[m.weight]["exp_avg"].numpy())
    with pytest.raises(TypeError, match="cannot store objects of type object"):
        save({"x": object()}, io.BytesIO())


def test_load_state_dict_errors_and_non_strict() -> None:
    m = nn.Linear(2, 3)
    result = m.load_state_dict({"weight": torch.ones(3, 2), "extra": torch.ones(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert m.weight.detach().numpy().tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict({"weight": torch.ones(3, 3), "extra": torch.ones(1)})
    assert str(info.value) == (
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". \n\t'
        'Unexpected key(s) in state_dict: "extra". \n\tsize mismatch for weight: copying a param with shape '
        "minigrad.Size([3, 3]) from checkpoint, the shape in current model is minigrad.Size([3, 2])."
    )
    # numpy arrays are accepted and cast to the parameter dtype
    m.load_state_dict({"weight": np.full((3, 2), 2.0), "bias": np.zeros(3)})
    assert m.weight.dtype is torch.float32 and m.weight[0, 0].item() == 2.0


def test_load_state_dict_assign() -> None:
    m = nn.Linear(2, 1)
    old = m.weight
    m.load_state_dict({"weight": torch.ones(1, 2, dtype=torch.float64), "bias": torch.zeros(1, dtype=torch.float64)}, assign=True)
    assert m.weight is not old and isinstance(m.weight, nn.Parameter) and m.weight.dtype is torch.float64


def test_forward_hooks() -> None:
    m = nn.Linear(2, 2)
    calls: list[str] = []

    def pre(mod: nn.Module, args: tuple) -> tuple:
        calls.append("pre")
        return (args[0] * 0,)

    def post(mod: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
        calls.append("post")
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    out = m(torch.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), (m.bias + 1).detach().numpy()[None])
    assert calls == ["pre", "post"]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(m(torch.zeros(1, 2)).detach().numpy(), m.bias.detach().numpy()[None])


def test_module_without_forward() -> None:
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(torch.ones(1))


def test_deepcopy_gives_independent_parameters() -> None:
    a = Net()
    b = copy.deepcopy(a)
    assert b.fc1.weight is not a.fc1.weight and isinstance(b.fc1.weight, nn.Parameter)
    with torch.no_grad():
        b.fc1.weight.fill_(0.0)
    assert a.fc1.weight.detach().numpy().any()


def test_linear_layout_init_bounds_and_dtype() -> None:
    torch.manual_seed(0)
    m = nn.Linear(50, 30)
    assert m.weight.shape == (30, 50) and m.bias.shape == (30,)
    bound = 1 / math.sqrt(50)  # kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.9 * bound  # uses the whole interval
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # std of U(-a, a) is a / sqrt(3)
    assert repr(m) == "Linear(in_features=50, out_features=30, bias=True)"
    m64 = nn.Linear(3, 2, bias=False, dtype=torch.float64)
    assert m64.weight.dtype is torch.float64 and m64.bias is None
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(m64(torch.tensor(x)).detach().numpy(), x @ m64.weight.detach().numpy().T, rtol=1e-14)
    torch.manual_seed(0)
    again = nn.Linear(50, 30)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)  # seeded from minigrad's generator


def test_linear_gradients_are_outer_products() -> None:
    """Seed example 7: dL/dW = delta^T x, dL/db = sum of delta over the batch."""
    m = nn.Linear(3, 2, dtype=torch.float64)
    x = np.random.default_rng(1).normal(size=(5, 3))
    delta = np.random.default_rng(2).normal(size=(5, 2))
    out = m(torch.tensor(x))
    out.backward(torch.tensor(delta))
    np.testing.assert_allclose(m.weight.grad.numpy(), delta.T @ x, rtol=1e-13)
    np.testing.assert_allclose(m.bias.grad.numpy(), delta.sum(0), rtol=1e-13)


def test_sequential_container() -> None:
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    y = seq(torch.randn(4, 2))
    assert y.shape == (4, 1) and ((y.detach().numpy() > 0) & (y.detach().numpy() < 1)).all()
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"]
    assert list(dict(seq.named_children())) == ["0", "1", "2"]
    seq[2] = nn.Identity()
    assert isinstance(seq[2], nn.Identity)
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    assert len(seq + nn.Sequential(nn.ReLU())) == 4


def test_module_list_container() -> None:
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "Linear", "Linear", "ReLU", "Tanh"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert type(layers[0]).__name__ == "Linear"
    assert repr(nn.ModuleList([nn.ReLU(), nn.ReLU()])) == "ModuleList(\n  (0-1): 2 x ReLU()\n)"


def test_repr_nested() -> None:
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Dropout(0.1)))
    assert repr(m) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n    (0): Dropout(p=0.1, inplace=False)\n  )\n)"
    )


ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (nn.Hardtanh(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    (nn.ReLU6(), lambda x: np.clip(x, 0, 6)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    (nn.Identity(54, unused=True), lambda x: x),
    (nn.Flatten(0), lambda x: x.reshape(-1)),
]


@pytest.mark.parametrize("module,reference", ACTIVATIONS, ids=lambda v: type(v).__name__)
def test_activation_modules(module: nn.Module, reference: object) -> None:
    x = np.linspace(-7, 7, 12).reshape(3, 4)
    out = module(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), reference(x), rtol=1e-12, atol=1e-14)  # type: ignore[operator]


def test_inplace_relu_module() -> None:
    x = torch.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert x.tolist() == [0.0, 2.0] and y.tolist() == [0.0, 2.0]


def test_flatten_module() -> None:
    assert nn.Flatten()(torch.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Flatten(0, 1)(torch.zeros(2, 3, 4)).shape == (6, 4)
