"""Project tests run under the conformance ``ci`` hypothesis profile (derandomised, no database), so a
local run and CI see the same examples. ``CONFORMANCE_PROFILE=nightly`` explores more."""

import os

from conformance import profiles

os.environ.setdefault("OMP_NUM_THREADS", "1")
profiles.load(os.environ.get("CONFORMANCE_PROFILE", "ci"))
