"""Merge the results of shards (``run --shard K/N``) into one run: ``python -m conformance report A.json B.json
... -o OUT.html``.

Records are concatenated (a record id found in two shards is kept once); counts, per-op summaries and the report
are recomputed, so the merged totals are those of an unsharded run of the same profile and seed. Every artefact a
record points at (arrays/, cases/, repro/) is copied next to OUT.html, so the merged folder stands alone. Branch
coverage is measured per process and summarised per run, so it is not merged: each shard's report has its own.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.results import build_results


def merge_warnings(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """What makes the merge not one run: shards of different backends, profiles, seeds or op filters, a
    shard given twice or missing, an interrupted shard."""
    out = []
    for key, label in (("backend", "backends"), ("profile", "profiles"), ("seed", "seeds"), ("ops", "op filters")):
        values = sorted({str(r.get(key)) for r in runs})
        if len(values) > 1:
            out.append(f"the shards have different {label} ({', '.join(values)}): the merge is not one run")
    shards = [r.get("shard") for r in runs]
    if all(shards):
        ns = {str(s).split("/")[1] for s in shards}
        ks = sorted(int(str(s).split("/")[0]) for s in shards)
        if len(ns) != 1 or ks != list(range(1, int(next(iter(ns))) + 1)):
            out.append(f"the shards are {', '.join(str(s) for s in shards)}: not each of 1..N once")
    else:
        out.append("not every results file is a shard (run --shard K/N): records found in two files are kept once")
    if any(r.get("interrupted") for r in runs):
        out.append("a shard was interrupted: the merged results are partial")
    return out


def merged_run(runs: Sequence[Mapping[str, Any]], sources: Sequence[str]) -> dict[str, Any]:
    """The ``run`` section of the merge: shared facts kept, the rest combined (shards run side by side, so the
    duration is the longest shard's)."""
    def common(key: str) -> Any:
        values = {repr(r.get(key)) for r in runs}
        return runs[0].get(key) if len(values) == 1 else None

    started = sorted(str(r["started"]) for r in runs if r.get("started"))
    durations = [float(r["duration_s"]) for r in runs if r.get("duration_s") is not None]
    statuses = [int(r["exit_status"]) for r in runs if r.get("exit_status") is not None]
    return {
        "id": "merged-" + "+".join(str(r.get("id")) for r in runs)[:120],
        "command": f"python -m conformance report {' '.join(shlex.quote(s) for s in sources)}",
        "started": started[0] if started else None, "duration_s": max(durations) if durations else None,
        "profile": common("profile"), "seed": common("seed"), "backend": common("backend"), "ops": common("ops"),
        "workers": sum(int(r.get("workers") or 1) for r in runs), "interrupted": any(r.get("interrupted") for r in runs),
        "exit_status": max(statuses) if statuses else None, "shard": None,
        "merged_from": [str(r.get("shard") or s) for r, s in zip(runs, sources)],
    }


def merge_results(docs: Sequence[Mapping[str, Any]], sources: Sequence[str], out_dir: Path) -> dict[str, Any]:
    """One results document from several; copies each record's artefacts from its shard's folder (the folder
    of its results file) into ``out_dir`` and points the record's replay command there."""
    records: list[dict[str, Any]] = []
    for doc, source in zip(docs, sources):
        base = Path(source).parent
        for rec in doc["records"]:
            rec = dict(rec)
            repro = dict(rec.get("repro") or {})
            for rel in (rec.get("arrays_file"), repro.get("case_file"), repro.get("script_file")):
                if rel and (base / rel).is_file() and not rel.startswith(("/", "..")):
                    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                    if (base / rel).resolve() != (out_dir / rel).resolve():
                        shutil.copyfile(base / rel, out_dir / rel)
            if repro.get("command") and repro.get("case_file"):
                case_file = str(repro["case_file"])
                here = shlex.quote(str(out_dir / case_file))
                repro["command"] = re.sub(r"\S*" + re.escape(case_file), lambda _, here=here: here,
                                          str(repro["command"]), count=1)
                rec["repro"] = repro
            records.append(rec)
    catalogue = sorted({str(c) for doc in docs for c in doc.get("catalogue") or []})
    return build_results(records, run=merged_run([d["run"] for d in docs], sources),
                         environment=docs[0].get("environment") or {}, catalogue=catalogue)
