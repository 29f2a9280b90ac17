"""Random streams keyed by firm, not by the order in which firms draw (plain numpy).

Every firm has a 64-bit key derived from the market's seed, its strategy's name and its index
within a population. A random word is a pure function of (key, period, slot): SplitMix64's
output function (Steele, Lea & Flood 2014) applied to the Weyl sequence ``key + c * GAMMA`` at
counter ``c = period * SLOTS + slot``. So a firm's draws do not depend on which other firms share
its market, on the order of the strategy list, or on how many firms are computed in one batch:
the same strategy on the same seed gives the same numbers alone, as a twin, or in a sweep.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
SLOTS = 64  # random words a firm may use per period in a bank (see `sim.engine` for their layout)
_BANK = 2**40  # counters of bank b start at b * 2**40: slot SLOTS * b + s is slot s of bank b
_TO_UNIT = 2.0**-53
_POPULATION_GAMMA = np.uint64(0xD1B54A32D192ED03)  # another odd constant: keys apart from draws


def firm_keys(seed: int, strategy: str, count: int) -> np.ndarray:
    """The 64-bit keys of the firms 0..count-1 following ``strategy`` on ``seed`` (one firm: 0;
    a population: its firms in order). A key depends on these three things only."""
    base = np.random.SeedSequence([int(seed) & (2**64 - 1), _name_word(strategy)])
    base = base.generate_state(1, np.uint64)
    return mix(base + np.arange(count, dtype=np.uint64) * _POPULATION_GAMMA)


@functools.lru_cache(maxsize=1024)
def _name_word(strategy: str) -> int:
    """A strategy's name as a 64-bit word (BLAKE2b), for `firm_keys`."""
    return int.from_bytes(hashlib.blake2b(strategy.encode(), digest_size=8).digest(), "little")


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (a bijection on 64-bit words)."""
    z = z ^ (z >> _S30)  # then in place: no temporary arrays beyond the first
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def words(keys: np.ndarray, period: int, slots: np.ndarray) -> np.ndarray:
    """Random 64-bit words for ``period``: shape (len(keys), len(slots)) for slots shared by all
    keys (1-D), or the shape of ``slots`` for each key's own slots (2-D, one row per key).

    Slots 0..SLOTS-1 are bank 0; slot ``SLOTS * b + s`` is slot ``s`` of bank ``b``, whose
    counters lie 2**40 * b further on (so adding a bank leaves bank 0's numbers unchanged)."""
    c = counters(period, slots)
    keys = np.asarray(keys, dtype=np.uint64)
    if c.ndim == 1:  # one line per slot (numpy is slow on short inner loops), transposed
        return mix(keys + c[:, None]).T
    return mix(keys[:, None] + c)


def counters(period: int, slots: np.ndarray) -> np.ndarray:
    """The Weyl sequence's terms (before a key is added) of ``slots`` in ``period``, shape of
    ``slots``: ``words(keys, period, slots)`` is ``mix(keys + counters(period, slots))``
    (one key per line for 2-D slots). A caller whose lines share few slots computes their
    terms once and gathers them (the same numbers: all of it is 64-bit modular arithmetic)."""
    slots = np.asarray(slots, dtype=np.uint64)
    bank, slot = slots // np.uint64(SLOTS), slots % np.uint64(SLOTS)
    return (bank * np.uint64(_BANK) + np.uint64(period * SLOTS) + slot + np.uint64(1)) * GAMMA


def uniforms(w: np.ndarray) -> np.ndarray:
    """Uniform numbers in [0, 1) from random words (their top 53 bits)."""
    return (w >> np.uint64(11)).astype(np.float64) * _TO_UNIT
