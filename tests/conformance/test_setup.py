"""The test command's chromium install prints at most a line (apt's output goes to a log file)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "install-chromium"
NOISY_APT = "#!/bin/bash\nfor i in $(seq 550); do echo \"Selecting previously unselected package lib$i.\"; done\nexit {code}\n"


@pytest.mark.parametrize(("code", "said"), [(0, "installed chromium"), (100, "chromium could not be installed")])
def test_chromium_install_prints_one_line(tmp_path: Path, code: int, said: str) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apt-get").write_text(NOISY_APT.format(code=code))
    (fake / "apt-get").chmod(0o755)
    for tool in ("seq",):  # what the fake apt-get needs; no chromium on this PATH
        (fake / tool).symlink_to(subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True,
                                                text=True, check=True).stdout.strip())
    run = subprocess.run(["/bin/bash", str(SCRIPT)], env={"PATH": str(fake), "TMPDIR": str(tmp_path)},
                         capture_output=True, text=True, timeout=60)
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode == 0 and len(lines) == 1 and lines[0].startswith(said), lines[:5]
    assert (tmp_path / "chromium-install.log").read_text().count("Selecting previously") == 550 * (2 if code == 0 else 1)


def test_the_ci_command_uses_it() -> None:
    assert "bash .ci/install-chromium" in (ROOT / ".ci" / "run").read_text()
