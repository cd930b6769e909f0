import math

import numpy as np
import pytest
import torch

from latentatlas.atlas import encode
from latentatlas.concepts import (
    Concept,
    LinearProbe,
    MeanDifference,
    PairedEdits,
    PropertyRegression,
    apply_edit,
    load_concepts,
    measure,
    measure_effect,
    parse_alphas,
    save_concept,
)
from latentatlas.concepts.groups import select
from latentatlas.data import load_dataset
from latentatlas.errors import UserError
from latentatlas.models import ImageModelConfig, ImageVAE
from latentatlas.train import TrainConfig, train


@pytest.fixture(scope="module")
def shapes():
    return load_dataset("shapes", n_train=6000, n_test=500)


def test_identifiers_measure_the_shapes_factors(shapes):
    x, f = shapes.test_x, shapes.test_factors
    m = measure(x)
    assert torch.equal(m["height"], f["height"].float())
    assert torch.equal(m["width"], f["width"].float())
    assert torch.allclose(m["brightness"], f["brightness"].float() / 255, atol=1e-6)
    rect = f["kind"] == 1
    area = (f["height"] * f["width"])[rect].float()
    assert torch.allclose(m["mass"][rect], area * f["brightness"][rect] / 255, rtol=1e-5)
    assert torch.allclose(m["cx"][rect], (f["x"] + (f["width"] - 1) / 2)[rect].float(), atol=1e-4)


def test_taller_edit_adds_rows_at_the_top_and_keeps_the_sole(shapes):
    f = shapes.test_factors
    room = (f["y"] - f["height"] + 1) >= 2  # the box can grow two rows before the image edge
    x = shapes.test_x[room][:200]
    edited = apply_edit(x, "taller:2")
    before, after = measure(x), measure(edited)
    assert torch.equal(after["height"], before["height"] + 2)
    assert torch.equal(after["width"], before["width"])
    bottom = lambda im: 27 - (im[:, 0] > 0.2).any(2).flip(1).float().argmax(1)  # noqa: E731
    assert torch.equal(bottom(edited), bottom(x))


def test_brighter_edit(shapes):
    x = shapes.test_x[:100]
    after = measure(apply_edit(x, "brighter:40"))["brightness"]
    expected = (shapes.test_factors["brightness"][:100].float() + 40).clamp(max=255) / 255
    assert torch.allclose(after, expected, atol=1e-5)


def test_bad_edits():
    with pytest.raises(UserError, match="unknown edit"):
        apply_edit(torch.zeros(1, 1, 8, 8), "rotate:2")
    with pytest.raises(UserError, match="at least 1"):
        apply_edit(torch.zeros(1, 1, 8, 8), "taller:0")


def test_finders_recover_a_planted_direction():
    torch.manual_seed(0)
    d = torch.tensor([0.6, -0.8, 0.0, 0.0])
    base = torch.randn(400, 4)
    pos, neg = base[:200] + 1.5 * d, base[200:] - 1.5 * d
    md = MeanDifference().fit(pos, neg)
    assert float(md.direction_ @ d) > 0.95
    probe = LinearProbe().fit(pos, neg)
    assert float(probe.direction_ @ d) > 0.95 and probe.auc_ > 0.95
    edits = PairedEdits().fit(base, base + 0.3 * d)
    assert torch.allclose(edits.direction_, d, atol=1e-5) and edits.consistency_ > 0.999
    reg = PropertyRegression().fit(base, base @ d * 2.0 + 0.01 * torch.randn(400))
    assert float(reg.direction_ @ d) > 0.99 and reg.r2_ > 0.99
    c = probe.to_concept("planted", pos="x")
    assert c.method == "probe" and "auc" in c.scores and c.params == {"pos": "x"}


def test_finder_bad_input():
    with pytest.raises(UserError, match="at least 2 items"):
        MeanDifference().fit(torch.randn(1, 3), torch.randn(5, 3))
    same = torch.randn(5, 3)
    with pytest.raises(UserError, match="zero vector"):
        MeanDifference().fit(same, same.clone())


def test_selectors(shapes):
    tall = select("height>17", shapes)
    assert len(tall) > 0 and bool((shapes.train_factors["height"][tall] > 17).all())
    both = select("label=rectangle&height<=9", shapes)
    f = shapes.train_factors
    assert bool(((f["kind"][both] == 1) & (f["height"][both] <= 9)).all())
    bright = select("brightness>q0.9", shapes, n=50, seed=1)
    assert len(bright) == 50
    assert torch.equal(select("idx=3,1", shapes), torch.tensor([1, 3]))
    assert len(select(None, shapes, exclude=torch.tensor([0, 1]))) == len(shapes.train_x) - 2
    for bad, msg in [("label=Hat", "unknown label"), ("colour>3", "unknown factor"),
                     ("height~3", "cannot read selector"), ("idx=99999", "out of range")]:
        with pytest.raises(UserError, match=msg):
            select(bad, shapes)


def test_concepts_json_round_trip(tmp_path):
    c = Concept("up", torch.tensor([1.0, 0.0]), "groups", {"pos": "a"}, {"norm": 2.0})
    save_concept(tmp_path, c)
    save_concept(tmp_path, Concept("down", torch.tensor([0.0, -1.0]), "edit"))
    loaded = load_concepts(tmp_path)
    assert list(loaded) == ["up", "down"] and torch.equal(loaded["up"].vector, c.vector)
    assert loaded["up"].params == {"pos": "a"} and loaded["up"].scores == {"norm": 2.0}


def test_alphas():
    assert parse_alphas("-3:3:7").tolist() == [-3, -2, -1, 0, 1, 2, 3]
    assert parse_alphas("-1,0,2").tolist() == [-1, 0, 2]
    with pytest.raises(UserError):
        parse_alphas("1")


@pytest.fixture(scope="module")
def shapes_model(shapes, tmp_path_factory):
    """A small VAE trained on shapes: the ground-truth bench for the concept methods."""
    torch.manual_seed(0)
    cfg = ImageModelConfig(hidden=(256,), latent_dim=8)
    model = ImageVAE(cfg)
    train(model, shapes.train_x, shapes.test_x, tmp_path_factory.mktemp("shapes") / "run",
          TrainConfig(epochs=8, batch_size=64, lr=2e-3, quiet=True),
          {"kind": "vae", "model": cfg.to_dict(), "data": {"name": "shapes"}})
    return model.eval()


def test_height_concept_from_20_plus_20_moves_height(shapes, shapes_model):
    codes = encode(shapes_model, shapes.train_x).mu
    pos = select("height>=17", shapes, n=20, seed=0)
    neg = select("height<=11", shapes, n=20, seed=1)
    concept = MeanDifference().fit(codes[pos], codes[neg])
    starts = encode(shapes_model, shapes.test_x[:64]).mu
    with torch.no_grad():
        reference = shapes_model.decode(encode(shapes_model, shapes.test_x).mu)
    effect = measure_effect(shapes_model, starts, concept.direction_, parse_alphas("-1:1:5"),
                            reference)
    assert effect.mean_slope["height"] > 0.5  # pixels of height per unit of alpha
    assert effect.standardised()["height"] > effect.standardised()["brightness"]


def test_edit_direction_agrees_with_the_groups_direction(shapes, shapes_model):
    codes = encode(shapes_model, shapes.train_x).mu
    groups = MeanDifference().fit(codes[select("height>=17", shapes, n=200)],
                                  codes[select("height<=11", shapes, n=200)])
    x = shapes.train_x[select("height<=16", shapes, n=300)]
    edit = PairedEdits().fit(encode(shapes_model, x).mu,
                             encode(shapes_model, apply_edit(x, "taller:2")).mu)
    cosine = float(groups.direction_ @ edit.direction_)
    assert cosine > 0.5, cosine
    assert math.isfinite(edit.consistency_) and edit.consistency_ > 0


def test_disentangling_removes_a_planted_brightness_leak(shapes, shapes_model):
    """A height concept learnt from confounded groups (tall shapes that are also bright) leaks
    into brightness; projecting out brightness's identifier normal (and LEACE) lowers that
    leakage while keeping most of the height effect."""
    from latentatlas.concepts.disentangle import disentangle

    codes = encode(shapes_model, shapes.train_x).mu
    pos = select("height>=16&brightness>=200", shapes, n=40)
    neg = select("height<=12&brightness<=140", shapes, n=40, seed=1)
    confounded = MeanDifference().fit(codes[pos], codes[neg]).direction_
    bright = measure(shapes.train_x, ["brightness"])["brightness"]
    b_dir = MeanDifference().fit(codes[select("brightness>=200", shapes, n=200)],
                                 codes[select("brightness<=140", shapes, n=200)]).direction_
    starts = encode(shapes_model, shapes.test_x[:64]).mu
    with torch.no_grad():
        reference = shapes_model.decode(encode(shapes_model, shapes.test_x).mu)
    alphas = parse_alphas("-1:1:5")

    def leak_and_height(v):
        effect = measure_effect(shapes_model, starts, v, alphas, reference)
        return effect.leakage("height")["brightness"], effect.standardised()["height"]

    leak0, height0 = leak_and_height(confounded)
    assert leak0 > 0.3, leak0  # the confound is really there
    variants = disentangle(confounded, b_dir, codes, bright)
    for method in ("normal-projection", "leace"):
        leak, height = leak_and_height(variants[method])
        assert leak < leak0 / 2, (method, leak, leak0)
        assert height > 0.5 * height0, (method, height, height0)


def test_trained_identifiers(shapes, shapes_model):
    from latentatlas.concepts.identifiers import PixelClassifier, ProbeIdentifier

    codes = encode(shapes_model, shapes.train_x).mu
    rect, ell = select("label=rectangle", shapes, n=300), select("label=ellipse", shapes, n=300)
    probe = LinearProbe().fit(codes[rect], codes[ell]).to_concept("rect")
    identify = ProbeIdentifier(shapes_model, probe)
    test_rect = shapes.test_x[shapes.test_y == 1][:50]
    test_ell = shapes.test_x[shapes.test_y == 0][:50]
    assert float(identify(test_rect).mean()) > float(identify(test_ell).mean())
    with pytest.raises(UserError, match="not by a probe"):
        ProbeIdentifier(shapes_model, MeanDifference().fit(codes[rect], codes[ell])
                        .to_concept("m"))
    clf = PixelClassifier(label=1).fit(shapes.train_x, shapes.train_y)
    assert clf.auc_ > 0.65  # linear in pixels, with positions varying: weak but real
    assert float(clf(test_rect).mean()) > float(clf(test_ell).mean())
    # a traversal measures trained identifiers beside the built-in ones
    starts = encode(shapes_model, test_ell[:16]).mu
    with torch.no_grad():
        reference = shapes_model.decode(encode(shapes_model, shapes.test_x[:200]).mu)
    effect = measure_effect(shapes_model, starts, probe.vector, parse_alphas("-1:1:3"),
                            reference, extra={"probe:rect": identify, "pixels:rect": clf})
    assert effect.mean_slope["probe:rect"] > 0 and "pixels:rect" in effect.sd


def test_concept_names_follow_one_rule_and_two_writers_lose_neither(tmp_path):
    """The same name rule for the CLI, the API and the explorer; concurrent saves (threads
    here, processes too: an flock) keep every concept."""
    import threading

    from latentatlas.concepts.store import check_name

    for bad in ("", "a b", "<script>", "x" * 101, "ünï"):
        with pytest.raises(UserError, match="concept name"):
            check_name(bad)
    assert check_name("__proto__") == "__proto__"
    (tmp_path / "run").mkdir()
    names = [f"c{i}" for i in range(16)]
    threads = [threading.Thread(target=save_concept, args=(
        tmp_path / "run", Concept(n, torch.ones(3) / 3 ** 0.5, "groups"))) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(load_concepts(tmp_path / "run")) == sorted(names)
    with pytest.raises(UserError, match="concept name"):
        save_concept(tmp_path / "run", Concept("a b", torch.ones(3), "groups"))


def test_a_concept_name_in_use_is_replaced_only_when_asked(tmp_path, tiny_run):
    import shutil

    from .conftest import assert_one_error, cli

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    args = ("concept", str(run), "wide", "--from", "groups", "--pos", "height>18", "--neg",
            "height<10")
    assert cli(*args).returncode == 0
    first = load_concepts(run)["wide"].vector
    assert_one_error(cli(*args[:-1], "height<14"), "already has a concept 'wide'", "--force")
    assert torch.equal(load_concepts(run)["wide"].vector, first)
    assert cli(*args[:-1], "height<14", "--force").returncode == 0
    assert not torch.equal(load_concepts(run)["wide"].vector, first)
    with pytest.raises(UserError, match="already has"):
        save_concept(run, Concept("wide", torch.ones(3) / 3 ** 0.5, "groups"))


def test_titles_and_labels_with_dollars_draw(tmp_path):
    from latentatlas.plotting import save_code_map, save_heatmap

    save_heatmap([[1.0]], ["$x"], ["cost $5"], tmp_path / "h.png", title="a $ b")
    save_code_map(np.zeros((4, 2)), tmp_path / "m.png", torch.tensor([0, 0, 1, 1]),
                  ["$a", "b$"], title="$run")
    assert (tmp_path / "h.png").stat().st_size > 0 and (tmp_path / "m.png").stat().st_size > 0


def test_a_selector_on_one_identifier_implies_the_target():
    from latentatlas.concepts.groups import implied_target

    assert implied_target("height>18") == "height"
    assert implied_target("brightness>q0.8 & label=boot") == "brightness"
    assert implied_target("height>18&width<9") is None  # two: ambiguous
    assert implied_target("label=Sneaker") is None and implied_target(None) is None
