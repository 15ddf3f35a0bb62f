"""Error parity: the backend must raise where torch raises, with torch's exception class and message.

:func:`compare_exceptions` turns the two outcomes of one invalid input (an exception or ``None``) into one
check (schema.py) with quantity ``exception``; :func:`run_error_case` runs an :class:`ErrorCase` (drawn by
``conformance.strategies.errors``) in a backend and returns the exception it raised.

**How messages are compared.** Both messages are normalised (:func:`normalise`):

- the library's name: ``torch.`` -> ``<lib>.`` and the words ``torch`` / ``Torch`` -> ``<lib>`` (``<lib>`` is
  the backend's name, ``minigrad`` by default), so ``torch.float32`` reads ``minigrad.float32``;
- memory addresses ``0x7f...`` -> ``0x?``; device indices ``cuda:0`` -> ``cuda``;
- a C++ stack tail (``Exception raised from ...``) is dropped; surrounding whitespace is stripped.

Then the backend's message must equal torch's, except that it may add context around it: a prefix naming the
op (``gather(): `` or ``sum: ``) and a parenthesised suffix (`` (add of shapes [2, 3] and [4])``). Nothing
else may differ. Where torch's message embeds details a NumPy library cannot reasonably reproduce (names of
C++ kernels), :data:`LISTED_FILE` lists the message with its reason: the class must still match, and the
backend's message must match the entry's ``backend`` pattern, which demands the key information (op, shapes,
dtypes) captured from torch's message by the entry's ``torch`` pattern.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .ir import decode_array, encode_array

LISTED_FILE = Path(__file__).with_name("error_messages.json")

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_DEVICE_INDEX = re.compile(r"\b(cuda|mps|xpu):\d+\b")
_CPP_TAIL = re.compile(r"\s*Exception raised from .*", re.DOTALL)
_CONTEXT = r"(?:[A-Za-z_][\w.]*(?:\(\))?: )?{}(?: \(.*\))?"


def normalise(message: str, lib: str = "minigrad") -> str:
    """A message with torch's name replaced by ``lib``, addresses and device indices masked, C++ tail dropped."""
    text = _CPP_TAIL.sub("", message)
    text = re.sub(r"\btorch\.", f"{lib}.", text)
    text = re.sub(r"\b[Tt]orch\b", lib, text)
    text = _ADDRESS.sub("0x?", text)
    text = _DEVICE_INDEX.sub(r"\1", text)
    return text.strip()


def describe(exc: BaseException | None, lib: str = "minigrad") -> str:
    """``"RuntimeError: <normalised message>"``, or ``"no exception"``."""
    if exc is None:
        return "no exception"
    return f"{type(exc).__name__}: {normalise(str(exc), lib)}"


@lru_cache(maxsize=1)
def listed_messages() -> list[dict[str, Any]]:
    """Torch messages the backend need not reproduce word for word (``id, class, torch, backend, reason``)."""
    return json.loads(LISTED_FILE.read_text())


def _listed_match(cls: str, expected: str, actual: str) -> dict[str, Any] | None:
    """The listed entry whose ``torch`` pattern matches ``expected`` and whose ``backend`` pattern (filled
    with what the torch pattern captured) matches ``actual``."""
    for entry in listed_messages():
        if entry["class"] != cls:
            continue
        m = re.fullmatch(entry["torch"], expected)
        if m is None:
            continue
        want = entry["backend"]
        for name, value in m.groupdict().items():
            want = want.replace(f"{{{name}}}", re.escape(value or ""))
        if re.fullmatch(want, actual):
            return entry
    return None


def messages_match(expected: str, actual: str) -> bool:
    """``actual`` is ``expected`` with at most an op prefix and a parenthesised suffix added."""
    return actual == expected or re.fullmatch(_CONTEXT.format(re.escape(expected)), actual) is not None


def compare_exceptions(expected: BaseException | None, actual: BaseException | None,
                       lib: str = "minigrad") -> dict[str, Any]:
    """One check (schema.py, quantity ``exception``): torch's outcome ``expected`` against the backend's
    ``actual``. Passes when neither raised, or both raised the same class with matching messages (see the
    module docstring); ``expected``/``actual`` hold ``"Class: normalised message"`` or ``"no exception"``."""
    exp_text, act_text = describe(expected, lib), describe(actual, lib)
    check: dict[str, Any] = {"quantity": "exception", "shape": [], "ratio": 0.0, "max_abs_err": 0.0,
                             "max_rel_err": 0.0, "index": [], "expected": exp_text, "actual": act_text,
                             "atol": 0.0, "rtol": 0.0, "ok": True}
    if expected is None and actual is None:
        return check
    if expected is None or actual is None:
        note = "torch raised, the backend did not" if actual is None else "the backend raised, torch did not"
    elif type(expected).__name__ != type(actual).__name__:
        note = "different exception class"
    else:
        exp_msg, act_msg = normalise(str(expected), lib), normalise(str(actual), lib)
        if messages_match(exp_msg, act_msg):
            return check
        entry = _listed_match(type(expected).__name__, exp_msg, act_msg)
        if entry is not None:
            check["note"] = f"listed message {entry['id']}: {entry['reason']}"
            return check
        note = "different message"
    check.update(ratio="inf", index=None, ok=False, note=note)
    return check


# ---- error cases -----------------------------------------------------------------------------------------
@dataclass
class ErrorCase:
    """One invalid use of the API: tensors made from ``leaves`` (name -> array, requires_grad) and Python
    statements ``code`` run with ``T`` (the library), ``F`` (its nn.functional) and the leaves in scope."""

    subject: str
    category: str
    code: str
    leaves: dict[str, tuple[np.ndarray, bool]] = field(default_factory=dict)
    ops: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "error", "subject": self.subject, "category": self.category, "code": self.code,
                "ops": list(self.ops),
                "leaves": {k: {**encode_array(v), "requires_grad": rg} for k, (v, rg) in self.leaves.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ErrorCase:
        return cls(d["subject"], d["category"], d["code"],
                   {k: (decode_array(v), bool(v["requires_grad"])) for k, v in d["leaves"].items()}, list(d["ops"]))

    def digest(self) -> str:
        import hashlib

        return hashlib.sha1(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:10]


def run_error_case(case: ErrorCase, backend: Any) -> BaseException | None:
    """Run the case in ``backend`` (a ``ModuleBackend``: it has ``lib`` and ``leaf``); the exception raised,
    or ``None``. Warnings are silenced (torch warns about some of the drawn calls)."""
    import warnings

    lib = backend.lib
    env: dict[str, Any] = {"T": lib, "F": lib.nn.functional, "np": np}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, (values, requires_grad) in case.leaves.items():
                env[name] = backend.leaf(values, requires_grad)
            exec(_compiled(case.code), env)  # noqa: S102 - code comes from the error strategies
    except Exception as exc:  # noqa: BLE001 - the exception is the result
        return exc
    return None


@lru_cache(maxsize=4096)
def _compiled(code: str) -> Any:
    return compile(code, "<error-case>", "exec")


def repro_script(case_json: dict[str, Any]) -> str:
    """A standalone script that runs the case in torch and in minigrad and prints both outcomes."""
    case = ErrorCase.from_json(case_json)
    lines = ["# error-parity case: the same statements in torch and in minigrad must raise alike",
             "import numpy as np", "import torch", "import minigrad", "", "",
             "def run(T):", "    F = T.nn.functional", "    try:"]
    for name, (values, rg) in case.leaves.items():
        arr = f"np.array({values.tolist()!r}, dtype=np.{values.dtype})"
        lines.append(f"        {name} = T.tensor({arr}, requires_grad={rg})")
    lines += ["        " + line for line in case.code.splitlines()]
    lines += ["    except Exception as exc:", "        return f'{type(exc).__name__}: {exc}'",
              "    return 'no exception'", "", "",
              "print('torch   :', run(torch))", "print('minigrad:', run(minigrad))", ""]
    return "\n".join(lines)
