"""Every known difference must still exist (else the entry is stale), in the direction it states: on its evidence
case the exact oracle it names must side with the side the entry says is right."""

from __future__ import annotations

import pytest

from conformance import catalog
from conformance.checks import check_op_case, check_train_case
from conformance.compare import known_differences
from conformance.ir import Case


@pytest.mark.parametrize("kd", known_differences(), ids=lambda kd: kd["id"])
def test_known_difference_still_exists(kd, backend, sink) -> None:  # noqa: ANN001
    """Replay the entry's evidence case: it must still differ from torch, be recognised as this entry, and the exact
    oracle must find the deviating side to be the one the entry names."""
    if kd.get("backend", "minigrad") != backend.name:
        pytest.skip(f"a known difference of {kd.get('backend', 'minigrad')}, not of {backend.name}")
    data = kd["case"]
    if "nodes" in data:
        case = Case.from_json(data)
        records = check_op_case(catalog.get(case.nodes[0].op), case, backend)
    else:
        records = check_train_case(data, backend)
    decided = [r for r in records if (r.get("exact") or {}).get("entry") == kd["id"]]
    assert decided, (f"known difference {kd['id']} ({kd['reason']}) no longer shows: the backend now matches torch "
                     f"on its evidence case; remove the entry from known_differences.json")
    right = "backend" if kd["deviates"] == "torch" else "torch"
    assert all(r["exact"]["sided_with"] == right for r in decided), (
        f"known difference {kd['id']} says {kd['deviates']} deviates, but on its evidence case the exact oracle "
        f"{kd['exact']} sided with {[r['exact']['sided_with'] for r in decided]}")
    # only a deviating torch excuses a record; a documented backend deviation stays a failure
    expected_verdict = "known_difference" if kd["deviates"] == "torch" else "fail"
    assert all(r["verdict"] == expected_verdict for r in decided), [r["verdict"] for r in decided]
    sink.submit(records)
