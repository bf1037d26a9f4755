"""Shared helpers for the loader tests: data locations and tiny synthetic captures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = (REPO / ".." / "shared" / "data").resolve()
BUNDLED = REPO / "data"


@pytest.fixture
def shared():
    """Path of ../shared/data, or skip when the development data set is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared development data not found at {SHARED} (sibling of the repo root)")
    return SHARED


@pytest.fixture
def bundled():
    """Path of the repo's bundled sample data (data/)."""
    return BUNDLED
