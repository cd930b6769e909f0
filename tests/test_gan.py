"""GANs as model kinds (two optimizers in the one trainer, exact resume, per-class sampling)
and the untrained generator networks of the lecture's opening."""

import json

import pytest
import torch
import torch.nn as nn

import latentatlas
from latentatlas.data import load_dataset
from latentatlas.errors import OptionError
from latentatlas.models.gan import GAN, GANConfig, dcgan_plan
from latentatlas.models.random_net import (
    concentration,
    push_points,
    random_conv_generator,
    random_images,
    random_mlp,
)

from .conftest import assert_one_error, cli

SMALL = {"n_train": 192, "n_test": 64, "batch_size": 64, "latent_dim": 8}


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("arch,extra", [("mlp", {"hidden": (32, 64)}),
                                        ("conv", {"hidden": (8,), "condition": "label",
                                                  "gan_loss": "hinge"})])
def test_a_gan_trains_both_players_and_resumes_exactly(tmp_path, arch, extra):
    straight = latentatlas.fit("gan", "shapes", tmp_path / "a", arch=arch, epochs=2, **SMALL,
                               **extra)
    latentatlas.fit("gan", "shapes", tmp_path / "b", arch=arch, epochs=1, **SMALL, **extra)
    resumed = latentatlas.fit(out=tmp_path / "b", resume=True, epochs=2)
    a, b = _weights(straight.model), _weights(resumed.model)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    history = straight.metrics
    assert [r["epoch"] for r in history] == [1, 2]
    for r in history:
        for key in ("train_critic", "train_generator", "train_encoder", "test_real_prob",
                    "test_fake_prob"):
            assert torch.isfinite(torch.tensor(r[key])), key
    # both players moved: the GAN fit started from (seed 0) differs from the trained one in each
    torch.manual_seed(0)
    fresh = GAN(GANConfig(**straight.config["model"]))
    started = latentatlas.fit("gan", "shapes", tmp_path / "c", arch=arch, epochs=1, **SMALL,
                              **extra, lr=1e-30).model  # (steps this small change ~nothing)
    assert all(torch.allclose(p, q, rtol=0, atol=1e-20)
               for p, q in zip(fresh.parameters(), started.parameters(), strict=True))
    moved = {name: any(not torch.equal(p, q) for p, q in zip(
        getattr(fresh, name).parameters(), getattr(straight.model, name).parameters(),
        strict=True)) for name in ("generator", "critic", "encoder")}
    assert moved == {"generator": True, "critic": True, "encoder": True}
    # the checkpoint keeps one Adam per player
    from safetensors import safe_open
    with safe_open(str(tmp_path / "a" / "checkpoint" / "state.safetensors"), "pt") as f:
        prefixes = {k.split(".")[0] for k in f.keys() if k.startswith("optim")}
    assert prefixes == {"optim-critic", "optim-generator", "optim-encoder"}


def test_the_critic_learns_to_tell_real_from_made():
    torch.manual_seed(0)
    data = load_dataset("shapes", n_train=512, n_test=64)
    model = GAN(GANConfig(arch="mlp", z_dim=8, hidden=(64, 128)))
    opt = torch.optim.Adam(model.critic.parameters(), lr=1e-3)

    def critic_only(name, loss):  # train the critic alone: it must win
        if name == "critic":
            opt.zero_grad()
            loss.backward()
            opt.step()
    for _ in range(60):
        model.train_step((data.train_x[torch.randint(512, (64,))],), critic_only)
    model.eval()
    terms = model(data.test_x)
    assert terms["real_prob"] > 0.9 and terms["fake_prob"] < 0.1


def test_dcgan_layers_follow_the_pytorch_example_at_64_pixels():
    assert dcgan_plan((1, 28, 28)) == (7, 2)
    assert dcgan_plan((3, 32, 32)) == (4, 3)
    assert dcgan_plan((3, 64, 64)) == (4, 4)
    with pytest.raises(OptionError, match="cannot make"):
        dcgan_plan((1, 30, 30))
    g = GAN(GANConfig(arch="conv", image_shape=(3, 64, 64), z_dim=100, width=64))
    convs = [m for m in g.generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.stride[0]) for m in convs] == [
        (100, 512, 1), (512, 256, 2), (256, 128, 2), (128, 64, 2), (64, 3, 2)]
    convs = [m for m in g.critic.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (3, 64), (64, 128), (128, 256), (256, 512), (512, 1)]
    images = g.decode(g.prior(5))
    assert images.shape == (5, 3, 64, 64) and 0 <= images.min() and images.max() <= 1


def test_a_conditional_gan_codes_end_in_the_class():
    g = GAN(GANConfig(arch="mlp", z_dim=4, hidden=(16,), classes=["a", "b", "c"]))
    assert g.latent_dim == 7
    codes = g.prior(6, labels=torch.tensor([0, 1, 2, 2, 1, 0]))
    assert torch.equal(codes[:, 4:].argmax(1), torch.tensor([0, 1, 2, 2, 1, 0]))
    assert torch.equal(codes[:, 4:].sum(1), torch.ones(6))


def test_gan_cli_trains_samples_per_class_and_refuses_bad_options(tmp_path):
    run = tmp_path / "cgan"
    p = cli("train", "--model", "gan", "--arch", "conv", "--hidden", "8", "--condition",
            "label", "--data", "shapes", "--n-train", "128", "--n-test", "32", "--epochs", "1",
            "--latent-dim", "4", "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    assert "D(real)" in p.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["lr"] == 2e-4  # a GAN's learning rate unless given
    assert config["model"]["classes"] == load_dataset(
        "shapes", n_train=8, n_test=8).classes
    out = tmp_path / "per-class.png"
    p = cli("sample", str(run), "--per-class", "-n", "3", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["samples"] == 3 * len(config["model"]["classes"])
    assert out.stat().st_size > 0
    assert_one_error(cli("sample", str(run), "--class", "nope", "--out", str(out)),
                     "unknown class")
    assert_one_error(cli("train", "--model", "gan", "--condition", "brightness", "--data",
                         "shapes", "--out", str(tmp_path / "x")), "conditioned on the class")
    assert_one_error(cli("train", "--model", "vae", "--gan-loss", "hinge", "--data", "shapes",
                         "--out", str(tmp_path / "y")), "gan")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_an_untrained_relu_net_puts_gaussian_points_on_strands():
    z, x = push_points(random_mlp(seed=0), 20_000, seed=0)
    assert z.shape == x.shape == (20_000, 2)
    assert concentration(z) < 0.25  # a Gaussian fills its box
    assert concentration(x) > 0.35  # the lecture's strands and sheets
    # the same seed, the same network and points
    assert torch.equal(push_points(random_mlp(seed=0), 100, seed=1)[1],
                       push_points(random_mlp(seed=0), 100, seed=1)[1])


def test_an_untrained_conv_generator_makes_differing_images(tmp_path):
    for deconv in (False, True):
        images = random_images(random_conv_generator(deconv=deconv, seed=0), 16)
        assert images.shape == (16, 1, 28, 28)
        assert images.std(0).mean() > 0.1  # the codes matter
    out = tmp_path / "net.png"
    p = cli("toy", "random-net", "--points", "5000", "--depth", "6", "--out", str(out),
            "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["settings"]["depth"] == 6 and r["concentration"] > r["input_concentration"]
    assert out.stat().st_size > 0
    assert_one_error(cli("toy", "random-conv"), "--out is required")
    assert_one_error(cli("toy", "random-conv", "--image-size", "30", "--out",
                         str(tmp_path / "c.png")), "multiple of 4")


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """A small MLP GAN on shapes, with its encoder: a GAN run the latent tools read."""
    out = tmp_path_factory.mktemp("gan") / "gan"
    p = cli("train", "--model", "gan", "--arch", "mlp", "--hidden", "32,64", "--data", "shapes",
            "--n-train", "600", "--n-test", "100", "--latent-dim", "4", "--epochs", "2",
            "--threads", "1", "--quiet", "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out


def test_inversion_beats_the_encoders_guess_and_reports_its_error(gan_run, tmp_path):
    from latentatlas.models.inversion import invert

    model = latentatlas.load(gan_run)
    x = load_dataset("shapes", n_train=8, n_test=6).test_x
    r = invert(model, x, starts=3, steps=60)
    assert r.codes.shape == (6, 4) and r.error.shape == (6,)
    assert (r.error <= r.encoder_error + 1e-6).all() and (r.error < r.encoder_error).any()
    assert torch.allclose(r.error, (model.decode(r.codes) - x).pow(2).flatten(1).mean(1),
                          atol=1e-5)
    out = tmp_path / "inv.png"
    p = cli("invert", str(gan_run), "--image", "0", "--image", "3", "--starts", "2", "--steps",
            "30", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert len(j["codes"]) == 2 and len(j["error"]) == 2 and out.stat().st_size > 0
    assert_one_error(cli("invert", str(gan_run), "--image", "nope.png"), "neither")


def test_every_latent_command_runs_on_a_gan_run(gan_run, tmp_path):
    import shutil

    from fastapi.testclient import TestClient

    from latentatlas.explorer import Explorer
    from latentatlas.explorer.app import create_app

    run = tmp_path / "gan"
    shutil.copytree(gan_run, run)
    vae = tmp_path / "vae"
    assert cli("train", "--data", "shapes", "--n-train", "600", "--n-test", "100", "--hidden",
               "32", "--latent-dim", "3", "--epochs", "1", "--threads", "1", "--quiet",
               "--out", str(vae)).returncode == 0
    png = lambda name: str(tmp_path / f"{name}.png")  # noqa: E731
    for args in (
            ("interpolate", run, "--a", "0", "--b", "1", "--out", png("i")),
            ("grid", run, "--corners", "0,1,2,3", "--n", "3", "--out", png("g")),
            ("map", run, "--out", png("m")),
            ("knobs", run, "-k", "3", "--items", "2", "--out", png("k")),
            ("concept", run, "tall", "--from", "groups", "--pos", "height>=16", "--neg",
             "height<=11"),
            ("traverse", run, "--concept", "tall", "--index", "5", "--out", png("t")),
            ("entangle", run, "--concepts", "tall"),
            ("export", run, "--knobs", "3", "--steps", "2", "--items", "2", "--out",
             str(tmp_path / "x.html")),
            ("translate", run, vae, "--anchors", "200"),
            ("translate", vae, run, "--anchors", "200")):
        p = cli(*map(str, args))
        assert p.returncode == 0, (args[0], p.stderr)
    assert (run / "atlas" / "codes-train.safetensors").is_file()  # the encoder's, cached
    client = TestClient(create_app(Explorer([str(run)])), base_url="http://127.0.0.1:8765")
    listed = client.get("/api/runs").json()
    assert listed[0]["latent_dim"] == 4
    item = client.get("/api/runs/gan/items/3").json()
    assert len(item["z"]) == 4 and item["image"].startswith("data:image/png;base64,")
    strip = client.post("/api/runs/gan/interpolate",
                        json={"a": 0, "b": 5, "steps": 4, "method": "lerp"}).json()
    assert len(strip["images"]) == 4


def test_frechet_distance_precision_recall_and_coverage_on_known_sets():
    from latentatlas.atlas.quality import class_coverage, frechet_distance, precision_recall

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4000, 5, generator=g), torch.randn(4000, 5, generator=g)
    assert frechet_distance(a, b) < 0.05
    shift = torch.tensor([3.0, 0, 0, 0, 0])
    assert abs(frechet_distance(a, b + shift) - 9.0) < 0.3  # |m_a - m_b|^2 when S_a = S_b
    assert abs(frechet_distance(a, 2 * b) - 5.0) < 0.3  # Tr(I + 4I - 2 * 2I) = 5
    p, r = precision_recall(a[:1000], b[:1000])
    assert p > 0.9 and r > 0.9
    collapsed = a[:10].repeat(100, 1)  # ten real points over and over: faithful, not diverse
    p, r = precision_recall(a[:1000], collapsed)
    assert p > 0.9 and r < 0.3
    c = class_coverage(torch.tensor([0] * 50 + [1] * 50), torch.tensor([0, 1, 2, 3] * 25),
                       ["a", "b", "c", "d"])
    assert c["coverage"] == 0.5 and c["missing_classes"] == ["c", "d"]


def test_eval_on_a_gan_run_scores_its_samples(gan_run, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTATLAS_CACHE", str(tmp_path / "cache"))
    p = cli("eval", str(gan_run), "--samples", "300", "--json")
    assert p.returncode == 0, p.stderr
    q = json.loads(p.stdout)["quality"]
    assert q["n_samples"] == 300 and 0 <= q["coverage"] <= 1
    assert q["frechet_classifier_distance"] > q["real_train"]["frechet_classifier_distance"]
    assert (tmp_path / "cache" / "classifiers").is_dir()  # trained once, kept
    again = json.loads(cli("eval", str(gan_run), "--samples", "300", "--json").stdout)
    assert again["quality"] == q  # the same classifier and seed: the same figures


def test_pixel_paths_cross_fade_and_both_paths_are_measured(gan_run, tmp_path, monkeypatch):
    from latentatlas.atlas.workflow import interpolation_strip

    x = load_dataset("shapes", n_train=600, n_test=100).test_x
    strip = interpolation_strip(gan_run, "2", "9", steps=5, space="pixel")
    assert torch.allclose(strip[0], x[2]) and torch.allclose(strip[-1], x[9])
    assert torch.allclose(strip[2], (x[2] + x[9]) / 2, atol=1e-6)
    model = latentatlas.load(gan_run)
    drawn = interpolation_strip(gan_run, "prior:3", "prior:4", steps=4, method="lerp")
    assert torch.allclose(drawn[0], model.decode(model.prior(1, torch.Generator()
                                                             .manual_seed(3))[:1])[0])
    monkeypatch.setenv("LATENTATLAS_CACHE", str(tmp_path / "cache"))
    p = cli("interpolate", str(gan_run), "--a", "0", "--b", "prior:1", "--steps", "5",
            "--measure", "20", "--out", str(tmp_path / "pc.png"), "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["pairs"] == 20 and len(r["latent"]) == len(r["pixel"]) == 5
    ends, mid = r["pixel"][0], r["pixel"][2]
    assert mid["frechet_classifier_distance"] > ends["frechet_classifier_distance"]
    assert (tmp_path / "pc.png").stat().st_size > 0
    assert_one_error(cli("interpolate", str(gan_run), "--a", "prior:x", "--b", "1", "--out",
                         str(tmp_path / "y.png")), "integer seed")


def test_a_gan_without_an_encoder_encodes_by_inversion(tmp_path):
    run = latentatlas.fit("gan", "shapes", tmp_path / "bare", arch="mlp", hidden=(16,),
                          epochs=1, gan_encoder=False, **SMALL)
    model = run.model
    assert model.encoder is None and "train_encoder" not in run.metrics[-1]
    x = run.data("test")[:3]
    z, logvar = model.encode(x)
    assert z.shape == (3, 8) and logvar is None
    assert_one_error(cli("train", "--model", "vae", "--no-encoder", "--data", "shapes", "--out",
                         str(tmp_path / "v")), "gan")


def test_a_conditional_dcgan_trains_on_an_rgb_image_folder_at_64_pixels(tmp_path):
    import numpy as np
    from PIL import Image

    folder = tmp_path / "rgb"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), "RGB").save(
            folder / f"{i}.png")
    (folder / "labels.csv").write_text(
        "file,label\n" + "".join(f"{i}.png,{'a' if i % 2 else 'b'}\n" for i in range(24)))
    run = latentatlas.fit("gan", f"images:{folder}", tmp_path / "run", arch="conv",
                          image_size=64, hidden=(4,), condition="label", latent_dim=4,
                          epochs=1, batch_size=8)
    model = run.model
    assert model.classes == ["a", "b"] and model.latent_dim == 6
    images = model.decode(model.prior(3, labels=torch.tensor([0, 1, 1])))
    assert images.shape == (3, 3, 64, 64)
    assert model.encode(run.data("test"))[0].shape[1] == 6


def test_invert_refuses_a_run_without_a_latent_space(tmp_path):
    run = tmp_path / "clf"
    assert cli("train", "--model", "image-classifier", "--data", "shapes", "--n-train", "64",
               "--n-test", "16", "--hidden", "4,4,8", "--epochs", "1", "--threads", "1",
               "--quiet", "--out", str(run)).returncode == 0
    assert_one_error(cli("invert", str(run), "--image", "0"), "has no latent space", "invert")
