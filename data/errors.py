"""Exceptions raised by the data package.

Both derive from ValueError so callers that only know "bad input" still catch them;
CorruptImageError is a DatasetError so one ``except DatasetError`` covers every data problem.
"""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset cannot be built: missing or empty folder, empty split, unknown kind, bad spec."""


class CorruptImageError(DatasetError):
    """An image file cannot be opened or decoded; the message names the file and the reason."""
