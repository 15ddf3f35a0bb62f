"""nn.init: gains (torch docs table), fans, and the statistics of every initialiser against its formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as torch
from minigrad import nn
from minigrad.nn import init

SHAPE = (200, 300)  # 60,000 draws: sample std within ~0.5% of the formula
FAN_IN, FAN_OUT = 300, 200


@pytest.mark.parametrize(
    "nonlinearity,param,gain",
    [
        ("linear", None, 1.0), ("conv1d", None, 1.0), ("conv2d", None, 1.0), ("conv3d", None, 1.0),
        ("conv_transpose2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 1, 1.0), ("selu", None, 0.75),
    ],
)
def test_calculate_gain_table(nonlinearity: str, param: float | None, gain: float) -> None:
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_errors() -> None:
    with pytest.raises(ValueError, match="^Unsupported nonlinearity swish$"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="^negative_slope True not a valid number$"):
        init.calculate_gain("leaky_relu", True)


def test_fan_in_and_fan_out() -> None:
    assert init._calculate_fan_in_and_fan_out(torch.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(torch.empty(4, 3, 2, 5)) == (30, 40)  # receptive field 10
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(torch.empty(3))


def _fill(fn, *args, **kwargs) -> np.ndarray:  # type: ignore[no-untyped-def]
    torch.manual_seed(1234)
    t = torch.empty(*SHAPE, dtype=torch.float64)
    out = fn(t, *args, **kwargs)
    assert out is t  # in place, returns its argument
    return t.numpy()


def _check_uniform(x: np.ndarray, bound: float) -> None:
    assert np.abs(x).max() <= bound
    assert np.abs(x).max() > 0.999 * bound
    assert x.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert abs(x.mean()) < 0.01 * bound


def _check_normal(x: np.ndarray, std: float) -> None:
    assert x.std() == pytest.approx(std, rel=0.01)
    assert abs(x.mean()) < 0.01 * std
    assert np.abs(x).max() > 3.5 * std  # not truncated


def test_uniform_and_normal() -> None:
    x = _fill(init.uniform_, -2.0, 3.0)
    assert x.min() >= -2 and x.max() <= 3 and x.mean() == pytest.approx(0.5, abs=0.02)
    x = _fill(init.normal_, 1.0, 0.5)
    assert x.mean() == pytest.approx(1.0, abs=0.01) and x.std() == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(gain: float) -> None:
    # Glorot: variance gain^2 * 2 / (fan_in + fan_out)
    std = gain * math.sqrt(2 / (FAN_IN + FAN_OUT))
    _check_uniform(_fill(init.xavier_uniform_, gain=gain), math.sqrt(3) * std)
    _check_normal(_fill(init.xavier_normal_, gain=gain), std)


@pytest.mark.parametrize(
    "a,mode,nonlinearity,fan",
    [(0, "fan_in", "leaky_relu", FAN_IN), (math.sqrt(5), "fan_in", "leaky_relu", FAN_IN),
     (0, "fan_out", "relu", FAN_OUT), (0.1, "fan_out", "leaky_relu", FAN_OUT), (0, "fan_in", "tanh", FAN_IN)],
)
def test_kaiming(a: float, mode: str, nonlinearity: str, fan: int) -> None:
    if nonlinearity == "leaky_relu":
        gain = math.sqrt(2 / (1 + a**2))
    else:
        gain = {"relu": math.sqrt(2), "tanh": 5 / 3}[nonlinearity]
    std = gain / math.sqrt(fan)
    _check_uniform(_fill(init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity), math.sqrt(3) * std)
    _check_normal(_fill(init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity), std)


def test_kaiming_uniform_sqrt5_is_linear_default_bound() -> None:
    """torch's Linear init: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    _check_uniform(_fill(init.kaiming_uniform_, a=math.sqrt(5)), 1 / math.sqrt(FAN_IN))


def test_trunc_normal() -> None:
    x = _fill(init.trunc_normal_, mean=0.0, std=1.0, a=-0.5, b=1.0)
    assert x.min() >= -0.5 and x.max() <= 1.0 and x.min() < -0.49 and x.max() > 0.99


def test_constant_zeros_ones_eye() -> None:
    p = nn.Parameter(torch.empty(3, 4))
    assert init.constant_(p, 0.25) is p and np.all(p.detach().numpy() == 0.25)
    assert np.all(init.zeros_(p).detach().numpy() == 0)
    assert np.all(init.ones_(p).detach().numpy() == 1)
    np.testing.assert_array_equal(init.eye_(p).detach().numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(torch.empty(3))


def test_init_on_parameters_does_not_record_graph_and_bumps_version() -> None:
    p = nn.Parameter(torch.empty(4, 3))
    v = p._version_number
    init.kaiming_uniform_(p, a=math.sqrt(5))
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    assert p._version_number > v


def test_generator_and_seed_reproducibility() -> None:
    g = torch.Generator().manual_seed(7)
    a = init.normal_(torch.empty(10), generator=g).numpy().copy()
    g.manual_seed(7)
    np.testing.assert_array_equal(init.normal_(torch.empty(10), generator=g).numpy(), a)
    torch.manual_seed(3)
    b = init.xavier_uniform_(torch.empty(4, 5)).numpy().copy()
    torch.manual_seed(3)
    np.testing.assert_array_equal(init.xavier_uniform_(torch.empty(4, 5)).numpy(), b)


def test_kaiming_errors_and_zero_element_warning() -> None:
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(torch.empty(3, 2), mode="fan_avg")
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_normal_(torch.empty(0, 3))
