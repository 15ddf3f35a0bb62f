"""Fault-injecting backends for the fault tests (tests/conformance/test_faults.py): minigrad, except that one op
per fault misbehaves inside the backend, as a buggy third-party library might.

``--backend tests.conformance.fault_backends:Faulty``: exp raises, relu hangs, sin ends its process with
``os._exit``, cos dies of SIGSEGV; every other op is minigrad's. ``SlowRelu``: relu sleeps for a minute (a run to
interrupt with SIGINT).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from conformance.backends.minigrad import MinigradBackend


def _raise() -> None:
    raise RuntimeError("injected fault: exp raised inside the backend")


def _hang() -> None:
    while True:  # a hung kernel: only pytest-timeout (or a signal) ends it
        time.sleep(1)


def _exit() -> None:
    os._exit(7)


def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


class Faulty(MinigradBackend):
    """minigrad with exp raising, relu hanging, sin calling os._exit and cos dying of SIGSEGV."""

    FAULTS = {"exp": _raise, "relu": _hang, "sin": _exit, "cos": _segfault}

    def __init__(self) -> None:
        super().__init__()
        self.name = "faulty"

    def apply(self, spec: Any, form: str, inputs: list[Any], attrs: dict[str, Any]) -> Any:
        fault = self.FAULTS.get(spec.name)
        if fault is not None:
            fault()
        return super().apply(spec, form, inputs, attrs)


class SlowRelu(MinigradBackend):
    """minigrad whose relu takes a minute: the run is still going when the test interrupts it."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "slow-relu"

    def apply(self, spec: Any, form: str, inputs: list[Any], attrs: dict[str, Any]) -> Any:
        if spec.name == "relu":
            time.sleep(60)
        return super().apply(spec, form, inputs, attrs)


class PlantedDropLast(MinigradBackend):
    """minigrad whose DataLoader ignores drop_last (a planted stateful bug, as a ``package.module:Class``)."""

    def __new__(cls) -> Any:  # noqa: D102 - the planted backend itself, made with no arguments
        from conformance.backends import load_backend
        from conformance.planted import PlantedBackend

        return PlantedBackend("dataloader_drop_last", load_backend("minigrad"))
