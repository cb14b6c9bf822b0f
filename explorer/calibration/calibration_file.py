"""Writing configs/calibration.toml: fitted knobs per family and stack, with provenance.

The file is written atomically (a temporary file renamed into place), so a failed
run never leaves half a calibration on disk.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from explorer.calibration.fit import FIT_FIELDS, Case

# calibration knob -> efficiency.toml key (and the unit factor to config units)
_KEYS = {
    "eff_gemm": ("gemm", 1.0),
    "eff_attn": ("attention", 1.0),
    "eff_sram": ("sram_bw", 1.0),
    "eff_mem": ("mem_bw", 1.0),
    "eff_link": ("link_bw", 1.0),
    "layer_latency_s": ("layer_latency_us", 1e6),
    "step_latency_s": ("step_latency_us", 1e6),
    "mesh_hop_latency_s": ("mesh_hop_ns", 1e9),
    "eff_lowp": ("low_precision", 1.0),
}


def render(
    families: list[str],
    knobs: np.ndarray,
    cases: list[Case],
    used: np.ndarray,
    predicted: np.ndarray,
    cv_median_ape: float,
    cv: str = "leave-one-out",
    centres: dict[str, np.ndarray] | None = None,
) -> str:
    """The TOML text for knob sets named "family" or "family/stack".

    Each family's ``[family.X]`` table (what ``predict`` starts from) holds its centre: the
    knobs fitted over all its stacks at once, towards which each stack is shrunk
    (``centres``; a family without one takes its first stack's knobs). Under
    leave-one-source-out it predicts a new publication better than any one stack's
    knobs (docs/model.md 13). Every fitted stack also gets a ``[stack."family/stack"]``
    table (``predict --stack``).
    """
    centres = centres or {}
    today = datetime.date.today().isoformat()
    lines = [
        "# Fitted efficiency knobs per chip family and software stack (`explorer calibrate`).",
        "# Datasheet numbers are never fitted; [family.X] (the family's centre over all its",
        "# stacks), half-way to the stacks that measured the chip (explorer.model.stacks), is what",
        '# `predict` uses by default (`--stack S`: [stack."X/S"]; `--uncalibrated`:',
        "# configs/efficiency.toml).",
        f"# date: {today}; points used: {int(used.sum())}; "
        f"cross-validated ({cv}) median APE: {cv_median_ape:.1f}%",
        "",
    ]
    meas = np.array([c.measured for c in cases])
    fam_of = np.array([families[c.family].split("/")[0] for c in cases])
    set_of = np.array([c.family for c in cases])
    for fam in sorted({name.split("/")[0] for name in families}):
        sel = used & (fam_of == fam)
        if not sel.any():
            continue
        first = next(f for f, name in enumerate(families) if name.split("/")[0] == fam)
        stacks = sorted({families[k].partition("/")[2] for k in set_of[sel]})
        lines.append(f"[family.{fam}]")
        lines.append(f"stack = {json.dumps('centre of ' + ', '.join(stacks))}")
        lines += _knob_lines(centres.get(fam, knobs[first]), cases, sel, predicted, meas)
    for f, name in enumerate(families):
        sel = used & (set_of == f)
        if not sel.any() or "/" not in name:
            continue
        lines.append(f'[stack."{name}"]')
        lines += _knob_lines(knobs[f], cases, sel, predicted, meas)
    return "\n".join(lines)


def _knob_lines(knobs, cases, sel, predicted, meas) -> list[str]:
    """One table's knob lines, its points and their in-sample median APE."""
    lines = []
    for (field, _, _), value in zip(FIT_FIELDS, knobs, strict=True):
        key, scale = _KEYS[field]
        lines.append(f"{key} = {float(value) * scale:.6g}")
    ids = [c.point_id for c, s in zip(cases, sel, strict=True) if s]
    chips = collections.Counter(c.chip_id for c, s in zip(cases, sel, strict=True) if s)
    err = np.median(np.abs(predicted[sel] - meas[sel]) / meas[sel]) * 100
    lines.append(f"points = {json.dumps(ids)}")
    inline = ", ".join(f'"{k}" = {v}' for k, v in sorted(chips.items()))
    lines.append(f"chips = {{ {inline} }}")
    lines.append(f"train_median_ape = {err:.3f}")
    lines.append("")
    return lines


def write_atomic(path: Path, text: str) -> None:
    """Write text to path via a temporary file in the same folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibration-", suffix=".toml")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
