import json
import os
import stat

import pytest
from PIL import Image

import latentatlas

from .conftest import cli, cli_process

TINY = ["--data", "shapes", "--n-train", "512", "--n-test", "128", "--hidden", "32",
        "--latent-dim", "3", "--epochs", "2", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    p = cli("train", *TINY, "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out


def test_train_writes_a_complete_run(run):
    assert {p.name for p in run.iterdir()} == {"config.json", "model.safetensors",
                                              "metrics.jsonl", "checkpoint"}
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["latent_dim"] == 3 and config["data"]["name"] == "shapes"
    assert config["versions"]["torch"]
    assert latentatlas.load(run).latent_dim == 3


def test_info_and_eval_json(run):
    info = json.loads(cli("info", str(run), "--json").stdout)
    assert info["epochs"] == 2 and info["parameters"] > 0
    p = cli("eval", str(run), "--iw", "20", "--json")
    result = json.loads(p.stdout)
    assert result["n_test"] == 128
    assert abs(result["loss"] - result["recon"] - result["kl"]) < 0.01
    assert result["iw_nll_k20"] < result["loss"] + 1.0  # the IW bound is tighter than the ELBO


def test_sample_and_reconstruct_write_pngs(run, tmp_path):
    assert cli("sample", str(run), "-n", "9", "--out", str(tmp_path / "s.png")).returncode == 0
    assert cli("reconstruct", str(run), "-n", "4", "--out",
               str(tmp_path / "r.png")).returncode == 0
    s = Image.open(tmp_path / "s.png")
    r = Image.open(tmp_path / "r.png")
    assert s.size == (2 * (3 * 30 + 2),) * 2  # 3x3 grid of 28px + 2px padding, scaled 2x
    assert r.size[1] == 2 * (2 * 30 + 2)  # two rows: originals over reconstructions
    p = cli("sample", str(run), "-n", "4", "--out", str(tmp_path / "j.png"), "--json")
    assert json.loads(p.stdout) == {"run": str(run), "out": str(tmp_path / "j.png"),
                                    "samples": 4, "source": "prior", "seed": 0,
                                    "pixels": "mean"}
    # a Bernoulli decoder has no scale to show
    _assert_user_error(cli("sample", str(run), "--pixels", "scale", "--out",
                           str(tmp_path / "x.png")), "gaussian or laplace")
    assert not (tmp_path / "x.png").exists()


def test_per_pixel_scale_trains_evaluates_and_shows_its_scales(tmp_path):
    out = tmp_path / "pp"
    p = cli("train", *TINY, "--likelihood", "gaussian", "--obs-scale", "per-pixel", "--out",
            str(out))
    assert p.returncode == 0, p.stderr
    result = json.loads(cli("eval", str(out), "--iw", "10", "--json").stdout)
    assert result["iw_nll_k10"] < result["loss"] + 1.0
    shown = {}
    for pixels in ("mean", "draw", "scale"):
        p = cli("sample", str(out), "-n", "4", "--pixels", pixels, "--json", "--out",
                str(tmp_path / f"{pixels}.png"))
        assert p.returncode == 0, p.stderr
        shown[pixels] = json.loads(p.stdout)
    assert 0.01 <= shown["scale"]["scale_mean"] <= shown["scale"]["scale_max"] <= 1.0
    mean, draw = (Image.open(tmp_path / f"{k}.png").tobytes() for k in ("mean", "draw"))
    assert mean != draw  # the draws carry the likelihood's pixel noise
    _assert_user_error(cli("train", *TINY, "--obs-scale", "per-pixel", "--out",
                           str(tmp_path / "b")), "bernoulli")
    assert not (tmp_path / "b").exists()


def test_autoencoder_samples_from_a_fitted_gaussian(tmp_path):
    out = tmp_path / "ae"
    assert cli("train", *TINY, "--model", "ae", "--epochs", "1", "--out", str(out)).returncode == 0
    p = cli("sample", str(out), "-n", "4", "--out", str(tmp_path / "ae.png"))
    assert p.returncode == 0 and "fitted" in p.stdout


def test_data_list_json():
    rows = json.loads(cli("data", "list", "--json").stdout)
    assert {r["name"] for r in rows} >= {"fashion-mnist", "mnist", "digits", "shapes"}


def _assert_user_error(p, *fragments):
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    for f in fragments:
        assert f in lines[0]


def test_unknown_dataset(tmp_path):
    _assert_user_error(cli("train", "--data", "nope", "--out", str(tmp_path / "x")),
                       "unknown dataset")
    assert not (tmp_path / "x").exists()


def test_missing_dataset_names_the_fix(tmp_path):
    p = cli_process("train", "--data", "mnist", "--out", str(tmp_path / "x"),
                    env={"LATENTATLAS_DATA": str(tmp_path)})
    _assert_user_error(p, "latentatlas data fetch mnist")
    assert not (tmp_path / "x").exists()


def test_latent_dim_zero(tmp_path):
    _assert_user_error(cli("train", *TINY, "--latent-dim", "0", "--out", str(tmp_path / "x")),
                       "--latent-dim")
    assert not (tmp_path / "x").exists()


def test_unwritable_out(tmp_path):
    # /proc refuses new folders even to root; a locked folder covers ordinary users.
    _assert_user_error(cli("train", *TINY, "--out", "/proc/latentatlas-run"), "cannot write")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        _assert_user_error(cli("train", *TINY, "--out", str(locked / "run")), "cannot write")


def test_out_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    _assert_user_error(cli("train", *TINY, "--out", str(tmp_path / "f" / "run")), "cannot write")
    _assert_user_error(cli("train", *TINY, "--out", str(tmp_path / "f")), "not a folder")


def test_existing_run_needs_resume_or_force(run):
    _assert_user_error(cli("train", *TINY, "--out", str(run)), "--resume", "--force")


def test_truncated_weights(run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    w = broken / "model.safetensors"
    w.write_bytes(w.read_bytes()[:500])
    _assert_user_error(cli("info", str(broken)), "model.safetensors")
    _assert_user_error(cli("sample", str(broken), "--out", str(tmp_path / "s.png")),
                       "truncated or corrupted")
    assert not (tmp_path / "s.png").exists()


def test_mixed_size_images(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("L", (16, 16)).save(folder / "a.png")
    Image.new("L", (20, 20)).save(folder / "b.png")
    _assert_user_error(cli("train", "--data", f"images:{folder}", "--out", str(tmp_path / "x")),
                       "mixed sizes")
    assert not (tmp_path / "x").exists()


def test_bad_option_value_is_one_error_line(tmp_path):
    """As a program: one error line on stderr, exit status 2, nothing written."""
    _assert_user_error(cli_process("train", "--epochs", "many", "--out", str(tmp_path / "x")),
                       "--epochs")
    _assert_user_error(cli_process("train", "--data", "shapes", "--lr", "-1", "--out",
                                   str(tmp_path / "x")), "--lr must be a positive number")
    assert not (tmp_path / "x").exists()


def test_the_installed_command_trains_and_reads_a_run(tmp_path):
    """The command as a program, end to end: train, then eval on the run."""
    out = tmp_path / "run"
    p = cli_process("train", *TINY, "--epochs", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1].startswith(f"done: {out} (1 epochs)")
    result = json.loads(cli_process("eval", str(out), "--json").stdout)
    assert result["n_test"] == 128


def test_png_only(run, tmp_path):
    _assert_user_error(cli("sample", str(run), "--out", str(tmp_path / "s.jpg")), ".png")


def test_zero_count_is_rejected(run, tmp_path):
    _assert_user_error(cli("sample", str(run), "-n", "0", "--out", str(tmp_path / "s.png")),
                       "at least 1")


def test_diverging_training_stops_with_an_error_and_leaves_nothing(tmp_path):
    p = cli("train", *TINY, "--lr", "1e6", "--out", str(tmp_path / "nan"))
    _assert_user_error(p, "loss became nan", "lower --lr")
    assert not (tmp_path / "nan").exists()


def test_version():
    p = cli("--version")
    assert p.returncode == 0 and p.stdout.startswith("latentatlas ")


def test_corrupted_dataset_file_is_named(idx_dir, tmp_path):
    f = idx_dir / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:3000])
    p = cli("train", "--data", "fashion-mnist", "--data-dir", str(idx_dir), "--out",
            str(tmp_path / "x"))
    _assert_user_error(p, "train-images-idx3-ubyte.gz", "truncated or corrupted")
    assert not (tmp_path / "x").exists()


def test_fetch_without_network_is_one_error_line(tmp_path):
    p = cli("data", "fetch", "mnist", "--dest", str(tmp_path / "m"), "--mirror",
            "http://127.0.0.1:9/")
    _assert_user_error(p, "cannot download")
    assert list((tmp_path / "m").iterdir()) == []


def test_fetch_from_a_local_folder_mirror(idx_dir, tmp_path):
    p = cli("data", "fetch", "fashion-mnist", "--dest", str(tmp_path / "f"), "--mirror",
            str(idx_dir))  # a plain folder: no file:// needed
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in (tmp_path / "f").iterdir()) == sorted(
        f.name for f in idx_dir.iterdir())
    _assert_user_error(cli("data", "fetch", "fashion-mnist", "--dest", str(tmp_path / "g"),
                           "--mirror", str(tmp_path / "nowhere")), "no such folder")


def test_fashion_mnist_end_to_end_on_a_small_idx_set(idx_dir, tmp_path):
    out = tmp_path / "fm"
    p = cli("train", "--data", "fashion-mnist", "--data-dir", str(idx_dir), "--hidden", "16",
            "--latent-dim", "2", "--epochs", "1", "--quiet", "--out", str(out))
    assert p.returncode == 0, p.stderr
    result = json.loads(cli("eval", str(out), "--json").stdout)
    assert result["n_test"] == 16


def test_interpolate_and_grid(run, tmp_path):
    p = cli("interpolate", str(run), "--a", "3", "--b", "17", "--steps", "6", "--method", "lerp",
            "--out", str(tmp_path / "strip.png"))
    assert p.returncode == 0, p.stderr
    assert Image.open(tmp_path / "strip.png").size == (2 * (6 * 30 + 2), 2 * 32)
    Image.new("L", (40, 40), 255).save(tmp_path / "white.png")  # an image file as an item
    p = cli("grid", str(run), "--corners", f"0,1,2,{tmp_path / 'white.png'}", "--n", "4",
            "--out", str(tmp_path / "grid.png"))
    assert p.returncode == 0, p.stderr
    assert Image.open(tmp_path / "grid.png").size == (2 * (4 * 30 + 2),) * 2


def test_item_errors(run, tmp_path):
    _assert_user_error(cli("interpolate", str(run), "--a", "0", "--b", "128", "--out",
                           str(tmp_path / "s.png")), "out of range", "0..127")
    _assert_user_error(cli("interpolate", str(run), "--a", "0", "--b", "nope.png", "--out",
                           str(tmp_path / "s.png")), "neither a test-set index nor an image")
    _assert_user_error(cli("grid", str(run), "--corners", "1,2,3", "--out",
                           str(tmp_path / "g.png")), "four items")
    assert not list(tmp_path.iterdir())


def test_dims_and_knobs_json(run):
    dims = json.loads(cli("dims", str(run), "--json").stdout)
    assert dims["latent_dim"] == 3 and 0 <= dims["active_units"] <= 3
    assert dims["active_units"] == sum(u["active"] for u in dims["units"])
    activity = [u["activity"] for u in dims["units"]]
    assert activity == sorted(activity, reverse=True)
    assert abs(dims["total_kl"] - sum(u["kl"] for u in dims["units"])) < 1e-2
    knobs = json.loads(cli("knobs", str(run), "-k", "2", "--json").stdout)
    assert len(knobs["explained_variance_ratio"]) == 2 and 0 < knobs["cumulative"] <= 1.0
    _assert_user_error(cli("knobs", str(run), "-k", "4"), "latent dimensions")


def test_map_pca_and_2d_manifold(run, tmp_path):
    p = cli("map", str(run), "--out", str(tmp_path / "m.png"), "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["method"] in ("pca", "umap") and len(result["xy"]) == 128
    two = tmp_path / "two"
    assert cli("train", *TINY, "--latent-dim", "2", "--epochs", "1", "--out",
               str(two)).returncode == 0
    p = cli("map", str(two), "--out", str(tmp_path / "m2.png"), "--json")
    assert json.loads(p.stdout)["method"] == "raw"
    assert Image.open(tmp_path / "m2.png").size[0] > Image.open(tmp_path / "m.png").size[0]


def test_concepts_end_to_end(run, tmp_path):
    import shutil

    r = tmp_path / "run"
    shutil.copytree(run, r)
    for args in (["tall", "--from", "groups", "--pos", "height>=16", "--neg", "height<=11"],
                 ["rect", "--from", "probe", "--pos", "label=rectangle", "--neg", "label=ellipse"],
                 ["taller", "--from", "edit", "--edit", "taller:2", "--pos", "label=boot",
                  "--n", "30"],
                 ["bright", "--from", "property", "--property", "brightness", "--n", "300"]):
        p = cli("concept", str(r), *args)
        assert p.returncode == 0, p.stderr
    listed = json.loads(cli("concepts", str(r), "--json").stdout)
    assert [c["name"] for c in listed] == ["tall", "rect", "taller", "bright"]
    by_name = {c["name"]: c for c in listed}
    assert 0.0 <= by_name["rect"]["scores"]["auc"] <= 1.0
    assert by_name["taller"]["params"]["target"] == "height"
    assert by_name["tall"]["params"]["target"] == "height"  # implied by its selector
    assert "target" not in by_name["rect"]["params"]  # labels imply no identifier
    scores = by_name["taller"]["scores"]
    # leakage is defined once the concept moves its target (this tiny model may not)
    assert ("leakage_brightness" in scores) == (scores["effect_height"] > 0)
    assert 0 < by_name["taller"]["scores"]["n_pairs"] <= 30
    p = cli("traverse", str(r), "--concept", "taller", "--index", "5", "--alphas", "-2:2:5",
            "--out", str(tmp_path / "t.png"), "--json")
    assert p.returncode == 0, p.stderr
    t = json.loads(p.stdout)
    assert set(t["mean_slopes"]) == {"height", "width", "brightness", "mass", "cx", "cy"}
    assert t["target"] == "height" and "height" not in t["leakage"]
    assert Image.open(tmp_path / "t.png").size == (2 * (5 * 30 + 2), 2 * 32)
    plain = cli("traverse", str(r), "--concept", "taller", "--index", "5").stdout
    assert "identifier" in plain and "mean" in plain and "(effect)" in plain  # named columns
    effect = t["standardised_effect"]["height"]  # the same default alphas as entangle
    e_plain = cli("entangle", str(r), "--concepts", "taller").stdout
    assert f"{effect:.3f}" in e_plain and "leakage: effect on an identifier" in e_plain
    p = cli("entangle", str(r), "--concepts", "tall,taller", "--out", str(tmp_path / "e.png"),
            "--with", "probe:rect,classifier:boot", "--json")
    e = json.loads(p.stdout)
    assert len(e["standardised_effect"]) == 2 and len(e["standardised_effect"][0]) == 8
    assert e["identifiers"][-2:] == ["probe:rect", "classifier:boot"]
    assert set(e["leakage"]) == {"tall", "taller"} and (tmp_path / "e.png").is_file()
    p = cli("disentangle", str(r), "--concept", "taller", "--keep", "brightness", "--save",
            "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert set(d["methods"]) == {"original", "gram-schmidt", "normal-projection", "leace"}
    assert d["methods"]["original"]["target_kept"] in (1.0, None)  # None: target never moved
    names = [c["name"] for c in json.loads(cli("concepts", str(r), "--json").stdout)]
    assert "taller-minus-brightness-leace" in names
    _assert_user_error(cli("disentangle", str(r), "--concept", "rect", "--keep", "brightness"),
                       "no target identifier")
    _assert_user_error(cli("disentangle", str(r), "--concept", "taller", "--keep", "height"),
                       "nothing would be left")


def test_concept_errors(run, tmp_path):
    _assert_user_error(cli("concept", str(run), "x", "--from", "groups", "--pos", "idx=1",
                           "--neg", "idx=2,3"), "at least 2 items")
    _assert_user_error(cli("concept", str(run), "x", "--from", "groups", "--pos", "colour>1"),
                       "unknown factor or property")
    _assert_user_error(cli("concept", str(run), "x", "--from", "groups", "--pos", "idx=1,2",
                           "--neg", "idx=1,2"), "zero vector")
    _assert_user_error(cli("concept", str(run), "x", "--from", "edit"), "--edit")
    _assert_user_error(cli("concept", str(run), "x", "--from", "property", "--property",
                           "size"), "unknown property")
    _assert_user_error(cli("traverse", str(run), "--concept", "nope"), "unknown concept")
    assert not (run / "atlas" / "concepts.json").exists()


def test_similarity_and_translate(run, tmp_path):
    other = tmp_path / "other"
    assert cli("train", *TINY, "--latent-dim", "5", "--seed", "1", "--out",
               str(other)).returncode == 0
    p = cli("similarity", str(run), str(other), "--out", str(tmp_path / "sim.png"), "--json")
    assert p.returncode == 0, p.stderr
    sim = json.loads(p.stdout)
    (pair,) = sim["pairs"]
    for m in ("cka_linear", "cka_linear_debiased", "cka_rbf", "svcca", "relative"):
        assert pair[m + "_null"] < pair[m], m
    assert 0 <= pair["cka_linear"] <= 1 and (tmp_path / "sim.png").is_file()
    for method in ("linear", "procrustes"):
        p = cli("translate", str(run), str(other), "--method", method, "--anchors", "200",
                "--json")
        assert p.returncode == 0, p.stderr
        t = json.loads(p.stdout)
        assert t["pairs_fitted"] == 200 and t["held_out"]["r2"] > t["null"]["r2"]
        assert t["recon_through_map"] < t["recon_through_null"]
        saved = run / "atlas" / f"translate-other-{method}-anchors200-seed0.safetensors"
        assert t["saved"] == str(saved) and saved.is_file()
    import shutil

    a = tmp_path / "a"
    shutil.copytree(run, a)
    assert cli("concept", str(a), "rect", "--from", "probe", "--pos", "label=rectangle",
               "--neg", "label=ellipse").returncode == 0
    p = cli("transfer", str(a), str(other), "--concept", "rect", "--json")
    assert p.returncode == 0, p.stderr
    tr = json.loads(p.stdout)
    assert -1 <= tr["direction"]["cosine_carried_vs_direct"] <= 1
    assert "reading:" in cli("transfer", str(a), str(other), "--concept", "rect").stdout
    assert set(tr["direction"]) == {"cosine_carried_vs_direct", "carried", "direct"}
    ident = tr["identifier"]
    assert 0.5 < ident["agreement_with_a"] <= 1 and 0 <= ident["accuracy_b_vs_truth"] <= 1
    assert "rect" in [c["name"] for c in json.loads(cli("concepts", str(other), "--json").stdout)]
    _assert_user_error(cli("transfer", str(a), str(other), "--concept", "nope"),
                       "unknown concept")
    digits = tmp_path / "digits"
    assert cli("train", "--data", "digits", "--hidden", "16", "--latent-dim", "2", "--epochs",
               "1", "--quiet", "--out", str(digits)).returncode == 0
    _assert_user_error(cli("similarity", str(run), str(digits)), "different datasets")
    _assert_user_error(cli("similarity", str(run)), "at least two runs")
    fewer = tmp_path / "fewer"
    assert cli("train", *TINY, "--n-test", "64", "--epochs", "1", "--out",
               str(fewer)).returncode == 0
    _assert_user_error(cli("similarity", str(run), str(fewer)), "different item counts")
    p = cli("translate", str(run), str(fewer), "--data", "shapes", "--json")  # same items again
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["pairs_fitted"] == 20000
    _assert_user_error(cli("translate", str(run), str(fewer), "--data", "digits"), "takes")


def test_global_flags_may_follow_the_subcommand(run):
    from latentatlas.cli import main
    from latentatlas.errors import UserError

    p = cli("info", str(run), "--debug")
    assert p.returncode == 0, p.stderr
    with pytest.raises(UserError, match="no-such"):  # --debug: the error's traceback
        main(["info", str(run) + "/no-such", "--debug"])


def test_help_shows_defaults_and_the_selector_syntax():
    p = cli("concept", "--help")
    shown = " ".join(p.stdout.split())  # as read, whatever the wrapping
    assert p.returncode == 0
    assert "label=Sneaker,Ankle_boot" in shown and "(default: 0)" in shown, shown
    assert "mean difference" in shown  # --from explained


def test_long_work_shows_progress_on_a_terminal_only(run):
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios

    master, slave = pty.openpty()  # stderr a real terminal, stdout a pipe
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen([sys.executable, "-m", "latentatlas", "eval", str(run), "--iw",
                             "20", "--threads", "1", "--json"], stdout=subprocess.PIPE,
                            stderr=slave, env={**os.environ, "OMP_NUM_THREADS": "1"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0
    assert "importance-weighted NLL, k=20" in b"".join(chunks).decode(errors="replace")
    assert "iw_nll_k20" in json.loads(out)  # stdout stays clean JSON
    p = cli("eval", str(run), "--iw", "20")  # not a terminal: no bar
    assert p.returncode == 0 and "importance-weighted NLL, k=" not in p.stderr
    assert cli("dims", str(run), "--threads", "1").returncode == 0  # every command: --threads


def test_train_says_what_it_took(idx_dir, tmp_path):
    p = cli("train", "--data", "fashion-mnist", "--data-dir", str(idx_dir), "--n-train", "32",
            "--hidden", "8", "--latent-dim", "2", "--epochs", "1", "--threads", "1", "--out",
            str(tmp_path / "r"))
    assert p.returncode == 0, p.stderr
    assert "32 of 64 training items (a sample stratified by label, seed 0)" in p.stdout
    spec = json.loads((tmp_path / "r" / "config.json").read_text())["data"]
    assert spec["subset"] == "stratified" and spec["n_train"] == 32
