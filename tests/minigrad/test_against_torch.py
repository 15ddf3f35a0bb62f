"""The same torch-style training script run with minigrad and with real torch (float64).

``train(torch)`` is ordinary PyTorch code written against whatever module is passed as ``torch``.
Both runs start from torch's initial weights (copied through ``load_state_dict``) and see the same
batches, so the per-step losses must agree to ~1e-9 relative: that checks Linear, activations,
losses, backward, the optimizers' update formulas, lr schedulers, clip_grad_norm_ and DataLoader
together. Also compares module reprs and a few error messages with torch's.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is needed to compare against (pip install torch==2.13.0)")

import minigrad  # noqa: E402

N_STEPS = 50
BATCH = 16
REL_TOL = 1e-9


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(128, 8))
    w = rng.normal(size=(8, 4))
    y = np.argmax(x @ w + 0.5 * rng.normal(size=(128, 4)), axis=1).astype(np.int64)
    return x, y


def _initial_state() -> dict[str, np.ndarray]:
    """torch's default-initialised weights for the model built in ``train`` (the shared start point)."""
    torch.manual_seed(0)
    model = _model(torch)
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _model(lib: Any) -> Any:
    nn = lib.nn
    return nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4)
    ).double()


def train(
    torch: Any,  # noqa: F811 - the point: this is whichever library is passed in
    init_state: dict[str, np.ndarray],
    make_optimizer: Callable[[Any, Any], Any],
    make_scheduler: Callable[[Any, Any], Any] | None = None,
    clip: float | None = None,
    loss_name: str = "CrossEntropyLoss",
) -> dict[str, Any]:
    """A plain PyTorch training loop: DataLoader, zero_grad / forward / loss / backward / (clip) / step."""
    from_numpy = torch.from_numpy
    X, Y = _data()
    model = _model(torch)
    model.load_state_dict({k: from_numpy(v.copy()) for k, v in init_state.items()})
    loss_fn = getattr(torch.nn, loss_name)()
    optimizer = make_optimizer(torch, model.parameters())
    scheduler = make_scheduler(torch, optimizer) if make_scheduler else None
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(from_numpy(X), from_numpy(Y)), batch_size=BATCH, shuffle=False
    )
    losses, norms, lrs = [], [], []
    step = 0
    while step < N_STEPS:
        for xb, yb in loader:
            model.train()
            optimizer.zero_grad()
            out = model(xb)
            if loss_name == "MSELoss":
                loss = loss_fn(out, torch.nn.functional.one_hot(yb, 4).double())
            else:
                loss = loss_fn(out, yb)
            loss.backward()
            if clip is not None:
                norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip)))
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
                lrs.append(scheduler.get_last_lr()[0])
            losses.append(loss.item())
            step += 1
            if step == N_STEPS:
                break
    model.eval()
    with torch.no_grad():
        logits = model(from_numpy(X))
        accuracy = (logits.argmax(dim=1) == from_numpy(Y)).double().mean().item()
    params = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return {"losses": np.array(losses), "norms": np.array(norms), "lrs": np.array(lrs), "acc": accuracy,
            "params": params}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300), initial=0.0))


CASES: dict[str, dict[str, Any]] = {
    "adam": dict(make_optimizer=lambda t, p: t.optim.Adam(p, lr=0.01)),
    "adam_amsgrad_l2": dict(make_optimizer=lambda t, p: t.optim.Adam(p, lr=0.01, weight_decay=0.01, amsgrad=True)),
    "sgd_nesterov_wd": dict(
        make_optimizer=lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    ),
    "sgd_dampening_mse": dict(
        make_optimizer=lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.3),
        loss_name="MSELoss",
    ),
    "adamw": dict(make_optimizer=lambda t, p: t.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    "rmsprop_centered_momentum": dict(
        make_optimizer=lambda t, p: t.optim.RMSprop(p, lr=0.005, momentum=0.5, centered=True, weight_decay=1e-3)
    ),
    "rmsprop_plain": dict(make_optimizer=lambda t, p: t.optim.RMSprop(p, lr=0.005)),
    "adagrad": dict(
        make_optimizer=lambda t, p: t.optim.Adagrad(p, lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1)
    ),
    "sgd_steplr": dict(
        make_optimizer=lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
        make_scheduler=lambda t, o: t.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    ),
    "adam_cosine": dict(
        make_optimizer=lambda t, p: t.optim.Adam(p, lr=0.02),
        make_scheduler=lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=1e-4),
    ),
    "sgd_clip_norm": dict(make_optimizer=lambda t, p: t.optim.SGD(p, lr=0.5, momentum=0.9), clip=0.5),
    "adam_clip_norm": dict(make_optimizer=lambda t, p: t.optim.Adam(p, lr=0.05), clip=0.1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_trajectory_matches_torch(case: str) -> None:
    torch.set_num_threads(1)
    init = _initial_state()
    ref = train(torch, init, **CASES[case])
    got = train(minigrad, init, **CASES[case])
    assert len(got["losses"]) == N_STEPS
    assert _rel(got["losses"], ref["losses"]) <= REL_TOL, (got["losses"] - ref["losses"])
    assert _rel(got["norms"], ref["norms"]) <= REL_TOL
    assert _rel(got["lrs"], ref["lrs"]) <= 1e-12
    assert got["acc"] == ref["acc"]
    for k in ref["params"]:
        np.testing.assert_allclose(got["params"][k], ref["params"][k], rtol=1e-8, atol=1e-10)
    # the run must actually have learned something, or the comparison is vacuous
    assert ref["losses"][-5:].mean() < ref["losses"][:5].mean()


def test_scheduler_lr_sequences_match_torch() -> None:
    """StepLR / CosineAnnealingLR lr sequences over several cycles, including step(epoch) closed form."""
    for make in (
        lambda t, o: t.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3),
        lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    ):
        seqs = []
        for lib in (torch, minigrad):
            p = lib.nn.Parameter(lib.zeros(2))
            opt = lib.optim.SGD([p], lr=0.7)
            sched = make(lib, opt)
            seq = [sched.get_last_lr()[0]]
            for _ in range(23):
                opt.step()
                sched.step()
                seq.append(opt.param_groups[0]["lr"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sched.step(4)
            seq.append(sched.get_last_lr()[0])
            seq.append(sched.state_dict()["last_epoch"])
            seqs.append(np.array(seq))
        np.testing.assert_allclose(seqs[1], seqs[0], rtol=1e-14, atol=0)


def test_optimizer_state_dict_layout_matches_torch() -> None:
    for make in (
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
        lambda t, p: t.optim.Adam(p, lr=0.1, amsgrad=True),
        lambda t, p: t.optim.RMSprop(p, centered=True, momentum=0.1),
        lambda t, p: t.optim.Adagrad(p),
    ):
        dicts = []
        for lib in (torch, minigrad):
            p = lib.nn.Parameter(lib.ones(3, dtype=lib.float64))
            opt = make(lib, [p])
            p.grad = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64)
            opt.step()
            dicts.append(opt.state_dict())
        ref, got = dicts
        assert got["param_groups"] == ref["param_groups"]
        assert set(got["state"]) == set(ref["state"])
        for i in ref["state"]:
            assert set(got["state"][i]) == set(ref["state"][i])
            for k, v in ref["state"][i].items():
                np.testing.assert_allclose(np.asarray(got["state"][i][k].numpy()), v.numpy(), rtol=1e-15)


def test_module_reprs_match_torch() -> None:
    def build(nn: Any) -> list[Any]:
        return [
            nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3, bias=False), nn.Dropout(0.2))),
            nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(True), nn.Tanh()]),
            nn.ModuleList(),
            nn.LeakyReLU(0.2, inplace=True), nn.ELU(), nn.GELU("tanh"), nn.SiLU(), nn.Softplus(2.0, 10.0),
            nn.Hardtanh(-2.0, 2.0), nn.ReLU6(), nn.Sigmoid(), nn.Softmax(dim=1), nn.LogSoftmax(-1), nn.Identity(),
            nn.Flatten(), nn.MSELoss(), nn.CrossEntropyLoss(), nn.HuberLoss(), nn.SmoothL1Loss(), nn.L1Loss(),
            nn.NLLLoss(), nn.BCELoss(), nn.BCEWithLogitsLoss(), nn.MultiMarginLoss(), nn.HingeEmbeddingLoss(),
        ]

    for ours, theirs in zip(build(minigrad.nn), build(torch.nn)):
        assert repr(ours) == repr(theirs)


def test_state_dict_keys_and_buffers_match_torch() -> None:
    def build(lib: Any) -> Any:
        nn = lib.nn
        return nn.Sequential(
            nn.Linear(3, 4), nn.ReLU(), nn.ModuleList([nn.Linear(4, 4)]),
            nn.CrossEntropyLoss(weight=lib.ones(4)), nn.BCEWithLogitsLoss(pos_weight=lib.ones(4)),
        )

    assert list(build(minigrad).state_dict()) == list(build(torch).state_dict())
    assert [n for n, _ in build(minigrad).named_modules()] == [n for n, _ in build(torch).named_modules()]


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.nn.functional.cross_entropy(L.zeros(2, 3), L.tensor([0, 3])),
        lambda L: L.nn.functional.nll_loss(L.zeros(2, 3), L.tensor([0.0, 1.0])),
        lambda L: L.nn.functional.nll_loss(L.zeros(2, 3), L.tensor([0, 1, 2])),
        lambda L: L.nn.functional.cross_entropy(L.zeros(2, 3, 4), L.zeros(2, 5, dtype=L.int64)),
        lambda L: L.nn.functional.cross_entropy(L.zeros(2, 3), L.tensor([0, 1]), weight=L.ones(2)),
        lambda L: L.nn.functional.cross_entropy(L.zeros(2, 3), L.tensor([0, 1]), label_smoothing=1.5),
        lambda L: L.nn.functional.mse_loss(L.zeros(3), L.zeros(2)),
        lambda L: L.nn.functional.mse_loss(L.zeros(3), L.zeros(3), reduction="avg"),
        lambda L: L.nn.functional.binary_cross_entropy(L.tensor([1.5]), L.tensor([1.0])),
        lambda L: L.nn.functional.multi_margin_loss(L.zeros(2, 3), L.tensor([0, 1]), p=3),
        lambda L: L.nn.functional.multi_margin_loss(L.zeros(2, 3), L.tensor([0, 3])),
        lambda L: L.nn.functional.multi_margin_loss(L.zeros(2, 3), L.tensor([0.0, 1.0])),
        lambda L: L.nn.functional.huber_loss(L.zeros(2), L.zeros(2), delta=0.0),
        lambda L: L.nn.functional.smooth_l1_loss(L.zeros(2), L.zeros(2), beta=-1.0),
        lambda L: L.nn.functional.one_hot(L.tensor([0, 5]), 3),
        lambda L: L.nn.functional.one_hot(L.tensor([0.0])),
        lambda L: L.nn.functional.dropout(L.ones(2), p=1.5),
        lambda L: L.optim.SGD([], lr=0.1),
        lambda L: L.optim.SGD([L.nn.Parameter(L.ones(1))], lr=-1.0),
        lambda L: L.optim.SGD([L.nn.Parameter(L.ones(1))], lr=0.1, nesterov=True),
        lambda L: L.optim.Adam([L.nn.Parameter(L.ones(1))], betas=(1.0, 0.9)),
        lambda L: L.nn.Linear(2, 3).train("yes"),
        lambda L: L.nn.Sequential(L.nn.ReLU())[3],
        lambda L: L.nn.init.kaiming_uniform_(L.zeros(3), mode="fan_avg"),
        lambda L: L.nn.init.kaiming_uniform_(L.zeros(3, 2), mode="fan_avg"),
        lambda L: L.nn.init.calculate_gain("swish"),
    ],
)
def test_error_class_and_message_match_torch(call: Callable[[Any], Any]) -> None:
    errors = []
    for lib in (torch, minigrad):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as info:  # noqa: B017 - the class is compared below
                call(lib)
        errors.append(info.value)
    ref, got = errors
    assert type(got) is type(ref)
    assert str(got) == str(ref)


def test_mse_size_mismatch_warns_like_torch() -> None:
    msgs = []
    for lib in (torch, minigrad):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = lib.nn.functional.mse_loss(lib.zeros(2, 1, dtype=lib.float64), lib.tensor([1.0, 0.0], dtype=lib.float64))
        msgs.append((str(w[0].message).replace("torch.Size", "Size").replace("minigrad.Size", "Size"), out.item()))
    assert msgs[0] == msgs[1]
