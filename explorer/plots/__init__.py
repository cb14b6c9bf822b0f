"""Figures (matplotlib, the house style): each returns a Figure; no model logic."""
