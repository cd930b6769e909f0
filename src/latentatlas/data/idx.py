"""A reader for the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed).

IDX: two zero bytes, a type code, the number of dimensions, each dimension as a big-endian
uint32, then the values in C order.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import UserError

_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


MAX_BYTES = 4 << 30  # the largest data an IDX header may state (Fashion-MNIST's is 47 MB)


def _gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress a gzip IDX file no further than its header says it holds, so a small file
    that expands without end (a gzip bomb) is refused after reading at most that much."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = d.decompress(raw, 4 + 4 * 255)  # enough for the longest header
    if len(out) < 4 or out[:2] != b"\0\0" or out[2] not in _DTYPES:
        return out  # not an IDX header: read_idx says what is wrong
    header = 4 + 4 * out[3]
    if len(out) < header:
        return out  # the stream ends inside the header: read_idx says so
    shape = [int.from_bytes(out[4 + 4 * i: 8 + 4 * i], "big") for i in range(out[3])]
    total = header + int(np.prod(shape, dtype=object)) * _DTYPES[out[2]].itemsize
    if total - header > MAX_BYTES:
        raise UserError(f"{path}: its header states {total - header:,} bytes of data, more "
                        f"than the {MAX_BYTES:,} this reader takes")
    if len(out) <= total:
        out += d.decompress(d.unconsumed_tail, total + 1 - len(out))
    if len(out) > total:
        raise UserError(f"{path} expands past the {total - header:,} bytes its header states "
                        "(corrupted, or not an IDX file)")
    if not d.eof:
        raise EOFError("the compressed stream ends early")
    return out


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file; a truncated, corrupted or non-IDX file raises ``UserError`` naming it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = _gunzip(raw, path)
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"cannot read {path}: {e} (the file is truncated or corrupted)") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise UserError(f"{path} is not an IDX file (bad magic number)")
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise UserError(f"{path} is truncated: its IDX header is incomplete")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(
            f"{path} is truncated or corrupted: header says {shape} ({expected:,} bytes of data) "
            f"but the file holds {len(raw) - header:,}"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` (uint8) as IDX; gzip when ``compress`` or when the name ends in ``.gz``."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    raw = header + array.tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        raw = gzip.compress(raw, compresslevel=6)
    path.write_bytes(raw)
