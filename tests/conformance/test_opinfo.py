"""torch's OpInfo samples as cases (conformance/opinfo.py): conversion, skips, and detection power."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from conformance import catalog
from conformance.checks import check_case, failures
from conformance.opinfo import SKIPS, Unsupported, entries_with_opinfo, opinfos, plan, sample_call


def _check(spec_name: str, dtype: str, backend: Any) -> list[dict[str, Any]]:
    spec = catalog.get(spec_name)
    oracle = "torch64" if dtype == "float64" else "torch32"
    records = []
    for sample in plan(spec_name, dtype).cases():
        records += check_case(sample.case, backend, kind="opinfo", subject=spec_name, tol_class=spec.tol, fd=False,
                              oracles=(oracle,))
    return records


def test_a_sample_becomes_leaves_and_a_call_with_literal_arguments() -> None:
    import torch

    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    idx = torch.tensor([[0, 1, 1]])
    sample = type("S", (), {"input": x, "args": (0, idx), "kwargs": {}, "broadcasts_input": False})()
    call, leaves = sample_call(catalog.get("gather"), opinfos(catalog.get("gather"))[0], sample, "float64")
    assert call == "T.gather({0}, 0, {1})"
    assert [lf.requires_grad for lf in leaves] == [True, False] and leaves[1].values.dtype == np.int64
    sample.args, sample.kwargs = ((0, -1),), {"keepdim": True, "dtype": torch.float64}
    call, leaves = sample_call(catalog.get("sum"), opinfos(catalog.get("sum"))[0], sample, "float64")
    assert call == "T.sum({0}, (0, -1), keepdim=True, dtype=T.float64)" and len(leaves) == 1
    sample.kwargs = {"dtype": torch.float16}
    with pytest.raises(Unsupported, match="dtype"):
        sample_call(catalog.get("sum"), opinfos(catalog.get("sum"))[0], sample, "float64")


def test_every_entry_with_an_opinfo_converts_and_skips_only_for_listed_reasons() -> None:
    specs = entries_with_opinfo()
    assert len(specs) > 100
    for spec in specs:
        for dtype in spec.dtypes:
            p = plan(spec.name, dtype)
            assert set(p.skipped()) <= set(SKIPS), (spec.name, p.skipped())
    assert len(plan("sum", "float64").cases()) >= 10
    scalar_with_dim = [s for s in plan("sum", "float64").cases() if s.case.leaves[0].values.ndim == 0
                       and "dim=" in s.case.nodes[0].attrs[catalog.OWN_CALL]]
    assert scalar_with_dim, "torch's sum samples reduce a 0-d tensor over dim 0 / -1"


def test_torch_agrees_with_its_own_samples(torch_backend: Any) -> None:
    for name in ("sum", "gather", "max_dim", "split"):
        assert not failures(_check(name, "float64", torch_backend)), name


def test_a_bug_only_torch_samples_reach_is_caught(base_backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """round(decimals=) is never drawn by the strategies; torch's samples call it."""
    lib = base_backend.lib
    original = lib.round
    monkeypatch.setattr(lib, "round", lambda x, decimals=0: original(x))
    bad = failures(_check("round", "float64", base_backend))
    assert bad and all(r["kind"] == "opinfo" and r["subject"] == "round" for r in bad)
