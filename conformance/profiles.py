"""Hypothesis profiles, registered in one place, and the per-kind example budgets.

``quick`` (a developer's loop), ``ci`` (derandomised, no example database, prints reproduce blobs; every
catalogue entry with edge values, DAGs, networks and training runs in a few minutes on 2 cores) and
``nightly`` (many examples). ``EXAMPLES[profile][kind]`` is the ``max_examples`` of each test kind;
``--max-examples N`` overrides the op budget and scales the others.
"""

from __future__ import annotations

import os

PROFILES = ("quick", "ci", "nightly")

#: max_examples per test kind (an "op" test runs once per catalogue entry; "stateful": programs per state
#: machine, each up to 20 steps; an "errors" test once per entry and invalid category, "engine_errors" once)
EXAMPLES: dict[str, dict[str, int]] = {
    "quick": {"op": 12, "graph": 30, "network": 8, "training": 8, "init": 1, "stateful": 10, "errors": 5,
              "engine_errors": 60},
    "ci": {"op": 150, "graph": 1000, "network": 200, "training": 80, "init": 3, "stateful": 60, "errors": 10,
           "engine_errors": 300},
    "nightly": {"op": 500, "graph": 3000, "network": 300, "training": 400, "init": 5, "stateful": 1000,
                "errors": 100, "engine_errors": 1500},
}



def register() -> None:
    """Register the three hypothesis profiles (idempotent; hypothesis is imported only here)."""
    from hypothesis import HealthCheck, settings

    common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                        HealthCheck.filter_too_much, HealthCheck.large_base_example])
    settings.register_profile("quick", max_examples=EXAMPLES["quick"]["op"], print_blob=True, **common)
    settings.register_profile("ci", max_examples=EXAMPLES["ci"]["op"], derandomize=True, database=None,
                              print_blob=True, **common)
    settings.register_profile("nightly", max_examples=EXAMPLES["nightly"]["op"], print_blob=True, **common)


def current_profile() -> str:
    """``$CONFORMANCE_PROFILE`` (set by the CLI), default ``quick``."""
    p = os.environ.get("CONFORMANCE_PROFILE", "quick")
    return p if p in PROFILES else "quick"


def load(profile: str | None = None) -> str:
    """Load a profile (and return its name)."""
    from hypothesis import settings

    register()
    profile = profile or current_profile()
    settings.load_profile(profile)
    return profile


def examples(kind: str, profile: str | None = None) -> int:
    """``max_examples`` for a test kind under the profile, honouring ``$CONFORMANCE_MAX_EXAMPLES``."""
    profile = profile or current_profile()
    n = EXAMPLES[profile][kind]
    override = os.environ.get("CONFORMANCE_MAX_EXAMPLES")
    if override:
        n = max(1, round(n * int(override) / EXAMPLES[profile]["op"]))
    return n


def pin_threads() -> None:
    """Workers use one thread and the highest float32 matmul precision (deterministic, comparable)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from .backends.torch import pin_threads as pin_torch
    pin_torch()
