"""Mappings: candidates split whole attention heads; checks name the bad field."""

import pytest

import explorer as ex
from explorer.model.mapping import candidate_mappings


@pytest.mark.parametrize("model_id", ["llama-3.1-70b", "llama-3.1-8b", "mixtral-8x7b"])
@pytest.mark.parametrize("chips", [8, 18, 24, 576])
def test_candidates_split_whole_heads(model_id, chips):
    """Every candidate tp divides the model's attention heads (tp 18 for 64 heads is
    never offered) and tp x pp = chips."""
    model = ex.load_model(model_id)
    cands = candidate_mappings(model, chips)
    assert cands
    for tp, pp, _ in cands:
        assert model.n_heads % tp == 0 and tp * pp == chips


def test_no_whole_head_split_falls_back():
    """568 chips cannot hold Mixtral (32 heads, 32 layers) with whole heads (tp <= 8
    needs pp >= 71 > 32 layers): the other splits are offered, as a dataflow compiler
    would lay it out."""
    model = ex.load_model("mixtral-8x7b")
    cands = candidate_mappings(model, 568)
    assert cands and all(model.n_heads % tp for tp, _, _ in cands)
