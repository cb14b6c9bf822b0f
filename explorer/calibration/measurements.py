"""Published measurements (configs/references/*.toml): loading and validation.

Each file holds ``[[point]]`` tables, one per published number, with its source,
date, framework, precision, chips, scenario, lengths and confidence. Points that
cannot be modelled (chip count or batch unknown, ...) are kept with
``modellable = false`` and a ``why_not``. Every assumption made to model a point
(a concurrency, a length, a precision, a chip count) is stated in a ``*_basis``
string that starts with "stated", "derived" or "assumed".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from explorer.model.chip import PRECISIONS
from explorer.model.configio import CONFIG_DIR, ConfigError, Field, check_table, list_ids, read_toml

SCENARIOS = (
    "fixed-batch",
    "mlperf-offline",
    "mlperf-server",
    "mlperf-interactive",
    "api-service",
    "vendor-demo",
)
METRICS = (
    "tokens_per_s_total",
    "tokens_per_s_per_user",
    "tokens_per_s_per_chip",
    "ttft_ms",
    "tpot_ms",
    "e2e_latency_ms",
)
_BASIS = ("stated", "derived", "assumed")

_POINT = {
    "id": Field(str),
    "vendor": Field(str),
    "chip": Field(str),
    "num_chips": Field(int, required=False, positive=True, sourced=False),
    "num_chips_basis": Field(str, required=False),
    # the mapping the source ran, when it says (else the benchmark picks the best one)
    "tp": Field(int, required=False, positive=True, sourced=False),
    "pp": Field(int, required=False, positive=True, sourced=False),
    "system": Field(str),
    "model": Field(str),
    "framework": Field(str),
    "stack": Field(str, required=False),
    "precision": Field(str, required=False, choices=PRECISIONS),
    "precision_basis": Field(str, required=False),
    "kv_precision": Field(str, required=False, choices=PRECISIONS),
    "scenario": Field(str, choices=SCENARIOS),
    "batch": Field(int, required=False, positive=True, sourced=False),
    "batch_basis": Field(str, required=False),
    "prefill_batch": Field((str, int), required=False, sourced=False),
    "input_tokens": Field(float, required=False, positive=True, sourced=False),
    "output_tokens": Field(float, required=False, positive=True, sourced=False),
    "lengths_basis": Field(str, required=False),
    "spec_decode": Field(bool),
    "spec_k": Field(int, required=False, minimum=0, sourced=False),
    "spec_accept": Field(float, required=False, minimum=0.0, sourced=False),
    "spec_basis": Field(str, required=False),
    "ttft_slo_ms": Field(float, required=False, positive=True, sourced=False),
    "tpot_slo_ms": Field(float, required=False, positive=True, sourced=False),
    "metric": Field(str, choices=METRICS),
    "value": Field(float, positive=True, sourced=False),
    "statistic": Field(str),
    "throughput_basis": Field(str, required=False, choices=("e2e", "decode")),
    "measured_by": Field(str, choices=("vendor", "vendor-audited", "third-party")),
    "confidence": Field(str, choices=("high", "medium", "low")),
    "date": Field(str),
    "source": Field(str),
    "notes": Field(str, required=False),
    # failed a physical sanity check or ambiguous at its source: kept, never fitted
    "suspect": Field(bool, required=False),
    # the publication, when the source string alone does not identify it (source_of)
    "source_group": Field(str, required=False),
    "modellable": Field(bool),
    "why_not": Field(str, required=False),
}


@dataclasses.dataclass(frozen=True)
class Point:
    """One published measurement (see the module docstring for the fields)."""

    id: str
    vendor: str
    chip: str
    scenario: str
    metric: str
    value: float
    model: str
    modellable: bool
    data: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def _check_point(table: dict[str, Any], where: str) -> Point:
    check_table(table, _POINT, where, need_sources=False)
    pid = table["id"]
    here = f"{where}: point '{pid}'"
    if not str(table["date"])[:4].isdigit():
        raise ConfigError(
            f"{here}: key 'date' must start with a year (YYYY...), got '{table['date']}'"
        )
    for key, value in table.items():
        if key.endswith("_basis") and key != "throughput_basis" and not value.startswith(_BASIS):
            raise ConfigError(f"{here}: key '{key}' must start with stated, derived or assumed")
    if table["modellable"]:
        for key in ("num_chips", "precision", "input_tokens", "output_tokens"):
            if key not in table:
                raise ConfigError(f"{here}: modellable point needs key '{key}'")
        if table["scenario"] in ("fixed-batch", "api-service", "vendor-demo") and (
            "batch" not in table
        ):
            raise ConfigError(f"{here}: modellable {table['scenario']} point needs key 'batch'")
        if table["scenario"] in ("mlperf-server", "mlperf-interactive") and not (
            "ttft_slo_ms" in table and "tpot_slo_ms" in table
        ):
            raise ConfigError(f"{here}: {table['scenario']} needs ttft_slo_ms and tpot_slo_ms")
        if table["spec_decode"] and not ("spec_k" in table and "spec_accept" in table):
            raise ConfigError(f"{here}: speculative point needs spec_k and spec_accept")
        if "tp" in table and table["tp"] * table.get("pp", 1) != table["num_chips"]:
            raise ConfigError(f"{here}: tp x pp must equal num_chips ({table['num_chips']})")
        if table["chip"] not in list_ids("chips"):
            raise ConfigError(f"{here}: unknown chip id '{table['chip']}'")
        if table["model"] not in list_ids("models"):
            raise ConfigError(f"{here}: unknown model id '{table['model']}'")
    elif "why_not" not in table:
        raise ConfigError(f"{here}: a point with modellable = false needs 'why_not'")
    return Point(
        id=pid,
        vendor=table["vendor"],
        chip=table["chip"],
        scenario=table["scenario"],
        metric=table["metric"],
        value=float(table["value"]),
        model=table["model"],
        modellable=table["modellable"],
        data=dict(table),
    )


# Software stack of a point: the first entry whose pattern occurs in its framework
# (case-insensitive); an MLPerf closed submission runs the submitter's tuned build of
# that framework, audited in the round, so it is a stack of its own ("<name>-mlperf");
# then the year of the point's date ("<name>[-mlperf]-<year>", see ``stack_of``).
# A point may set ``stack`` to override the rule.
_STACKS = (
    ("tensorrt-llm", "tensorrt-llm"),
    ("vllm", "vllm"),
    ("sglang", "sglang"),
    ("deepspeed", "deepspeed"),
    ("jetstream", "jetstream"),
    ("waferllm", "waferllm"),
    ("aviator", "aviator"),
    ("sambaflow", "sambaflow"),
    ("sambanova cloud", "sambanova-cloud"),
    ("cerebras inference", "cerebras-inference"),
    ("groq", "groqcloud"),
)
# "provider API" points: the provider's own serving stack
_PROVIDER_STACK = {
    "cerebras": "cerebras-inference",
    "groq": "groqcloud",
    "sambanova": "sambanova-cloud",
}


def stack_of(point: Point) -> str:
    """The point's software stack: its framework (see ``_STACKS``), "-mlperf" for an
    MLPerf submission's audited build, and the year of the point's date, e.g.
    "vllm-2024", "tensorrt-llm-mlperf-2025". A framework's efficiency changes from
    release to release; the year is the version every point states."""
    if point.get("stack"):
        return point.get("stack")
    framework = point.get("framework", "").lower()
    name = next((s for pattern, s in _STACKS if pattern in framework), None)
    if name is None:
        name = _PROVIDER_STACK.get(point.vendor, "unknown") if "api" in framework else "other"
    name = f"{name}-mlperf" if point.scenario.startswith("mlperf") else name
    return f"{name}-{point.get('date')[:4]}"


def source_of(point: Point) -> str:
    """The publication a point comes from, for leave-one-source-out validation: all
    points of one paper, repository or vendor post are held out together.

    ``source_group`` overrides. Otherwise the repository of a "github:owner/repo ..."
    source (an MLPerf results repository: also the submitter, closed/<Submitter>, since
    each submitter publishes its own results), or the host and path of a URL.
    """
    if point.get("source_group"):
        return point.get("source_group")
    text = point.get("source").split(" ; ")[0].strip()
    if text.startswith("github:"):
        repo = text.split("::")[0].split()[0]
        path = text.split("::")[1].strip() if "::" in text else ""
        if "inference_results" in repo and path.startswith(("closed/", "open/")):
            return f"{repo}/{path.split('/')[1]}"
        return repo
    url = text.split()[0].split("#")[0].split("?")[0]
    return url.removeprefix("https://").removeprefix("http://").rstrip("/")


def load_points(directory: Path | None = None) -> list[Point]:
    """Every reference point, in file then listing order; ids must be unique."""
    directory = directory or CONFIG_DIR / "references"
    points: list[Point] = []
    seen: set[str] = set()
    for path in sorted(Path(directory).glob("*.toml")):
        data = read_toml(path)
        if set(data) != {"point"} or not isinstance(data["point"], list):
            raise ConfigError(f"{path}: expected only [[point]] tables")
        for table in data["point"]:
            point = _check_point(table, str(path))
            if point.id in seen:
                raise ConfigError(f"{path}: duplicate point id '{point.id}'")
            seen.add(point.id)
            points.append(point)
    return points
