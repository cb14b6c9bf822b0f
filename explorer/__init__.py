"""explorer: a differentiable JAX model of LLM-inference hardware.

import explorer as ex
chip = ex.load_chip("h100-sxm")
model = ex.load_model("llama-3.1-70b")
m = ex.predict(chip, model, ex.make_scenario(batch=1), ex.make_mapping(tp=4))
"""

from explorer.configio import ConfigError, list_ids
from explorer.design import Design, design_to_chip, load_tech, make_design
from explorer.hardware import (
    BREAKDOWN,
    CHIP_FIELDS,
    PRECISIONS,
    Chip,
    ChipInfo,
    load_chip,
    load_chip_file,
    load_chip_info,
    make_chip,
    stack_chips,
)
from explorer.mapping import Mapping, make_mapping
from explorer.perf import Metrics, bottleneck, predict
from explorer.smooth import EXACT, SMOOTH, Mode
from explorer.workload import Model, Scenario, load_model, load_model_file, make_scenario

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
