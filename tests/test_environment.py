"""The market's environment generator (`sim.environment`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.environment import environment_rng


@pytest.mark.parametrize("seed", [0, 1, 7, 12345, 2**32 + 5, 2**63 - 1])
def test_environment_rng_is_the_first_child_of_the_seeds_generator(seed):
    """Made from the child's seed sequence directly: the same state and draws as spawning it
    from ``numpy.random.default_rng(seed)`` (docs/ODD.md 5.3), and the parent untouched."""
    spawned = np.random.default_rng(seed).spawn(1)[0]
    made = environment_rng(seed)
    assert made.bit_generator.state == spawned.bit_generator.state
    np.testing.assert_array_equal(made.random(8), spawned.random(8))
    parent = np.random.default_rng(seed).random(8)
    assert not np.array_equal(environment_rng(seed).random(8), parent)
