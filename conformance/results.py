"""The results file: build, normalise, write and load ``results.json`` (schema in ``schema.py``).

Everything written is plain JSON, keys sorted and records in a stable order so two runs diff
cleanly with ``diff`` or ``git diff``. Loading checks ``schema_version`` and says clearly what is
wrong, so the report never renders a file it does not understand.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.schema import KINDS, SCHEMA_VERSION, VERDICTS, json_float

# Worst first: a crash hides more than an error, an error more than a failure, ...
SEVERITY = {"crashed": 4, "error": 3, "fail": 2, "known_difference": 1, "pass": 0}
DISCREPANCY_VERDICTS = ("fail", "error", "crashed", "known_difference")

RECORD_DEFAULTS: dict[str, Any] = {
    "nodeid": None,
    "kind": "op",
    "subject": None,
    "ops": [],
    "oracle": None,
    "dtype": None,
    "backend": None,
    "worst": None,
    "checks": [],
    "edge_values": [],
    "message": None,
    "known_difference": None,
    "exact": None,
    "case": None,
    "first_bad_node": None,
    "arrays_file": None,
    "repro": None,
    "reproduce_failure": None,
    "trajectory": None,
    "duration_s": None,
}


class ResultsError(ValueError):
    """A results file that cannot be used (missing, not JSON, wrong schema version)."""


def to_plain(obj: Any) -> Any:
    """``obj`` as plain JSON data: numpy scalars/arrays unwrapped, tuples as lists,
    non-finite floats as ``"nan"``/``"inf"``/``"-inf"`` strings, dict keys as strings."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return json_float(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    # numpy without importing it eagerly
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return to_plain(tolist())
    item = getattr(obj, "item", None)
    if callable(item):
        return to_plain(item())
    if isinstance(obj, (set, frozenset)):
        return sorted(to_plain(v) for v in obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def array_to_json(arr: Any) -> dict[str, Any]:
    """One array as ``{"dtype", "shape", "data"}`` (nested lists, non-finite values as strings)."""
    import numpy as np

    a = np.asarray(arr)
    return {"dtype": a.dtype.name, "shape": [int(s) for s in a.shape], "data": to_plain(a.tolist())}


def record_ratio(record: Mapping[str, Any]) -> float:
    """The record's worst err/tol ratio as a float (inf for errors/crashes without one, 0.0 when absent)."""
    worst = record.get("worst") or {}
    r = worst.get("ratio") if isinstance(worst, Mapping) else None
    if r is None:
        return math.inf if record.get("verdict") in ("error", "crashed") else 0.0
    try:
        return float(r)
    except (TypeError, ValueError):
        return math.inf


def worst_key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key putting the worst record first (severity, then ratio, then id for stability)."""
    r = record_ratio(record)
    r = -1.0 if math.isnan(r) else r
    return (-SEVERITY.get(record.get("verdict", "pass"), 0), -r, str(record.get("id")))


def stable_id(*parts: Any) -> str:
    """A short, stable id from text parts: ``<slug>-<hash8>``."""
    text = "|".join(str(p) for p in parts)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:60].strip("-")
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def safe_filename(record_id: str) -> str:
    """A record id usable as a file name (ids are already tame; this is belt and braces)."""
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(record_id)).strip(".")
    return name[:150] or "record"


def normalize_record(record: Mapping[str, Any], *, nodeid: str | None = None,
                     duration_s: float | None = None) -> dict[str, Any]:
    """A record with every schema field present, plain JSON, validated enough to render.

    Raises ``ValueError`` for a record without an id or with an unknown verdict (a bug in the
    suite, better caught at ``add`` time than as a broken report)."""
    rec = to_plain(dict(record))
    if not isinstance(rec.get("id"), str) or not rec["id"]:
        raise ValueError(f"record needs a non-empty string 'id': {str(record)[:200]}")
    if rec.get("verdict") not in VERDICTS:
        raise ValueError(f"record {rec['id']!r}: verdict must be one of {VERDICTS}, got {rec.get('verdict')!r}")
    for key, default in RECORD_DEFAULTS.items():
        if key not in rec:
            rec[key] = json.loads(json.dumps(default))
    if not rec["nodeid"] and nodeid:
        rec["nodeid"] = nodeid
    if rec["duration_s"] is None and duration_s is not None:
        rec["duration_s"] = round(float(duration_s), 6)
    if rec["subject"] is None:
        rec["subject"] = (rec["ops"] or ["?"])[0]
    if not rec["ops"] and rec["kind"] == "op" and rec["subject"] not in (None, "?"):
        rec["ops"] = [rec["subject"]]
    if rec["worst"] is None and rec["checks"]:
        rec["worst"] = max(rec["checks"], key=lambda c: _ratio_value(c.get("ratio")))
    return rec


def _ratio_value(r: Any) -> float:
    try:
        v = float(r)
    except (TypeError, ValueError):
        return math.inf
    return -1.0 if math.isnan(v) else v


def dedupe_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One record per id; when an id repeats the worse record wins (ties: the later one)."""
    best: dict[str, dict[str, Any]] = {}
    for rec in records:
        rid = rec["id"]
        old = best.get(rid)
        if old is None or worst_key(rec)[:2] <= worst_key(old)[:2]:
            best[rid] = dict(rec)
    return list(best.values())


def sort_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records in the file's stable order: (kind, subject, oracle, id)."""
    def key(r: Mapping[str, Any]) -> tuple[Any, ...]:
        kind = r.get("kind") or ""
        kind_rank = KINDS.index(kind) if kind in KINDS else len(KINDS)
        return (kind_rank, kind, str(r.get("subject") or ""), str(r.get("oracle") or ""), str(r.get("id")))
    return sorted((dict(r) for r in records), key=key)


def count_verdicts(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """``{verdict: n}`` with every verdict present (zeros included)."""
    counts = dict.fromkeys(VERDICTS, 0)
    for r in records:
        counts[r.get("verdict", "pass")] = counts.get(r.get("verdict", "pass"), 0) + 1
    return counts


def summarize_ops(records: Iterable[Mapping[str, Any]], catalogue: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Per catalogue op: records using it, per-verdict counts, worst ratio, edge values hit.

    Ops in ``catalogue`` without any record are listed with zeros so coverage gaps show."""
    ops: dict[str, dict[str, Any]] = {}

    def entry(op: str) -> dict[str, Any]:
        if op not in ops:
            ops[op] = {"records": 0, **dict.fromkeys(VERDICTS, 0), "worst_ratio": 0.0, "edge_values": {}}
        return ops[op]

    for op in catalogue:
        entry(str(op))
    for r in records:
        used = r.get("ops") or ([r["subject"]] if r.get("kind") == "op" and r.get("subject") else [])
        ratio = record_ratio(r) if r.get("worst") else 0.0  # errors/crashes are counted, not ranked
        for op in dict.fromkeys(str(o) for o in used):
            e = entry(op)
            e["records"] += 1
            e[r.get("verdict", "pass")] += 1
            if not math.isnan(ratio) and ratio > _ratio_value(e["worst_ratio"]):
                e["worst_ratio"] = json_float(ratio)
            for ev in r.get("edge_values") or []:
                e["edge_values"][str(ev)] = e["edge_values"].get(str(ev), 0) + 1
    return {k: ops[k] for k in sorted(ops)}


def _version(module: str) -> str | None:
    """A package's version without importing it when possible (importing torch takes seconds)."""
    mod = sys.modules.get(module)
    if mod is not None and getattr(mod, "__version__", None):
        return str(mod.__version__)
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(module)
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover
        pass
    try:
        mod = __import__(module)
    except Exception:  # noqa: BLE001 - absence (or a broken install) is recorded as None
        return None
    return str(getattr(mod, "__version__", "unknown"))


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def collect_environment() -> dict[str, Any]:
    """Versions and machine facts for the results file (imports lazily, tolerates absence)."""
    return {
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "minigrad": _version("minigrad"),
        "hypothesis": _version("hypothesis"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count() or 1,
        "executable": sys.executable,
    }


def build_results(records: Iterable[Mapping[str, Any]], *, run: Mapping[str, Any],
                  environment: Mapping[str, Any] | None = None,
                  catalogue: Iterable[str] | None = None,
                  coverage: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The complete results document from normalised records and run facts (``coverage``: the branch
    coverage section of ``conformance.branch_coverage.summarise``, when measured)."""
    recs = sort_records(dedupe_records(normalize_record(r) for r in records))
    cat = sorted(dict.fromkeys(str(c) for c in (catalogue or [])))
    run_doc = {
        "id": None, "command": None, "started": None, "duration_s": None, "profile": None,
        "seed": None, "workers": 1, "backend": None, "interrupted": False, "exit_status": None,
    }
    run_doc.update(to_plain(dict(run)))
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run": run_doc,
        "environment": to_plain(dict(environment if environment is not None else collect_environment())),
        "counts": count_verdicts(recs),
        "ops": summarize_ops(recs, cat),
        "catalogue": cat,
        "records": recs,
    }
    if coverage is not None:
        doc["coverage"] = to_plain(dict(coverage))
    return doc


def _line(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _compact(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record without its empty defaults (null, []): ``normalize_record`` restores them on load, and
    a ci run's file shrinks by about a quarter."""
    return {k: v for k, v in record.items() if not (k in RECORD_DEFAULTS and v in (None, []) and v == RECORD_DEFAULTS[k])}


def dumps_results(results: Mapping[str, Any]) -> str:
    """The results document as deterministic JSON text.

    Keys are sorted; ``records`` and ``ops`` hold one entry per line (so a changed record is one
    changed line in a diff, and the file stays compact); other top-level fields are one line each."""
    doc = to_plain(results)
    parts = []
    for key in sorted(doc):
        value = doc[key]
        if key == "records" and isinstance(value, list):
            body = ",\n".join("  " + _line(_compact(r)) for r in value)
            text = "[\n" + body + "\n ]" if value else "[]"
        elif key == "ops" and isinstance(value, dict):
            body = ",\n".join(f"  {_line(k)}: {_line(v)}" for k, v in sorted(value.items()))
            text = "{\n" + body + "\n }" if value else "{}"
        else:
            text = _line(value)
        parts.append(f" {_line(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


GZIP_MAGIC = b"\x1f\x8b"


def write_results(path: str | os.PathLike[str], results: Mapping[str, Any]) -> Path:
    """Write ``results`` atomically (temp file + rename) and return the path; gzip-compressed when the name
    ends in ``.gz`` (deterministic: no timestamp in the gzip header)."""
    import gzip

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    data = dumps_results(results).encode("utf-8")
    tmp.write_bytes(gzip.compress(data, compresslevel=6, mtime=0) if p.name.endswith(".gz") else data)
    os.replace(tmp, p)
    return p


def read_json_text(path: str | os.PathLike[str]) -> str:
    """The text of a JSON file, gzip-compressed or not (told by its first bytes). A missing ``X.json`` whose
    ``X.json.gz`` exists is read from there, so ``results.json`` names a run's results either way."""
    import gzip

    p = Path(path)
    if not p.exists() and Path(f"{p}.gz").exists():
        p = Path(f"{p}.gz")
    data = p.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise UnicodeDecodeError("gzip", data[:1], 0, 1, f"damaged gzip data ({exc})") from None
    return data.decode("utf-8")


def validate_results(doc: Any, source: str = "results") -> dict[str, Any]:
    """Check a loaded document is a results file this code understands; return it."""
    if not isinstance(doc, dict):
        raise ResultsError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("schema_version")
    if version is None:
        raise ResultsError(f"{source}: no 'schema_version' field; is this a conformance results.json?")
    if version != SCHEMA_VERSION:
        raise ResultsError(
            f"{source}: schema_version {version!r} is not supported (this conformance reads version "
            f"{SCHEMA_VERSION}); re-run the suite or use the conformance version that wrote it")
    for key, typ in (("run", dict), ("records", list)):
        if not isinstance(doc.get(key), typ):
            raise ResultsError(f"{source}: field {key!r} missing or not a {typ.__name__}")
    recs = []
    for i, r in enumerate(doc["records"]):
        try:
            recs.append(normalize_record(r))
        except ValueError as exc:
            raise ResultsError(f"{source}: record {i}: {exc}") from None
    doc["records"] = recs
    doc.setdefault("environment", {})
    doc.setdefault("catalogue", [])
    doc["counts"] = count_verdicts(recs)
    doc["ops"] = summarize_ops(recs, doc["catalogue"])
    return doc


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a results file (``ResultsError`` with a clear message if unusable)."""
    p = Path(path)
    try:
        text = read_json_text(p)
    except OSError as exc:
        raise ResultsError(f"{p}: cannot read results file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{p}: not a text or gzip-compressed JSON file ({exc.reason})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{p}: not valid JSON ({exc})") from None
    return validate_results(doc, str(p))
