"""Outputs that cannot be written: a missing folder, a device file, a read-only run folder and
a full disk. Each is one ``error:`` line and exit status 2, found before the heavy work where it
can be; a read-only run still serves every command that only reads it."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from .conftest import assert_one_error, cli, cli_process


@pytest.fixture(scope="module")
def run(tiny_run) -> Path:
    return tiny_run


@pytest.mark.parametrize("command", [
    ("sample", "{run}", "-n", "4"),
    ("reconstruct", "{run}"),
    ("grid", "{run}", "--corners", "0,1,2,3"),
    ("map", "{run}"),
    ("knobs", "{run}", "--items", "2"),
    ("export", "{run}"),
])
def test_an_output_in_a_missing_folder_is_refused_first(run, tmp_path, command):
    out = tmp_path / "no" / "such" / "out.png"
    p = cli(*(c.format(run=run) for c in command), "--out", str(out))
    assert_one_error(p, "--out", "does not exist")
    assert not (tmp_path / "no").exists()


def test_a_device_file_is_never_replaced(run):
    p = cli("sample", str(run), "-n", "4", "--out", "/dev/null")
    assert_one_error(p, "/dev/null", "not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_train_into_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    p = cli("train", "--data", "shapes", "--epochs", "1", "--out", str(tmp_path / "notes.txt"))
    assert_one_error(p, "not a folder")
    assert (tmp_path / "notes.txt").read_text() == "keep"


@contextlib.contextmanager
def _read_only(folder: Path):
    """``folder`` made read-only for real: a read-only bind mount when we are root (root
    writes through file modes), else its write bits removed."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    for args in (["mount", "--bind", str(folder), str(folder)],
                 ["mount", "-o", "remount,ro,bind", str(folder)]):
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            subprocess.run(["umount", str(folder)], capture_output=True)
            pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_run_serves_reading_commands_and_says_so_once(run, tmp_path):
    ro = tmp_path / "ro"
    shutil.copytree(run, ro, ignore=shutil.ignore_patterns("atlas"))  # no cached codes
    with _read_only(ro):
        with pytest.raises(OSError):
            (ro / "probe").write_text("x")
        p = cli_process("dims", str(ro))
        assert p.returncode == 0, p.stderr
        notes = [line for line in p.stderr.splitlines() if line.startswith("note:")]
        assert len(notes) == 1 and "cannot write" in notes[0], p.stderr  # once for 2 splits
        p = cli_process("export", str(ro), "--knobs", "2", "--steps", "2", "--items", "2",
                        "--out", str(tmp_path / "page.html"))
        assert p.returncode == 0, p.stderr
        assert (tmp_path / "page.html").stat().st_size > 1000
        p = cli_process("sample", str(ro), "-n", "4", "--out", str(tmp_path / "s.png"))
        assert p.returncode == 0 and (tmp_path / "s.png").is_file(), p.stderr
        from latentatlas.explorer import Explorer

        view = Explorer([ro]).runs["ro"]
        assert not view.writable and len(view.codes) == 64
        from latentatlas.errors import UserError

        with pytest.raises(UserError, match="read-only"):
            view.create_concept("left", [0, 1], [2, 3])
        assert_one_error(cli("sample", str(ro), "-n", "4", "--out", str(ro / "s.png")),
                   "cannot write")
        assert not (ro / "atlas").exists()


def test_a_full_disk_is_one_error_line(run, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        p = cli("train", "--data", "shapes", "--n-train", "256", "--n-test", "64", "--hidden",
                "64", "--latent-dim", "3", "--epochs", "1", "--threads", "1", "--quiet",
                "--out", str(disk / "run"))
        assert_one_error(p, "No space left")
        assert not list(disk.rglob(".*.tmp"))  # no half-written file stays behind
        (disk / "filler").write_bytes(b"\0" * (40 << 10))
        p = cli("sample", str(run), "-n", "64", "--out", str(disk / "big.png"))
        assert_one_error(p, "No space left")
        assert not (disk / "big.png").exists()
    finally:
        subprocess.run(["umount", str(disk)], check=True)
