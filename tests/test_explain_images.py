"""Pixel attributions and activation maximisation on an image classifier whose cause is known:
the class is "on" when the top-left 4 x 4 square is bright, whatever the noise elsewhere."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from latentatlas.explain import IMAGE_METHODS, explain, explain_image
from latentatlas.explain.faithfulness import deletion_insertion, randomization, stability
from latentatlas.explain.maximize import maximize_image, total_variation
from latentatlas.models.image_classifier import ImageClassifier, ImageClassifierConfig

from .conftest import cli


def planted(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = 0.5 * torch.rand(n, 1, 12, 12, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    x[y == 1, :, :4, :4] = 1.0
    return x, y


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = ImageClassifier(ImageClassifierConfig((1, 12, 12), ["off", "on"], (8, 8, 16)))
    x, y = planted(512, 0)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(150):
        i = torch.randint(0, len(x), (64,))
        loss = m.loss(x[i], y[i])["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    tx, ty = planted(200, 1)
    with torch.no_grad():
        assert (m.logits(tx).argmax(1) == ty).float().mean() > 0.97
    return m


def on_image() -> torch.Tensor:
    x, y = planted(40, 2)
    return x[y == 1][0]


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_each_method_points_at_the_square(model, method):
    r = explain_image(model, on_image(), method, samples=500)
    assert r.tokens is None and r.scores.shape == (12, 12) and r.target == "on"
    top = r.top(4)  # flattened pixel indices
    inside = sum((i // 12) < 4 and (i % 12) < 4 for i in top)
    assert inside >= (3 if method == "saliency" else 4), (method, top)


def test_kernelshap_values_sum_to_the_gap_to_the_black_image(model):
    x = on_image()
    r = explain_image(model, x, "kernelshap", samples=300, patch=3)  # 16 squares: sampled
    assert r.params["samples"] <= 300
    with torch.no_grad():
        black = float(torch.softmax(model.logits(torch.zeros_like(x)[None]), -1)[0, 1])
    assert r.params["base"] == pytest.approx(black, abs=1e-6)
    assert r.features().sum() == pytest.approx(r.probability - black, abs=1e-4)


def test_integrated_gradients_is_complete(model):
    x = on_image()
    r = explain_image(model, x, "ig", steps=200)
    with torch.no_grad():
        gap = float(model.logits(x[None])[0, 1] - model.logits(torch.zeros_like(x)[None])[0, 1])
    # completeness: the attributions add up to f(x) - f(baseline)
    assert r.scores.sum() == pytest.approx(gap, rel=0.05)


def test_faithfulness_checks_on_pixels(model):
    x = on_image()
    good = explain_image(model, x, "occlusion")
    flipped = type(good)(None, -good.scores, good.target, good.prediction, good.probability,
                         good.method, good.params)
    a, b = deletion_insertion(model, x, good), deletion_insertion(model, x, flipped)
    assert len(a["deletion_curve"]) == 29
    assert a["deletion_curve"][-1] == b["deletion_curve"][-1]  # all black either way
    assert a["deletion_auc"] < b["deletion_auc"] and a["insertion_auc"] > b["insertion_auc"]
    assert randomization(model, x, "gradxinput")["spearman_vs_randomized_model"] < 0.9
    assert stability(model, x, "ig", runs=2)["mean_spearman"] == 1.0
    s = stability(model, x, "lime", runs=3, samples=400)  # features: the 9 squares of 4 x 4
    assert 0.0 < s["mean_spearman"] <= 1.0
    assert explain(model, x, "lime", samples=300, seed=4).scores.tolist() == \
        explain(model, x, "lime", samples=300, seed=4).scores.tolist()


def test_wrong_image_shape_is_a_user_error(model):
    from latentatlas.errors import UserError

    with pytest.raises(UserError, match="this model takes 1x12x12"):
        explain_image(model, torch.zeros(1, 10, 12), "ig")


def test_maximize_image_raises_the_class_and_smooths(model):
    r = maximize_image(model, "on", steps=120, tv=0.5, l2=0.5)
    assert r.probability > 0.99 and r.value > r.start_value
    assert r.image.shape == (1, 12, 12) and 0 <= float(r.image.min()) <= float(r.image.max()) <= 1
    assert float(r.image[0, :4, :4].mean()) > float(r.image[0, 4:, 4:].mean())  # the square
    rough = maximize_image(model, "on", steps=120, tv=0.0, l2=0.0)
    assert float(total_variation(r.image)) < float(total_variation(rough.image))
    neuron = maximize_image(model, neuron="conv2:3", steps=60, tv=0.1, l2=0.0)
    assert neuron.value > neuron.start_value and neuron.probability is None


def test_image_classifier_cli(idx_dir, tmp_path):
    run = tmp_path / "clf"
    p = cli("train", "--model", "image-classifier", "--data", "fashion-mnist", "--data-dir",
            str(idx_dir), "--hidden", "4,4,8", "--epochs", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    assert json.loads((run / "config.json").read_text())["kind"] == "image-classifier"
    ev = cli("eval", str(run), "--data-dir", str(idx_dir), "--json")
    assert ev.returncode == 0, ev.stderr
    assert 0 <= json.loads(ev.stdout)["accuracy"] <= 1
    out = tmp_path / "e.png"
    e = cli("explain", str(run), "--index", "3", "--method", "all", "--samples", "200",
            "--data-dir", str(idx_dir), "--evaluate", "--out", str(out), "--json")
    assert e.returncode == 0, e.stderr
    result = json.loads(e.stdout)
    assert [x["method"] for x in result["explanations"]] == list(IMAGE_METHODS)
    from latentatlas.data import load_dataset

    fm = load_dataset("fashion-mnist", data_dir=idx_dir)
    assert result["label"] == fm.classes[int(fm.test_y[3])]  # the true label is shown
    assert np.array(result["explanations"][2]["scores"]).shape == (28, 28)
    with Image.open(out) as im:
        assert im.width >= 4.3 * im.height > 0  # 6 panels of 3 in, 3.9 in tall: 5 would fail
    sp = cli("explain", str(run), "--index", "3", "--method", "lime", "--segments",
             "superpixels", "--n-segments", "30", "--samples", "200", "--data-dir", str(idx_dir),
             "--json")
    assert sp.returncode == 0, sp.stderr
    assert json.loads(sp.stdout)["explanations"][0]["params"]["segments"] == "superpixels"
    am = tmp_path / "am.png"
    m = cli("maximize", str(run), "--class", "Sneaker", "--steps", "20", "--out", str(am),
            "--json")
    assert m.returncode == 0, m.stderr
    assert json.loads(m.stdout)["objective"] == "class Sneaker" and am.is_file()
    for name in ("ankle_BOOT", "Ankle  boot"):  # one rule for class names everywhere
        m = cli("maximize", str(run), "--class", name, "--steps", "2", "--json")
        assert json.loads(m.stdout)["objective"] == "class Ankle boot", m.stderr
    e = cli("explain", str(run), "--index", "3", "--method", "saliency", "--target",
            "ankle_boot", "--data-dir", str(idx_dir), "--json")
    assert json.loads(e.stdout)["explanations"][0]["target"] == "Ankle boot", e.stderr
    big = tmp_path / "big.png"
    Image.new("L", (32, 32)).save(big)
    for cmd, message in [
        (("explain", "--image", str(big)), "is 32x32 pixels; this model takes 28x28"),
        (("explain", "--text", "hi"), "give an --index or an --image"),
        (("explain", "--index", "999"), "out of range"),
        (("explain", "--index", "1", "--target", "Hat"), "unknown class 'Hat'"),
        (("explain", "--index", "1", "--out", str(tmp_path / "e.html")), ".png"),
        (("explain", "--index", "1", "--method", "lime", "--segments", "superpixels",
          "--n-segments", "1"), "--n-segments must be between 2"),
        (("maximize", "--class", "Hat"), "unknown class 'Hat'"),
        (("maximize", "--neuron", "conv7:1"), "LAYER:INDEX"),
        (("maximize", "--neuron", "dense:8"), "dense has 8 units"),
        (("sample", "--out", str(tmp_path / "s.png")), "generates nothing"),
        (("knobs",), "has no latent space"),
    ]:
        bad = cli(cmd[0], str(run), *cmd[1:], "--data-dir", str(idx_dir)) \
            if cmd[0] == "explain" else cli(cmd[0], str(run), *cmd[1:])
        assert bad.returncode == 2 and message in bad.stderr, (cmd, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "e.html").exists() and not (tmp_path / "s.png").exists()


def test_superpixels_follow_the_image(model):
    from latentatlas.explain.images import superpixels

    x = on_image()
    seg = superpixels(x, 9)
    assert seg.shape == (12, 12) and np.array_equal(seg, superpixels(x, 9))  # deterministic
    assert seg[0, 0] == 0 and 6 <= seg.max() + 1 <= 12  # numbered in reading order, ~9 of them
    square = seg[:4, :4]
    # the bright square is (mostly) one superpixel of its own
    main = np.bincount(square.ravel()).argmax()
    assert (square == main).mean() >= 0.75 and (seg[4:, 4:] != main).all()
    r = explain_image(model, x, "lime", segments="superpixels", n_segments=9, samples=400)
    assert r.params["segments"] == "superpixels" and len(r.features()) == seg.max() + 1
    top = r.top(1)[0]
    assert top // 12 < 4 and top % 12 < 4
