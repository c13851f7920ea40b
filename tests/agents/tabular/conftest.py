"""Fixtures of the tabular agents' tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from recording import RecordingReporter


@pytest.fixture
def reporter() -> Iterator[RecordingReporter]:
    """A :class:`RecordingReporter` installed as the progress reporter for the test."""
    from rlsuite.common import progress

    recording = RecordingReporter()
    previous = progress.set_reporter(recording)
    yield recording
    progress.set_reporter(previous)
