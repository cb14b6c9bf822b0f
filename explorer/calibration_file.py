"""Writing configs/calibration.toml: fitted knobs per family and stack, with provenance.

The file is written atomically (a temporary file renamed into place), so a failed
run never leaves half a calibration on disk.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from explorer.calibrate import FIT_FIELDS, Case

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


def _rank(count: int, name: str) -> tuple[int, str]:
    """A knob set's claim to be its family's main stack: points, then the stack's year."""
    return count, name.rsplit("-", 1)[-1]


def render(
    families: list[str],
    knobs: np.ndarray,
    cases: list[Case],
    used: np.ndarray,
    predicted: np.ndarray,
    cv_median_ape: float,
    cv: str = "leave-one-out",
) -> str:
    """The TOML text for knob sets named "family" or "family/stack".

    Each family's ``[family.X]`` table (what ``predict`` uses) holds the knobs of its
    stack with the most fitted points (the newest on a tie), and says which in
    ``stack``; every fitted set also gets a ``[stack."family/stack"]`` table.
    """
    today = datetime.date.today().isoformat()
    lines = [
        "# Fitted efficiency knobs per chip family and software stack (`explorer calibrate`).",
        "# Datasheet numbers are never fitted; [family.X] (the family's stack with the most",
        "# points) is what `predict` uses by default (`--uncalibrated`: configs/efficiency.toml).",
        f"# date: {today}; points used: {int(used.sum())}; "
        f"cross-validated ({cv}) median APE: {cv_median_ape:.1f}%",
        "",
    ]
    meas = np.array([c.measured for c in cases])
    counts = [
        int((used & np.array([c.family == f for c in cases])).sum()) for f in range(len(families))
    ]
    main: dict[str, int] = {}
    for f, name in enumerate(families):
        fam = name.split("/")[0]
        # on a tie, the later year (the newer build) wins
        if counts[f] and (
            fam not in main
            or _rank(counts[f], name) > _rank(counts[main[fam]], families[main[fam]])
        ):
            main[fam] = f
    for f, name in enumerate(families):
        sel = used & np.array([c.family == f for c in cases])
        if not sel.any():
            continue
        fam, _, stack = name.partition("/")
        heads = [f"[family.{fam}]"] if main[fam] == f else []
        heads += [f'[stack."{name}"]'] if stack else []
        for head in heads:
            lines.append(head)
            if head.startswith("[family") and stack:
                lines.append(f'stack = "{stack}"')
            for (field, _, _), value in zip(FIT_FIELDS, knobs[f], strict=True):
                key, scale = _KEYS[field]
                lines.append(f"{key} = {float(value) * scale:.6g}")
            ids = [c.point_id for c, s in zip(cases, sel, strict=True) if s]
            err = np.median(np.abs(predicted[sel] - meas[sel]) / meas[sel]) * 100
            lines.append(f"points = {json.dumps(ids)}")
            lines.append(f"train_median_ape = {err:.3f}")
            lines.append("")
    return "\n".join(lines)


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
