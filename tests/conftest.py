"""Shared fixtures: small real datasets written in their real formats."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from latentatlas.data.idx import write_idx

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
# what the package trains for itself (reference classifiers) stays out of the home folder
os.environ.setdefault("LATENTATLAS_CACHE", str(Path(tempfile.mkdtemp(prefix="la-cache-"))))


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    """A miniature MNIST-format dataset (gzip IDX files): 64 train and 16 test images."""
    rng = np.random.default_rng(0)
    d = tmp_path / "fashion-mnist"
    d.mkdir()
    for split, n in (("train", 64), ("t10k", 16)):
        write_idx(d / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return d


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A small trained VAE run (shapes, 3-D latent, one epoch) that tests read, never change
    (copy it first)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    p = cli("train", "--data", "shapes", "--n-train", "256", "--n-test", "64", "--hidden",
            "16", "--latent-dim", "3", "--epochs", "1", "--threads", "1", "--quiet",
            "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run the ``latentatlas`` command in this process (its ``main``, as the console script
    calls it), capturing what it prints; torch's thread count is restored afterwards."""
    from latentatlas.cli import main

    out, err = io.StringIO(), io.StringIO()
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # --help and --version exit from argparse
                code = e.code or 0
    finally:
        torch.set_num_threads(threads)
    return subprocess.CompletedProcess(["latentatlas", *args], code, out.getvalue(),
                                       err.getvalue())


def assert_one_error(p: subprocess.CompletedProcess, *words: str) -> None:
    """The command failed as bad input should: exit status 2 and one ``error:`` line that
    holds each of ``words``, no traceback."""
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), p.stderr[-2000:]
    for w in words:
        assert w in lines[0], (w, lines[0])


def cli_process(*args: str, env: dict | None = None, timeout: float = 300,
                cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m latentatlas ARGS`` in a fresh process, one torch thread: the end-to-end
    check that the installed command works as a program."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "latentatlas", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout, cwd=cwd)


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()
