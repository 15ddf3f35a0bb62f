"""Idioms of ordinary PyTorch scripts that must run unchanged with ``import minigrad as torch``."""

import pytest

import minigrad as torch


def test_device_selection_idiom():
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert str(device) == "cpu" and device == torch.device("cpu") and repr(device) == "device(type='cpu')"
    x = torch.ones(2).to(device)
    assert x.device == device and x.device.type == "cpu"
    torch.cuda.manual_seed_all(0)  # silently ignored without CUDA, as in torch
    assert torch.cuda.device_count() == 0
    with pytest.raises(AssertionError, match="^minigrad not compiled with CUDA enabled$"):  # torch without CUDA
        torch.ones(2).to(torch.device("cuda:0"))


def test_format_of_a_scalar_tensor():
    loss = torch.tensor(2.0045678)
    assert f"{loss:.4f}" == "2.0046"
    assert f"{torch.ones(2)}" == str(torch.ones(2))


def test_is_tensor_and_numel():
    x = torch.zeros(2, 3)
    assert torch.is_tensor(x) and not torch.is_tensor([1.0])
    assert torch.numel(x) == 6
