"""Tests run in float64 so gradients can be checked against finite differences.

Shared fixtures live here. Constants a test module needs at collection time (for
``parametrize``) stay in that module.
"""

import jax
import pytest

jax.config.update("jax_enable_x64", True)  # before explorer is imported anywhere


@pytest.fixture(scope="session")
def tech():
    """The technology constants of configs/cost.toml (explorer.design.tech.Tech)."""
    from explorer.design.tech import load_tech

    return load_tech()
