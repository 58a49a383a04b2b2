"""Fixtures of the benchmark tests: the smoke profile's network sizes and padding-free table text."""

import pytest

from affect import profiles


@pytest.fixture
def tiny_sizes():
    """The ``smoke`` profile's training sizes: 32 px crops, 1/16 of the channels; seconds a network."""
    return profiles.get("smoke").training


@pytest.fixture
def squeeze():
    """Markdown with the tables' padding taken out: each run of spaces becomes one."""
    return lambda text: "\n".join(" ".join(line.split()) for line in text.splitlines())
