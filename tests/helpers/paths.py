"""Where things are, for tests in any folder: the repository, ``tests/`` and its data.

One place, so a test file can move between ``tests/unit/…`` and ``tests/integration/``
without counting ``parents[…]``.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DATA = TESTS / "data"
ARTIFACTS = TESTS / "artifacts"
