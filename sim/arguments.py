"""Argument types for the command line (cheap to import: argparse only)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole_number(
    low: int, high: int | None = None, *, noun: str = "a whole number"
) -> Callable[[str], int]:
    """An argparse type accepting whole numbers in ``low..high`` with a one-line error."""
    allowed = f"{noun} >= {low}" if high is None else f"{noun} {low}..{high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {value}")
        return value

    parse.__name__ = allowed  # argparse names the type in its messages
    return parse


positive_int = whole_number(1)
seed_number = whole_number(0, 2**63 - 1)  # (`sim.scenario.checks.MAX_SEED`)
port_number = whole_number(0, 65535, noun="a port number")


def positive_number(text: str) -> float:
    """An argparse type accepting a finite number > 0 with a one-line error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value
