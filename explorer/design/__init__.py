"""Hypothetical chips: design variables, technology constants, area and power,
constraints, the Chip a design makes, cost and TCO, design files and reference designs
(with their validation). Imports only explorer.model."""
