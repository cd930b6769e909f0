from latentatlas.data import cell_world as cells
from latentatlas.translate.toy import agreement, learn_direction, learning_curve, rule_identifier

from .conftest import cli


def test_the_pair_bounces_and_red_wraps():
    assert cells.step((7, 9, 1)) == (8, 0, 1)
    assert cells.step((8, 0, 1)) == (7, 1, -1)  # turns at the right end, then moves
    assert cells.step((0, 3, -1)) == (1, 4, 1)
    s = (3, 5, 1)
    for _ in range(80):  # lcm of the blue period 16 and the red period 10
        s = cells.step(s)
    assert s == (3, 5, 1)


def test_local_states_encode_every_state_uniquely():
    states = cells.all_states()
    assert len(states) == 180
    locals_ = {cells.to_local(s) for s in states}
    assert len(locals_) == 180
    assert cells.to_local((4, 2, 1)) == (0, 0, 1, 0, 4, 4, 0, 0, 0, 0)  # the notes' example
    assert cells.to_local((2, 3, -1)) == (0, 0, 2, 3, 0, 0, 0, 0, 0, 0)


def test_direction_identifier_is_exact_in_the_complete_data_limit():
    curve = learning_curve("tree", max_examples=2048)
    assert curve["complete_data"] == 1.0
    assert curve["curve"][-1]["agreement"] == 1.0 and curve["exact_from"] is not None
    assert agreement(rule_identifier) == 1.0
    assert agreement(learn_direction(16)) < 1.0  # a few examples are not enough


def test_cli_toy_cells_json():
    import json

    p = cli("toy", "cells", "--learner", "linear", "--max-examples", "1024", "--json")
    r = json.loads(p.stdout)
    assert r["states"] == 180 and r["complete_data"] == 1.0 and len(r["sequence"]) == 12
