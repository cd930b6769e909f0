import gzip

import numpy as np
import pytest

from latentatlas.data.idx import read_idx, write_idx
from latentatlas.errors import UserError


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_roundtrip_plain_and_gzip(tmp_path, name):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, a)
    np.testing.assert_array_equal(read_idx(tmp_path / name), a)


def test_big_endian_int32_values(tmp_path):
    raw = bytes([0, 0, 0x0C, 1]) + (3).to_bytes(4, "big") + b"".join(
        v.to_bytes(4, "big", signed=True) for v in (1, -2, 70000))
    (tmp_path / "x").write_bytes(raw)
    assert read_idx(tmp_path / "x").tolist() == [1, -2, 70000]


def test_truncated_plain_file_names_the_file(tmp_path):
    write_idx(tmp_path / "x", np.zeros((10, 28, 28)))
    data = (tmp_path / "x").read_bytes()
    (tmp_path / "x").write_bytes(data[:-100])
    with pytest.raises(UserError, match=r"x is truncated"):
        read_idx(tmp_path / "x")


def test_truncated_gzip_names_the_file(tmp_path):
    write_idx(tmp_path / "x.gz", np.ones((50, 28, 28)))
    data = (tmp_path / "x.gz").read_bytes()
    (tmp_path / "x.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"x\.gz.*truncated or corrupted"):
        read_idx(tmp_path / "x.gz")


def test_gzip_of_short_payload_is_caught(tmp_path):
    raw = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (5, 28, 28)) + b"\0" * 99
    (tmp_path / "y.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(UserError, match="y.gz is truncated or corrupted"):
        read_idx(tmp_path / "y.gz")


def test_not_idx(tmp_path):
    (tmp_path / "z").write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(UserError, match="not an IDX file"):
        read_idx(tmp_path / "z")
