"""Calibration: fit efficiency factors and fixed latencies to published measurements.

Only the knobs in FIT_FIELDS are fitted (per chip family), never a datasheet number.
Each knob lives in a bounded interval and is optimised in logit space,

    knob = lo + (hi - lo) * sigmoid(u),

by minimising the mean squared log error of the model's predictions through the
model itself (smooth mode, Optax Adam), with a weak pull of u towards the
uncalibrated defaults so that knobs the data cannot see stay at their defaults:

    L(u) = sum_i w_i (log pred_i(u) - log meas_i)^2 / sum_i w_i + lam * |u - u0|^2

Knob sets may share a parent (a chip family whose points ran on several software
stacks): set s then has u_s = u_parent(s) + d_s, and the deviations are shrunk
towards the parent by a second penalty, mu * |d|^2, so a stack with few points
borrows strength from its family and one with none keeps the family's knobs.

Points are grouped by (model, precisions) so each group is one vmapped call; the
mask w selects training points, so folds of a cross-validation reuse one compiled
loss. Operating points (batch, mapping, replicas) are chosen by
:mod:`explorer.search.operating_points` with the current knobs, then held fixed while fitting.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from explorer.calibration.measurements import METRICS
from explorer.model.chip import Chip
from explorer.model.mapping import Mapping
from explorer.model.perf import Metrics, predict
from explorer.model.smooth import Mode
from explorer.model.workload import Model, Scenario

# (field, lo, hi): the fitted knobs and their physically sensible bounds.
FIT_FIELDS = (
    ("eff_gemm", 0.15, 0.95),
    ("eff_attn", 0.05, 0.9),
    ("eff_sram", 0.1, 0.95),
    ("eff_mem", 0.3, 0.95),
    ("eff_link", 0.1, 0.95),
    ("layer_latency_s", 0.0, 400e-6),  # up to eager-mode launches (~20 kernels x 20 us)
    ("step_latency_s", 0.0, 5e-3),
    # one router cycle (~1 ns) up to ~100 cycles of core work per step of a mesh wavefront
    ("mesh_hop_latency_s", 0.0, 100e-9),
    # >= 0.5: an 8-bit peak twice the 16-bit one is never slower than 16 bits
    ("eff_lowp", 0.5, 1.0),
)
N_KNOBS = len(FIT_FIELDS)
_LO = np.array([lo for _, lo, _ in FIT_FIELDS])
_HI = np.array([hi for _, _, hi in FIT_FIELDS])
METRIC_CODES = METRICS  # the order metric_value stacks its candidate values in
# Log error beyond which a point's pull on the knobs stops growing (~ a 20% miss).
ROBUST_DELTA = 0.2
FIT_MODE = Mode(smooth=True, sharpness=300.0)  # ties (e.g. pp = 1) overshoot by 2^(1/300) = 0.2%


def knobs_of(chip: Chip) -> np.ndarray:
    """The chip's current knob values (N_KNOBS,), in FIT_FIELDS order."""
    mem = np.asarray(chip.eff_mem)
    return np.array(
        [
            float(chip.eff_gemm),
            float(chip.eff_attn),
            mem[0],
            mem[1],
            float(chip.eff_link),
            float(chip.layer_latency_s),
            float(chip.step_latency_s),
            float(chip.mesh_hop_latency_s),
            float(chip.eff_lowp),
        ]
    )


def with_knobs(chip: Chip, k: jax.Array) -> Chip:
    """``chip`` with knobs ``k`` (FIT_FIELDS order) written into its fields."""
    return chip.replace(
        eff_gemm=k[0],
        eff_attn=k[1],
        eff_mem=jnp.stack([k[2], k[3], k[3]]),
        eff_link=k[4],
        layer_latency_s=k[5],
        step_latency_s=k[6],
        mesh_hop_latency_s=k[7],
        eff_lowp=k[8],
    )


def to_u(knobs: np.ndarray) -> np.ndarray:
    """Knobs -> logit space (clipped inside the bounds)."""
    frac = np.clip((knobs - _LO) / (_HI - _LO), 1e-4, 1 - 1e-4)
    return np.log(frac / (1 - frac))


def from_u(u: jax.Array) -> jax.Array:
    """Logit space -> knobs within their bounds."""
    return _LO + (_HI - _LO) * jax.nn.sigmoid(u)


def metric_value(
    m: Metrics,
    scenario: Scenario,
    code: jax.Array,
    replicas: jax.Array,
    e2e: jax.Array,
    loaded: jax.Array,
) -> jax.Array:
    """The value of the measured metric (in the point's unit) from Metrics.

    code indexes METRIC_CODES; replicas scales totals; e2e (0/1) selects the
    end-to-end throughput basis (output tokens over TTFT + decode) for per-user
    speeds. loaded (0/1): TPOT seen under continuous batching at steady load, where
    every decode step also carries the prefills of the requests that replace
    finished ones: (batch / prefill_batch x TTFT + output x TPOT) / output.
    """
    output = scenario.output_tokens
    prefill_s = scenario.batch / scenario.prefill_batch * m.ttft_s
    tpot_loaded = (prefill_s + output * m.tpot_s) / output
    tpot = jnp.where(loaded > 0, tpot_loaded, m.tpot_s)
    per_user_decode = 1.0 / tpot
    request_s = m.ttft_s + (output - 1.0) * m.tpot_s
    per_user_e2e = output / request_s
    per_replica_decode = m.tokens_per_s_per_replica
    total = replicas * per_replica_decode
    values = jnp.stack(
        [
            total,
            jnp.where(e2e > 0, per_user_e2e, per_user_decode),
            total / (replicas * m.n_chips),
            m.ttft_s * 1e3,
            tpot * 1e3,
            request_s * 1e3,
        ]
    )
    return jnp.take(values, code.astype(int), axis=0)


@dataclasses.dataclass(frozen=True)
class Case:
    """A modellable point at its chosen operating point, ready to evaluate."""

    point_id: str
    chip_id: str
    vendor: str
    family: int  # index into the knob sets of the fit (a family or a (family, stack))
    metric: str
    measured: float
    chip: Chip
    model: Model
    scenario: Scenario
    mapping: Mapping
    replicas: int
    e2e: bool
    loaded: bool


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class _Group:
    chip: Chip
    scenario: Scenario
    mapping: Mapping
    family: jax.Array
    code: jax.Array
    replicas: jax.Array
    e2e: jax.Array
    loaded: jax.Array
    log_meas: jax.Array
    index: jax.Array  # position of each case in the flat list


def _stack(items):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *items)


def build_groups(cases: list[Case]) -> tuple[list[Model], list[_Group]]:
    """Group cases by (model, precisions) and stack each group's arrays."""
    keys: dict[Any, list[int]] = {}
    for i, c in enumerate(cases):
        key = (
            c.model,
            c.scenario.weight_precision,
            c.scenario.act_precision,
            c.scenario.kv_precision,
        )
        keys.setdefault(key, []).append(i)
    models, groups = [], []
    for (model, *_), idx in keys.items():
        cs = [cases[i] for i in idx]
        groups.append(
            _Group(
                chip=_stack([c.chip for c in cs]),
                scenario=_stack([c.scenario for c in cs]),
                mapping=_stack([c.mapping for c in cs]),
                family=jnp.asarray([c.family for c in cs]),
                code=jnp.asarray([METRIC_CODES.index(c.metric) for c in cs]),
                replicas=jnp.asarray([float(c.replicas) for c in cs]),
                e2e=jnp.asarray([float(c.e2e) for c in cs]),
                loaded=jnp.asarray([float(c.loaded) for c in cs]),
                log_meas=jnp.log(jnp.asarray([c.measured for c in cs])),
                index=jnp.asarray(idx),
            )
        )
        models.append(model)
    return models, groups


def robust_loss(e: jax.Array, delta: float | None) -> jax.Array:
    """Pseudo-Huber loss of a log error e: delta^2 (sqrt(1 + (e / delta)^2) - 1).

    Quadratic (e^2 / 2, times 2 below to match e^2) for |e| << delta, linear beyond, so a
    point missed by a factor of 4 pulls the knobs with a bounded force instead of
    dominating the fit [Huber 1964; Charbonnier et al. 1994]. delta None: e^2.
    """
    if delta is None:
        return e**2
    return 2.0 * delta**2 * (jnp.sqrt(1.0 + (e / delta) ** 2) - 1.0)


def predict_groups(knobs: jax.Array, models, groups, n_cases: int, mode: Mode) -> jax.Array:
    """Predicted metric of every case (flat order), knobs: (n_families, N_KNOBS)."""
    out = jnp.zeros(n_cases)
    for model, g in zip(models, groups, strict=True):

        def one(chip, sc, mp, fam, code, rep, e2e, loaded, model=model):
            m = predict(with_knobs(chip, knobs[fam]), model, sc, mp, mode)
            return metric_value(m, sc, code, rep, e2e, loaded)

        pred = jax.vmap(one)(
            g.chip, g.scenario, g.mapping, g.family, g.code, g.replicas, g.e2e, g.loaded
        )
        out = out.at[g.index].set(pred)
    return out


@dataclasses.dataclass(frozen=True)
class FitResult:
    knobs: np.ndarray  # (n_sets, N_KNOBS)
    loss_history: np.ndarray
    steps: int
    parent_knobs: np.ndarray  # (n_parents, N_KNOBS): from_u(u_parent), deviations 0


def fit(
    cases: list[Case],
    n_families: int,
    knobs0: np.ndarray,
    masks: np.ndarray,
    steps: int = 400,
    learning_rate: float = 0.05,
    prior: float = 1e-3,
    optimizer: optax.GradientTransformation | None = None,
    parent: np.ndarray | None = None,
    shrink: float = 1e-3,
    delta: float | None = ROBUST_DELTA,
) -> list[FitResult]:
    """Fit knobs for each mask in ``masks`` (shape (n_fits, n_cases)); one compile.

    n_families: the number of knob sets (``Case.family`` indexes them).
    parent: (n_families,) index of each set's parent; None: every set is its own
    parent and has no deviation (one independent set of knobs each). With parents,

        knobs_s = from_u(u_p[parent_s] + d_s),
        L = data + prior * |u_p - u0|^2 + shrink * |d|^2,

    where data is the mean of robust_loss(log pred - log meas, delta) over the mask
    (delta None: the plain squared log error).

    knobs0: (n_parents, N_KNOBS) starting knobs (the uncalibrated defaults), also
    the centre of the prior. Returns one FitResult per mask.
    """
    models, groups = build_groups(cases)
    log_meas = jnp.log(jnp.asarray([c.measured for c in cases]))
    u0 = jnp.asarray(to_u(knobs0))
    free = 0.0 if parent is None else 1.0
    parent = jnp.arange(n_families) if parent is None else jnp.asarray(parent)
    d0 = jnp.zeros((n_families, N_KNOBS))
    opt = optimizer or optax.adam(learning_rate)

    def set_u(params):
        u, d = params
        return u[parent] + free * d

    def loss(params, mask):
        pred = predict_groups(from_u(set_u(params)), models, groups, len(cases), FIT_MODE)
        err = robust_loss(jnp.log(jnp.maximum(pred, 1e-30)) - log_meas, delta)
        data = jnp.sum(mask * err) / jnp.maximum(jnp.sum(mask), 1.0)
        u, d = params
        return data + prior * jnp.sum((u - u0) ** 2) + free * shrink * jnp.sum(d**2)

    def run(mask):
        def step(carry, _):
            params, state = carry
            value, grad = jax.value_and_grad(loss)(params, mask)
            updates, state = opt.update(grad, state, params)
            return (optax.apply_updates(params, updates), state), value

        params0 = (u0, d0)
        (params, _), history = jax.lax.scan(step, (params0, opt.init(params0)), None, length=steps)
        return from_u(set_u(params)), from_u(params[0]), history

    # All fits (folds, leave-one-chip-out, the full fit) run at once under vmap.
    knobs, centre, history = jax.jit(jax.vmap(run))(jnp.asarray(np.atleast_2d(masks), dtype=float))
    return [
        FitResult(np.asarray(k), np.asarray(h), steps, np.asarray(c))
        for k, c, h in zip(knobs, centre, history, strict=True)
    ]


def evaluate(cases: list[Case], knobs: np.ndarray, mode: Mode) -> np.ndarray:
    """Predictions of every case with the given knobs (n_families, N_KNOBS)."""
    models, groups = build_groups(cases)
    return np.asarray(predict_groups(jnp.asarray(knobs), models, groups, len(cases), mode))
