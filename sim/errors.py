"""The project's errors for bad input, at the bottom layer (nothing imported): a
`ScenarioError` for a bad scenario, sweep or results folder, a `UsageError` for a bad argument.

Both are one line and exit code 2 on the command line. A `UsageError` names the Python
argument (``workers``, ``seeds``) and carries the value given; the command line names its
flag instead (`sim.cli`), so that each says what its user typed.
"""

from __future__ import annotations

from typing import Any


class ScenarioError(Exception):
    """Bad scenario input: names the file, the field and what is allowed."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source, self.field, self.message = source, field, message
        super().__init__(": ".join(part for part in (source, field, message) if part))

    def __reduce__(self):  # picklable, so errors cross process boundaries (sweeps)
        return (type(self), (self.source, self.field, self.message))


class UsageError(ScenarioError, ValueError):
    """A bad argument: ``argument`` (its Python name, or a command-line flag), the ``value``
    given and what is allowed (``message``); ``source`` optionally says whose argument (e.g.
    ``scenario bakery_gluten_free``). Also a `ValueError`, as Python's own bad values are."""

    def __init__(self, argument: str, message: str, value: Any = None, source: str = "") -> None:
        self.argument, self.value = argument, value
        super().__init__(source, argument, message)

    def __reduce__(self):
        return (type(self), (self.argument, self.message, self.value, self.source))
