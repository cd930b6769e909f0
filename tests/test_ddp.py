import json
import os
import subprocess
import sys

import latentatlas

from .conftest import REPO


def _two_processes(*train_args: str) -> subprocess.CompletedProcess:
    """``latentatlas train ARGS`` under torchrun, two gloo processes of one thread each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    return subprocess.run(
        # --standalone: the rendezvous store takes a free port itself (no port picked here and
        # released, which another process could take first)
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "latentatlas", "train", *train_args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_two_process_gloo_run_writes_one_complete_run(tmp_path):
    out = tmp_path / "ddp"
    proc = _two_processes("--data", "shapes", "--n-train", "1024", "--n-test", "128",
                          "--hidden", "32", "--latent-dim", "4", "--epochs", "2", "--out",
                          str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("done:") == 1, "only rank 0 reports"
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert records[1]["train_loss"] < records[0]["train_loss"]
    model = latentatlas.load(out)
    assert model.latent_dim == 4


def test_two_process_gan_trains_every_player_into_one_run(tmp_path):
    out = tmp_path / "gan"
    proc = _two_processes("--model", "gan", "--data", "shapes", "--n-train", "512", "--n-test",
                          "64", "--hidden", "16,32", "--latent-dim", "4", "--epochs", "1",
                          "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("done:") == 1, "only rank 0 reports"
    (record,) = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert {"train_critic", "train_generator", "train_encoder"} <= set(record)
    assert latentatlas.load(out).latent_dim == 4
