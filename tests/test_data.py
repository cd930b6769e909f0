import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latentatlas.data import availability, fetch, load_dataset
from latentatlas.data.idx_sets import DEBIAN_DIRS
from latentatlas.errors import UserError


def test_idx_set_from_data_dir(idx_dir):
    d = load_dataset("fashion-mnist", data_dir=idx_dir)
    assert d.train_x.shape == (64, 1, 28, 28) and d.test_x.shape == (16, 1, 28, 28)
    assert d.train_x.dtype == torch.float32 and 0 <= d.train_x.min() and d.train_x.max() <= 1
    assert d.train_y.dtype == torch.int64 and d.classes[9] == "Ankle boot"


def test_idx_set_from_env_data_home(idx_dir, monkeypatch):
    monkeypatch.setenv("LATENTATLAS_DATA", str(idx_dir.parent))
    d = load_dataset("fashion-mnist")
    assert len(d.train_x) == 64 and d.source == str(idx_dir)


def test_data_dir_wins_over_data_home(idx_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTATLAS_DATA", str(tmp_path / "nowhere"))
    assert len(load_dataset("fashion-mnist", data_dir=idx_dir).train_x) == 64


def test_missing_dataset_names_the_fixes(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTATLAS_DATA", str(tmp_path))
    with pytest.raises(UserError) as e:
        load_dataset("mnist", data_dir=tmp_path)
    assert "latentatlas data fetch mnist" in str(e.value)
    assert "not installed" in availability("mnist", tmp_path)


def test_corrupted_file_in_a_set_is_an_error(idx_dir):
    f = idx_dir / "t10k-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:20])
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset("fashion-mnist", data_dir=idx_dir)


@pytest.mark.skipif(not (DEBIAN_DIRS["fashion-mnist"] / "t10k-labels-idx1-ubyte.gz").exists(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_debian_fashion_mnist_is_complete(monkeypatch, tmp_path):
    monkeypatch.setenv("LATENTATLAS_DATA", str(tmp_path))
    d = load_dataset("fashion-mnist")
    assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
    assert torch.bincount(d.test_y).tolist() == [1000] * 10


def test_digits_native_and_resized():
    d = load_dataset("digits")
    assert d.train_x.shape[1:] == (1, 8, 8) and len(d.train_x) + len(d.test_x) == 1797
    big = load_dataset("digits", image_size=28)
    assert big.train_x.shape[1:] == (1, 28, 28) and float(big.train_x.max()) <= 1.0


def test_unknown_dataset():
    with pytest.raises(UserError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")
    with pytest.raises(UserError, match="text dataset.*a text-vae"):
        load_dataset("grammar")


def _write_images(folder: Path, sizes, mode="L"):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    for i, s in enumerate(sizes):
        shape = (s, s) if mode == "L" else (s, s, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"{i}.png")


def test_image_folder_with_labels(tmp_path):
    _write_images(tmp_path / "imgs", [16] * 12)
    (tmp_path / "imgs" / "labels.csv").write_text(
        "file,label\n" + "".join(f"{i}.png,{'cat' if i % 2 else 'dog'}\n" for i in range(12)))
    d = load_dataset(f"images:{tmp_path / 'imgs'}")
    assert d.train_x.shape[1:] == (1, 16, 16) and len(d.train_x) + len(d.test_x) == 12
    assert d.classes == ["cat", "dog"]
    first = np.asarray(Image.open(tmp_path / "imgs" / "0.png"), dtype=np.float32) / 255
    all_x = torch.cat([d.train_x, d.test_x])
    assert any(torch.allclose(x[0], torch.from_numpy(first)) for x in all_x)


def test_image_folder_rgb_and_resize(tmp_path):
    _write_images(tmp_path / "rgb", [20, 24, 32], mode="RGB")
    d = load_dataset(f"images:{tmp_path / 'rgb'}", image_size=28)
    assert d.train_x.shape[1:] == (3, 28, 28)


def test_one_colour_image_does_not_turn_a_grayscale_set_into_rgb(tmp_path, capsys):
    _write_images(tmp_path / "mixed", [16] * 5)
    Image.new("RGB", (16, 16), (200, 30, 30)).save(tmp_path / "mixed" / "red.png")
    d = load_dataset(f"images:{tmp_path / 'mixed'}")
    assert d.train_x.shape[1] == 1  # the majority's mode
    assert "1 of 6 images (red.png) are in colour; all are read as grayscale" in \
        capsys.readouterr().err


def test_image_folder_mixed_sizes_is_an_error(tmp_path):
    _write_images(tmp_path / "mixed", [16, 20])
    with pytest.raises(UserError, match="mixed sizes.*`image_size`"):
        load_dataset(f"images:{tmp_path / 'mixed'}")


def test_image_folder_unreadable_image(tmp_path):
    _write_images(tmp_path / "bad", [8, 8])
    (tmp_path / "bad" / "2.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(UserError, match="2.png"):
        load_dataset(f"images:{tmp_path / 'bad'}")


@pytest.fixture
def mirror(idx_dir):
    """A local HTTP server on 127.0.0.1 serving the miniature IDX files."""
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(idx_dir), **k)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_fetch_downloads_and_checks_every_file(mirror, tmp_path):
    dest = fetch("fashion-mnist", tmp_path / "got", mirror=mirror)
    assert sorted(p.name for p in dest.iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert len(load_dataset("fashion-mnist", data_dir=dest).train_x) == 64


def test_fetch_without_network_leaves_nothing(tmp_path):
    with pytest.raises(UserError, match="cannot download"):
        fetch("mnist", tmp_path / "m", mirror="http://127.0.0.1:9/", timeout=2)
    assert list((tmp_path / "m").iterdir()) == []


def test_fetch_rejects_a_corrupt_download(mirror, idx_dir, tmp_path):
    # the last of the four files is bad: the three good ones must not be left behind either
    (idx_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(UserError, match="did not hold a valid IDX file"):
        fetch("fashion-mnist", tmp_path / "got", mirror=mirror)
    assert list((tmp_path / "got").iterdir()) == []


def test_one_rule_resolves_class_names():
    from latentatlas.data.base import class_index
    from latentatlas.errors import UserError

    classes = ["T-shirt/top", "Ankle boot", "positive", "Positive", "a_b"]
    assert class_index(classes, "ankle_boot") == class_index(classes, "ANKLE  BOOT") == 1
    assert class_index(classes, "Positive") == 3  # an exact name wins
    assert class_index(classes, "a b") == 4
    with pytest.raises(UserError, match="matches several"):
        class_index(classes, "POSITIVE")
    with pytest.raises(UserError, match=r"unknown class 'Hat'; known: T-shirt/top"):
        class_index(classes, "Hat")


def test_a_stratified_sample_keeps_each_label_share_and_its_seed():
    from latentatlas.data.base import sample_indices

    labels = ["a"] * 600 + ["b"] * 300 + ["c"] * 100
    idx = sample_indices(1000, 100, labels, seed=3)
    picked = [labels[i] for i in idx]
    assert [picked.count(k) for k in "abc"] == [60, 30, 10] and list(idx) == sorted(idx)
    assert list(sample_indices(1000, 100, labels, seed=3)) == list(idx)  # seeded
    assert list(sample_indices(1000, 100, labels, seed=4)) != list(idx)
    assert len(set(sample_indices(1000, 999, None, seed=0))) == 999


def test_n_train_is_the_training_set_size_for_texts_and_images_alike(idx_dir):
    from latentatlas.data import load_spec
    from latentatlas.data.text import load_text

    fm = load_dataset("fashion-mnist", data_dir=idx_dir, n_train=32, n_test=8)
    assert len(fm.train_x) == 32 and len(fm.test_x) == 8
    assert "32 of 64 training items (a sample stratified by label, seed 0)" in fm.summary()
    old = load_spec({"name": "fashion-mnist", "data_dir": str(idx_dir), "n_train": 32})
    full = load_dataset("fashion-mnist", data_dir=idx_dir)
    assert torch.equal(old.train_x, full.train_x[:32])  # a run made before: the first 32
    g = load_text("grammar", n_train=500, n_test=50)
    assert len(g.train) == 500 and len(g.test) == 50 and "500 of" in g.taken
    legacy = load_text("grammar", n=500)  # the old rule: 500 texts before the 90/10 split
    assert len(legacy.train) + len(legacy.test) == 500


@pytest.mark.skipif(not Path("/usr/share/games/fortunes").is_dir(),
                    reason="Debian's fortunes is not installed")
def test_a_small_fortunes_sample_covers_the_categories():
    from latentatlas.data.text import load_text

    sample = load_text("fortunes", n_train=300)
    first = load_text("fortunes", n=300)  # the old rule: the first 300 fortunes
    everything = load_text("fortunes")
    assert len(set(sample.train_labels)) > 3 * len(set(first.train_labels))
    assert len(set(sample.train_labels)) >= 0.6 * len(everything.classes)
