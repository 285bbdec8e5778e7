"""Fixtures for the LLaMA-Factory integration tests (helpers live in pa_integration_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pa_integration_helpers import build_pa_data


@pytest.fixture(scope="session")
def pa_data(tmp_path_factory) -> Path:
    return build_pa_data(tmp_path_factory.mktemp("pa_data"))
