"""Tests run in float64 so gradients can be checked against finite differences."""

import jax

jax.config.update("jax_enable_x64", True)
