"""explorer: a differentiable JAX model of LLM-inference hardware.

import explorer as ex
chip = ex.load_chip("h100-sxm")
model = ex.load_model("llama-3.1-70b")
m = ex.predict(chip, model, ex.make_scenario(batch=1), ex.make_mapping(tp=4))
"""

from explorer.design.tech import load_tech
from explorer.design.to_chip import design_to_chip
from explorer.design.variables import Design, make_design
from explorer.model.chip import (
    BREAKDOWN,
    CHIP_FIELDS,
    PRECISIONS,
    Chip,
    ChipInfo,
    make_chip,
    stack_chips,
)
from explorer.model.chip_config import load_chip, load_chip_file, load_chip_info
from explorer.model.configio import ConfigError, list_ids
from explorer.model.mapping import Mapping, make_mapping
from explorer.model.perf import Metrics, bottleneck, predict
from explorer.model.smooth import EXACT, SMOOTH, Mode
from explorer.model.workload import Model, Scenario, load_model, load_model_file, make_scenario

__all__ = [
    "BREAKDOWN",
    "CHIP_FIELDS",
    "EXACT",
    "PRECISIONS",
    "SMOOTH",
    "Chip",
    "Design",
    "ChipInfo",
    "ConfigError",
    "Mapping",
    "Metrics",
    "Mode",
    "Model",
    "Scenario",
    "bottleneck",
    "design_to_chip",
    "list_ids",
    "load_chip",
    "load_chip_file",
    "load_chip_info",
    "load_model",
    "load_model_file",
    "load_tech",
    "make_chip",
    "make_design",
    "make_mapping",
    "make_scenario",
    "predict",
    "stack_chips",
]
