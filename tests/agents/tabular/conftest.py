"""Fixtures of the tabular agents' tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from recording import RecordingReporter, reporting_to


@pytest.fixture
def reporter() -> Iterator[RecordingReporter]:
    """A :class:`RecordingReporter` installed as the progress reporter for the test."""
    with reporting_to(RecordingReporter()) as recording:
        yield recording
