"""Damaged and hostile files: each gives one ``error:`` line naming the file, exit status 2,
never a traceback, and leaves nothing half-written."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from latentatlas.data.idx import write_idx

from .conftest import assert_one_error, cli


def _train_on(tmp_path: Path, data: str, *extra: str):
    """``train`` on ``data``: bad data must stop it before the run folder exists."""
    p = cli("train", "--data", data, *extra, "--epochs", "1", "--quiet", "--out",
            str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    return p


@pytest.fixture(scope="module")
def run(tiny_run) -> Path:
    return tiny_run


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bad-text") / "run"
    p = cli("train", "--model", "text-ae", "--data", "grammar", "--hidden", "16",
            "--embed-dim", "8", "--latent-dim", "2", "--epochs", "1", "--threads", "1",
            "--quiet", "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture
def copy(run, tmp_path) -> Path:
    shutil.copytree(run, tmp_path / "copy")
    return tmp_path / "copy"


@pytest.mark.parametrize("damage", [
    lambda t: t[: len(t) // 2],  # truncated
    lambda t: "\x00\x01garbage",
    lambda t: "[1, 2, 3]",
    lambda t: t.replace('"kind": "vae"', '"kind": ["vae"]'),
])
def test_a_damaged_config_is_named(copy, damage):
    path = copy / "config.json"
    path.write_text(damage(path.read_text()))
    assert_one_error(cli("info", str(copy)), "config.json")


def test_a_checkpoint_without_metadata_is_named(copy):
    path = copy / "checkpoint" / "state.safetensors"
    save_file(load_file(str(path)), str(path))  # the same tensors, no metadata
    assert_one_error(cli("train", "--resume", "--epochs", "2", "--quiet", "--out", str(copy)),
               "state.safetensors")


def test_a_checkpoint_of_another_optimizer_is_named(copy):
    path = copy / "checkpoint" / "state.safetensors"
    tensors = load_file(str(path))
    moment = next(k for k in tensors if k.startswith("optim.") and tensors[k].ndim)
    tensors[moment] = tensors[moment].flatten()[:3].clone()  # shaped for another parameter
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    save_file(tensors, str(path), metadata=meta)
    weights = (copy / "model.safetensors").read_bytes()
    assert_one_error(cli("train", "--resume", "--epochs", "2", "--quiet", "--out", str(copy)),
               "another optimizer")
    assert (copy / "model.safetensors").read_bytes() == weights  # nothing overwritten
    state = json.loads(meta["state"])
    save_file(load_file(str(path)) | {moment: tensors[moment]}, str(path),
              metadata={"state": json.dumps({**state, "optimizer": "SGD"})})
    assert_one_error(cli("train", "--resume", "--epochs", "2", "--quiet", "--out", str(copy)),
               "another optimizer")


def test_a_codes_cache_without_metadata_is_rebuilt(copy):
    assert cli("dims", str(copy)).returncode == 0
    cache = copy / "atlas" / "codes-test.safetensors"
    good = load_file(str(cache))
    save_file({"mu": good["mu"] * 0 + 99}, str(cache))  # no key: may not be trusted
    p = cli("dims", str(copy))
    assert p.returncode == 0, p.stderr
    assert not (load_file(str(cache))["mu"] == 99).all()


def test_a_vocabulary_of_another_size_is_named(text_run, tmp_path):
    copy = tmp_path / "text"
    shutil.copytree(text_run, copy)
    vocab = json.loads((copy / "vocab.json").read_text())
    vocab["tokens"].append("zzzextra")
    (copy / "vocab.json").write_text(json.dumps(vocab))
    assert_one_error(cli("info", str(copy)), "vocab.json", "tokens")
    (copy / "vocab.json").write_text(json.dumps({"tokens": {"a": 1}}))
    assert_one_error(cli("info", str(copy)), "vocab.json")


def _png(width: int, height: int, rows) -> bytes:
    """A grayscale PNG whose pixel rows come from ``rows`` (compressed as they stream)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(b"\x00" + row) for row in rows) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                            0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_a_png_decompression_bomb_is_refused_before_decoding(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(_png(8, 8, [bytes(8)] * 8))
    side = 20_000  # 400 million pixels in a file of a few hundred kB
    bomb = _png(side, side, (bytes(side) for _ in range(side)))
    assert len(bomb) < 1_000_000
    (folder / "bomb.png").write_bytes(bomb)
    assert_one_error(_train_on(tmp_path, f"images:{folder}"), "bomb.png", "pixels")


def test_a_non_utf8_labels_file_is_named(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(_png(8, 8, [bytes([i * 40]) * 8] * 8))
    (folder / "labels.csv").write_bytes(b"file,label\n0.png,caf\xe9\n")
    assert_one_error(_train_on(tmp_path, f"images:{folder}"), "labels.csv", "UTF-8")


def test_a_gzip_idx_expanding_past_its_stated_size_is_refused(tmp_path):
    d = tmp_path / "fashion-mnist"
    d.mkdir()
    write_idx(d / "t10k-images-idx3-ubyte.gz", np.zeros((4, 28, 28)))
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.zeros(4))
    write_idx(d / "train-labels-idx1-ubyte.gz", np.zeros(2))
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2, 28, 28))
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip: 200 MB of zeros in ~200 kB
    bomb = z.compress(header) + b"".join(z.compress(bytes(1 << 20)) for _ in range(200))
    (d / "train-images-idx3-ubyte.gz").write_bytes(bomb + z.flush())
    assert_one_error(_train_on(tmp_path, "fashion-mnist", "--data-dir", str(tmp_path)),
               "train-images-idx3-ubyte.gz", "expands past")


def test_an_empty_training_set_is_refused_and_writes_nothing(tmp_path):
    d = tmp_path / "fashion-mnist"
    d.mkdir()
    for split, n in (("train", 0), ("t10k", 4)):
        write_idx(d / f"{split}-images-idx3-ubyte.gz", np.zeros((n, 28, 28)))
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", np.zeros(n))
    assert_one_error(_train_on(tmp_path, "fashion-mnist", "--data-dir", str(tmp_path)),
               "training set is empty")
