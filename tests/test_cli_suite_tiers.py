"""The test tiers themselves: slow tiers are off by default, and under CI=true a tier
test that skips (a missing dependency) fails instead of passing silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIER_TEST = """
import pytest

@pytest.mark.slow
def test_needs_a_missing_tool():
    pytest.importorskip("a_module_that_is_not_installed")

def test_plain():
    assert True
"""


def _pytest(folder: Path, *args: str, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(folder), *args, str(folder)],
        capture_output=True, text=True, env=env, cwd=folder,
    )  # fmt: skip


def test_tier_skip_fails_under_ci_and_slow_is_off_by_default(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    (tmp_path / "test_tier.py").write_text(TIER_TEST)
    default = _pytest(tmp_path, ci=None)
    assert default.returncode == 0 and "1 passed, 1 deselected" in default.stdout, default.stdout
    local = _pytest(tmp_path, "-m", "", ci=None)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout
    ci = _pytest(tmp_path, "-m", "", ci="true")
    assert ci.returncode == 1 and "1 failed" in ci.stdout and "CI=true" in ci.stdout, ci.stdout
