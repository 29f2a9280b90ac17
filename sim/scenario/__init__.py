"""Scenarios: the schema (what can be set) and the one loader (TOML file -> Scenario)."""

from sim.scenario.checks import check_seed, check_seeds, check_strategies
from sim.scenario.errors import ScenarioError, UnknownStrategy, UsageError
from sim.scenario.load import (
    SCENARIO_DIR,
    apply_overrides,
    as_scenario,
    load_scenario,
    read_scenario_data,
    resolve_scenario_path,
    scenario_to_dict,
    validate_scenario,
)
from sim.scenario.schema import BUILTIN_STRATEGIES, COORDINATION_MODES, Scenario, StrategySpec

__all__ = [
    "BUILTIN_STRATEGIES",
    "COORDINATION_MODES",
    "SCENARIO_DIR",
    "Scenario",
    "ScenarioError",
    "StrategySpec",
    "UnknownStrategy",
    "UsageError",
    "apply_overrides",
    "as_scenario",
    "check_seed",
    "check_seeds",
    "check_strategies",
    "load_scenario",
    "read_scenario_data",
    "resolve_scenario_path",
    "scenario_to_dict",
    "validate_scenario",
]
