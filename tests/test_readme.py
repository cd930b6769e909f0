"""The README runs as written: every command of its ``sh`` blocks, in order, from a folder that
holds what ``make demo`` leaves (its runs stood in for by small ones of the same kinds, names and
concepts). Each ``train`` line gets flags appended that cut it to one short epoch (argparse takes
the last value), so the suite stays fast; everything else runs exactly as printed."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from latentatlas.data import availability

from .conftest import REPO, cli

# enough texts that a vocabulary knows the README's words and the test items' (a few seconds)
SHORT = ("--epochs", "1", "--n-train", "1500", "--n-test", "120", "--threads", "1", "--quiet")
SKIP = {"explore": "a server that runs until Ctrl-C: tests/test_explorer.py drives it"}


def readme_commands(text: str) -> list[list[str]]:
    """The ``latentatlas`` commands of the README's ``sh`` blocks as argument lists (``make``
    lines left out; ``NAME=value`` lines set ``$NAME`` for the lines after them)."""
    env: dict[str, str] = {}
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words or words[0] == "make":
                continue
            if len(words) == 1 and re.fullmatch(r"[A-Za-z_]\w*=\S+", words[0]):
                name, value = words[0].split("=", 1)
                env[name] = value
                continue
            assert words[0] == "latentatlas", f"not a latentatlas command: {line}"
            commands.append([re.sub(r"\$(\w+)", lambda m: env[m.group(1)], w)
                             for w in words[1:]])
    return commands


def _demo_runs() -> None:
    """Small stand-ins, in the current folder, for the runs ``make demo`` leaves that the README
    uses: the same kinds, datasets, names and concepts."""
    edit = ("--from", "edit", "--edit", "taller:2", "--pos", "label=Sneaker,Ankle_boot")
    for out, size in (("runs/demo-small", ("--size", "small")),
                      ("runs/shoes/small", ("--hidden", "64")),
                      ("runs/shoes/large", ("--hidden", "128"))):
        p = cli("train", "--model", "vae", "--data", "fashion-mnist", "--latent-dim", "20",
                *size, *SHORT, "--out", out)
        assert p.returncode == 0, p.stderr
        assert cli("concept", out, "shoe-height", *edit).returncode == 0
    for out in ("runs/shoes/small", "runs/shoes/large"):
        p = cli("concept", out, "shoe-brightness", "--from", "edit", "--edit", "brighter:40",
                "--pos", "label=Sneaker,Ankle_boot")
        assert p.returncode == 0, p.stderr


def test_the_readme_commands_are_complete_lines():
    commands = readme_commands((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(commands) > 40
    for words in commands:
        assert not any(w.startswith("[") or "|" in w for w in words if not w.startswith('"')), \
            words  # no [optional] parts or a|b alternatives: a line runs as printed


def test_every_readme_command_runs_after_the_demo(tmp_path, monkeypatch):
    missing = [d for d in ("fashion-mnist", "wordnet", "fortunes")
               if availability(d).startswith("missing")]
    if missing:
        pytest.skip(f"the README uses {', '.join(missing)}: not installed here (make setup "
                    "installs them as root)")
    shutil.copy(REPO / "README.md", tmp_path / "README.md")  # cells reads it
    monkeypatch.chdir(tmp_path)
    _demo_runs()
    failures, ran = [], 0
    for words in readme_commands((REPO / "README.md").read_text(encoding="utf-8")):
        if words[0] in SKIP:
            continue
        args = [*words, *SHORT] if words[0] == "train" else words
        p = cli(*args)
        ran += 1
        if p.returncode != 0:
            failures.append(f"latentatlas {shlex.join(words)}\n  {p.stderr.strip()[-400:]}")
    assert not failures, "\n".join(failures)
    assert ran > 40 and Path("cells.html").is_file() and Path("runs/char-lm").is_dir()


def test_the_readme_python_runs(tmp_path, monkeypatch):
    """The README's Python block, executed as printed (it trains a small model for 2 epochs)."""
    (code,) = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"),
                         re.S)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 (our own README)
    assert scope["x"].shape == (16, 1, 28, 28) and not scope["x"].requires_grad
    assert scope["mu"].shape == (16, 8) and (tmp_path / "runs/shapes-vae/config.json").is_file()
