"""The scenario error: one line naming the file, the field and what is allowed."""

from __future__ import annotations


class ScenarioError(Exception):
    """Bad scenario input: names the file, the field and what is allowed."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source, self.field, self.message = source, field, message
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # picklable, so errors cross process boundaries (sweeps)
        return (type(self), (self.source, self.field, self.message))


class UnknownStrategy(ScenarioError, KeyError):
    """A strategy name the scenario does not have (also a `KeyError`, as a lookup is)."""

    def __str__(self) -> str:  # a KeyError would show the repr of its argument
        return Exception.__str__(self)
