"""The base of the errors a user can cause, and those of the data package.

``UserError`` is what the scripts catch, once, to print ``error: ...`` and exit 2 instead of a
traceback: bad input, a missing or wrong weights file, a dataset that cannot be built, a run that
diverged. It sits here, at the bottom of the import graph, because models/ and data/ raise such
errors too. Each error also keeps the built-in base it always had (ValueError for bad input), so
callers that only know "bad input" still catch it.

CorruptImageError is a DatasetError so one ``except DatasetError`` covers every data problem.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can cause and fix; its message names the problem and the fix."""


class DatasetError(UserError, ValueError):
    """A dataset cannot be built: missing or empty folder, empty split, unknown kind, bad spec."""


class CorruptImageError(DatasetError):
    """An image file cannot be opened or decoded; the message names the file and the reason."""
