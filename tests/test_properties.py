"""Property-based fuzzing (hypothesis, derandomized so every run draws the same inputs): no
input to a file reader or to the explorer's API gives anything but a result, a ``UserError`` or
a 4xx answer. Each test is bounded by its example count."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from latentatlas.data.idx import read_idx
from latentatlas.data.small_sets import load_folder
from latentatlas.data.text import fortunes, read_lines
from latentatlas.data.vocab import Vocab
from latentatlas.errors import UserError
from latentatlas.models.rundir import load, read_config, read_metrics

FUZZ = settings(derandomize=True, deadline=None, max_examples=150, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=6),
    max_leaves=30)


def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="latentatlas-fuzz-"))


def _idx_bytes(draw) -> bytes:
    """Bytes near the IDX format: a real header with odd dims and types, or noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    dims = draw(st.lists(st.integers(0, 40), min_size=0, max_size=4))
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07, 0xFF]))
    header = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + draw(st.binary(max_size=300))


@FUZZ
@given(st.data())
def test_the_idx_reader_returns_an_array_or_a_user_error(data):
    raw = _idx_bytes(data.draw)
    if data.draw(st.booleans()):
        raw = gzip.compress(raw)
        raw = raw[: data.draw(st.integers(0, len(raw)))]  # possibly truncated
    path = _workdir() / "x-idx3-ubyte.gz"
    try:
        path.write_bytes(raw)
        try:
            out = read_idx(path)
        except UserError as e:
            assert str(path) in str(e)
        else:
            assert isinstance(out, np.ndarray)
    finally:
        shutil.rmtree(path.parent)


def _png(draw) -> bytes:
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "1", "P", "I;16", "LA"]))
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG")
    raw = buf.getvalue()
    cut = draw(st.sampled_from([None, len(raw) // 2, 8]))
    return raw if cut is None else raw[:cut]


@FUZZ
@given(st.data())
def test_the_image_folder_loader_returns_data_or_a_user_error(data):
    folder = _workdir()
    try:
        for i in range(data.draw(st.integers(0, 5))):
            name = f"{i}{data.draw(st.sampled_from(['.png', '.PNG', '.jpg', '.txt']))}"
            raw = _png(data.draw) if data.draw(st.booleans()) else data.draw(st.binary(
                max_size=64))
            (folder / name).write_bytes(raw)
        if data.draw(st.booleans()):
            (folder / "labels.csv").write_bytes(data.draw(st.binary(max_size=80)))
        size = data.draw(st.sampled_from([None, 4]))
        try:
            out = load_folder(folder, image_size=size)
        except UserError:
            pass
        else:
            assert len(out.train_x) + len(out.test_x) >= 2
    finally:
        shutil.rmtree(folder)


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: t.encode()))
def test_the_text_loaders_return_texts_or_a_user_error(raw):
    folder = _workdir()
    try:
        (folder / "corpus.txt").write_bytes(raw)
        try:
            texts, labels, context = read_lines(folder / "corpus.txt")
        except UserError:
            pass
        else:
            assert texts and all(isinstance(t, str) and t for t in texts)
        (folder / "fortunes").mkdir()
        (folder / "fortunes" / "odd").write_bytes(raw)
        try:
            texts, labels = fortunes(folder / "fortunes")
        except UserError:
            pass
        else:
            assert len(texts) == len(labels)
        (folder / "vocab.json").write_bytes(raw)
        with pytest.raises(UserError):
            Vocab.load(folder / "vocab.json")  # never a list starting with the specials
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module")
def run_files(tiny_run) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tiny_run.iterdir() if p.is_file()}


@FUZZ
@given(st.data())
def test_the_run_loader_returns_a_model_or_a_user_error(run_files, data):
    """A run folder whose config.json and metrics.jsonl are replaced by fuzz: JSON of any
    shape, the real config with one field changed, or bytes."""
    folder = _workdir()
    try:
        for name, raw in run_files.items():
            (folder / name).write_bytes(raw)
        config = json.loads(run_files["config.json"])
        how = data.draw(st.sampled_from(["field", "model-field", "json", "bytes"]))
        if how == "field":
            config[data.draw(st.sampled_from(sorted(config)))] = data.draw(json_values)
        elif how == "model-field":
            config["model"][data.draw(st.sampled_from(sorted(config["model"])))] = \
                data.draw(json_values)
        else:
            config = data.draw(json_values)
        text = json.dumps(config) if how != "bytes" else None
        (folder / "config.json").write_bytes(
            text.encode() if text is not None else data.draw(st.binary(max_size=100)))
        (folder / "metrics.jsonl").write_bytes(data.draw(st.binary(max_size=60))
                                               if data.draw(st.booleans())
                                               else run_files["metrics.jsonl"])
        for read in (read_config, load, read_metrics):
            try:
                read(folder)
            except UserError:
                pass
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module")
def api(tiny_run, tmp_path_factory):
    """The explorer's API over two copies of a run (concepts made by the fuzz go to them)."""
    from fastapi.testclient import TestClient

    from latentatlas.explorer import Explorer
    from latentatlas.explorer.app import create_app

    root = tmp_path_factory.mktemp("fuzz-api")
    for name in ("a", "b"):
        shutil.copytree(tiny_run, root / name)
    return TestClient(create_app(Explorer([root / "a", root / "b"])),
                      base_url="http://127.0.0.1:8765")


numbers = (st.floats(allow_nan=True, allow_infinity=True) | st.integers(-2**70, 2**70)
           | st.booleans() | st.none() | st.text(max_size=5))
codes = st.lists(numbers, max_size=5) | st.lists(st.lists(numbers, max_size=5), max_size=4)
FIELDS = {
    "decode": {"z": codes},
    "decode.png": {"z": codes},
    "interpolate": {"a": numbers, "b": numbers, "steps": numbers,
                    "method": st.sampled_from(["lerp", "slerp", "", "cubic"]) | numbers},
    "concepts": {"name": st.text(max_size=120) | numbers,
                 "positive": st.lists(numbers, max_size=6), "negative": st.lists(numbers,
                                                                                 max_size=6),
                 "method": st.sampled_from(["groups", "probe", "x"]) | numbers},
    "translate": {"to": st.sampled_from(["a", "b", "", "../a"]) | st.text(max_size=80),
                  "z": codes},
}


@FUZZ
@given(st.data())
def test_no_request_body_gives_a_server_error(api, data):
    endpoint = data.draw(st.sampled_from(sorted(FIELDS)))
    if data.draw(st.booleans()):  # the right fields (some left out), values of any type
        fields = {k: data.draw(v) for k, v in FIELDS[endpoint].items() if data.draw(
            st.integers(0, 5))}
        body = json.dumps(fields, allow_nan=True)
    else:
        body = json.dumps(data.draw(json_values), allow_nan=True)
    rid = data.draw(st.sampled_from(["a", "b", "c"]))
    r = api.post(f"/api/runs/{rid}/{endpoint}", content=body,
                 headers={"content-type": "application/json"})
    assert r.status_code < 500, (endpoint, body[:300], r.text[:300])
    assert len(r.content) < 2_000_000


@FUZZ
@given(st.sampled_from(["items", "concepts", "map", "knobs", ""]),
       st.text(max_size=30) | st.integers(-2**70, 2**70).map(str))
def test_no_path_gives_a_server_error(api, what, value):
    from urllib.parse import quote

    r = api.get(f"/api/runs/a/{what}/{quote(value, safe='')}")
    assert r.status_code < 500, (what, value, r.text[:300])
    r = api.get(f"/api/runs/{quote(value, safe='')}")
    assert r.status_code < 500, (value, r.text[:300])
