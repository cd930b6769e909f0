import json
import os
import socket
import subprocess
import sys

import latentatlas

from .conftest import REPO


def _two_processes(*train_args: str) -> subprocess.CompletedProcess:
    """``latentatlas train ARGS`` under torchrun, two gloo processes of one thread each."""
    # gloo on the CPU even where a GPU is (one GPU cannot hold two nccl ranks)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
           "CUDA_VISIBLE_DEVICES": ""}
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_meet_through_a_c10d_rendezvous(tmp_path):
    """Two torchrun agents, as on two machines (one process each), find each other through
    the rendezvous endpoint the README gives for several machines, and train one run."""
    out, port = tmp_path / "nodes", _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}  # gloo
    agents = [subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node",
         "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id",
         "latentatlas-test", "-m", "latentatlas", "train", "--data", "shapes", "--n-train",
         "512", "--n-test", "64", "--hidden", "32", "--latent-dim", "4", "--epochs", "2",
         "--out", str(out)], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [a.communicate(timeout=300) for a in agents]
    for agent, (_, err) in zip(agents, results, strict=True):
        assert agent.returncode == 0, err[-2000:]
    assert sum(stdout.count("done:") for stdout, _ in results) == 1, "only rank 0 reports"
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["epochs"] == 2
    assert latentatlas.load(out).latent_dim == 4


def test_one_process_under_torchrun_joins_a_group(tmp_path):
    """torchrun with one process goes through a process group of one: gloo on CPU, nccl
    where a GPU is (the lent GPU machine runs this test); then trains a run there."""
    script = tmp_path / "probe.py"
    script.write_text("from latentatlas.train import distributed as d\n"
                      "g = d.setup()\n"
                      "print(g.joined, g.world, g.all_reduce({'x': 2.0})['x'])\n"
                      "d.teardown(g)\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "1"]
    proc = subprocess.run([*run, str(script)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "1", "2.0"]
    out = tmp_path / "one"
    proc = subprocess.run([*run, "-m", "latentatlas", "train", "--data", "shapes", "--n-train",
                           "256", "--n-test", "64", "--hidden", "16", "--latent-dim", "2",
                           "--epochs", "1", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("done:") == 1
    assert latentatlas.load(out).latent_dim == 2
