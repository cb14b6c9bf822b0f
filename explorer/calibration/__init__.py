"""Calibration: the published measurements, the fit of the efficiency knobs, the
calibration file, and the benchmark (cross-validation) with its report. Imports
explorer.model, explorer.design and explorer.search (operating points)."""
