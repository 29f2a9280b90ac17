"""The documented limits (docs/limits.md): sizes of inputs, runs and sweeps, and memory.

Plain constants and arithmetic, importable from anywhere (the scenario schema, the command
line, sweeps) without loading the model.
"""

from __future__ import annotations

#: Most decisions a firm may have: a configuration is one signed 64-bit integer in the engine
#: and in tables (the 64th bit would be its sign).
MAX_DECISIONS = 63
#: Most decisions of a market whose landscapes are tables over all 2**N configurations (exact
#: best configuration, distances to it and normalised performance); above it the landscapes
#: are evaluated on demand and the best configuration is estimated (docs/ODD.md, 7.2).
TABULATED_DECISIONS = 16
#: Most decisions whose 2**N configurations a function enumerates at all (`configurations`).
ENUMERABLE_DECISIONS = 20
#: Most periods of a burn-in before period 0 (`firm.burn_in`).
MAX_BURN_IN = 10_000
#: Largest scenario or sweep file read (bytes); larger files (or endless ones such as
#: /dev/zero) are refused before they are parsed.
MAX_INPUT_BYTES = 1_000_000
#: Deepest nesting of arrays and tables in a scenario or sweep file (the files need about 5).
MAX_NESTING = 32
#: Seeds in one `run` (a scenario's `seeds`, `--seeds`, `run_experiment(seeds=)`); more seeds
#: belong in a sweep, which writes its runs to disk as they finish.
MAX_SEEDS = 100_000
#: Seeds per design point of a sweep.
MAX_SWEEP_SEEDS = 1_000_000
#: Design points of a sweep (each is validated before anything runs and kept in its manifest).
MAX_DESIGN_POINTS = 100_000
#: Default memory budget of a run (bytes); `--memory-budget GB` raises it.
DEFAULT_MEMORY_BUDGET = 4 * 1024**3
#: Largest magnitude of a money amount or a cost in a scenario (finite, far from overflow).
MAX_MONEY = 1e9
#: Largest weight of a customer preference (weights are relative to each other).
MAX_WEIGHT = 1e6
#: Longest `things_to_notice` check expression (characters; the scenarios' are under 200).
MAX_CHECK_LENGTH = 2_000
#: Deepest nesting of a check expression (operators and brackets inside one another).
MAX_CHECK_DEPTH = 32

# What a run holds in memory until it is written: a summary row (a dict, then a DataFrame
# row) and, with periods, one row per period of about 18 + departments numbers (8 bytes) and
# a 0/1 column per decision (1 byte), held as arrays, as a DataFrame and as an Arrow table
# while Parquet is written.
_BYTES_PER_RUN = 4096
_NUMBERS_PER_PERIOD = 18
_COPIES = 3


def run_memory(
    *,
    runs: int,
    horizon: int,
    departments: int,
    periods: bool,
    decisions: int = 0,
    landscapes: int = 0,
) -> int:
    """Estimated peak memory (bytes) of ``runs`` runs held until written (`run_experiment`),
    plus ``landscapes``: the markets and per-period records of one batch held while it runs."""
    per_run = _BYTES_PER_RUN
    if periods:
        row = (_NUMBERS_PER_PERIOD + departments) * 8 + decisions
        per_run += (horizon + 1) * row * _COPIES
    return runs * per_run + landscapes


def gigabytes(size: float) -> str:
    """``size`` bytes as GB, for messages."""
    return f"{size / 1e9:.3g} GB"
