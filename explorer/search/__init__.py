"""Searches over the model: the constrained solver, chip design search and its Pareto
front, the reference chips a design is compared with, mapping choice, operating points
(batch x mapping under SLOs) and sweeps. Imports explorer.model and explorer.design."""
