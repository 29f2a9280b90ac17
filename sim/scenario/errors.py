"""The scenario error: one line naming the file, the field and what is allowed."""

from __future__ import annotations

from sim.errors import ScenarioError, UsageError

__all__ = ["ScenarioError", "UnknownStrategy", "UsageError"]


class UnknownStrategy(ScenarioError, KeyError):
    """A strategy name the scenario does not have (also a `KeyError`, as a lookup is)."""

    def __str__(self) -> str:  # a KeyError would show the repr of its argument
        return Exception.__str__(self)
