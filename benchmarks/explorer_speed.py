"""Speed of the explorer's decode endpoint on 127.0.0.1, against a naive handler, same run.

Two servers on the same fashion-mnist MLP VAE, one after the other, each in its own process:
ours (`latentatlas explore`: concurrent requests gathered into one model call on one worker
thread, torch at 1 thread) and a naive FastAPI handler (one model call and one PNG encode per
request, no batching, no cache, torch at its default threads). For each:

- one client, sequential requests: round trip from request to PNG bytes, p50 and p99 (ms);
- 50 concurrent clients for 10 s (keep-alive HTTP/1.1 over asyncio streams, a fresh random z per
  request so no cache can help): decodes per second and errors.

Then the browser: Playwright drives Debian's Chromium against our server, moving a knob slider
40 times; slider input to updated image, median (ms). Every load stops by itself and targets
127.0.0.1 only.

    python benchmarks/explorer_speed.py [--run runs/demo-small] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read()) from None
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


class Conn:
    """One keep-alive HTTP/1.1 connection, just enough for POST JSON -> bytes."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection(HOST, port))

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/json\r\nContent-Length: "
                          + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (ln.partition(b":") for ln in lines[1:])
                      if k.lower() == b"content-length")
        return status, await self.reader.readexactly(length)


def body(dim: int, rng: random.Random) -> bytes:
    return json.dumps({"z": [round(rng.gauss(0, 1), 4) for _ in range(dim)]}).encode()


async def sequential(port: int, path: str, dim: int, n: int) -> list[float]:
    rng = random.Random(0)
    conn = await Conn.open(port)
    times = []
    for _ in range(n):
        b = body(dim, rng)
        t = time.perf_counter()
        status, png = await conn.post(path, b)
        times.append((time.perf_counter() - t) * 1000)
        assert status == 200 and png[:4] == b"\x89PNG", (status, png[:200])
    conn.writer.close()
    return times


async def load(port: int, path: str, dim: int, clients: int, seconds: float) -> dict:
    done, errors = 0, 0
    stop = time.perf_counter() + seconds

    async def client(i: int) -> None:
        nonlocal done, errors
        rng = random.Random(i + 1)
        conn = await Conn.open(port)
        while time.perf_counter() < stop:
            try:
                status, png = await conn.post(path, body(dim, rng))
                ok = status == 200 and png[:4] == b"\x89PNG"
            except (OSError, asyncio.IncompleteReadError):
                ok = False
                conn = await Conn.open(port)
            done += ok
            errors += not ok
        conn.writer.close()

    t = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - t
    return {"decodes_per_s": round(done / wall, 1), "decodes": done, "errors": errors,
            "seconds": round(wall, 2)}


def measure(port: int, path: str, dim: int, seconds: float) -> dict:
    asyncio.run(sequential(port, path, dim, 50))  # warm-up
    times = asyncio.run(sequential(port, path, dim, 1000))
    q = statistics.quantiles(times, n=100)
    return {"p50_ms": round(statistics.median(times), 3), "p99_ms": round(q[98], 3),
            "concurrent_50": asyncio.run(load(port, path, dim, 50, seconds))}


def serve_naive(run: str, port: int) -> None:
    """The baseline: a plain handler, one model call and one PNG encode per request."""
    import torch
    import uvicorn
    from fastapi import Body, FastAPI, Response

    from latentatlas import load as load_run
    from latentatlas.explorer.session import png_bytes

    model = load_run(run)
    app = FastAPI()

    @app.post("/decode.png")
    def decode(req: dict = Body(...)) -> Response:  # noqa: B008 (FastAPI's idiom)
        with torch.no_grad():
            image = model.decode(torch.tensor([req["z"]], dtype=torch.float32))[0]
        return Response(png_bytes(image), media_type="image/png")

    uvicorn.run(app, host=HOST, port=port, log_level="warning")


def browser_latency(url: str, moves: int = 40) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        page = b.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        slider = page.locator("#knobs input[type=range]").first
        page.evaluate("window.__latencies = []")
        for i in range(moves):
            slider.fill(f"{-2.5 + 5 * (i % 20) / 19:.3f}")
            page.wait_for_function(f"window.__latencies.length >= {i + 1}", timeout=10_000)
        lat = page.evaluate("window.__latencies")
        b.close()
    return {"moves": moves, "median_ms": round(statistics.median(lat), 2),
            "p90_ms": round(statistics.quantiles(lat, n=10)[8], 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="an image run (default: train a 784-400-20 VAE for an epoch)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--serve-naive", nargs=2, metavar=("RUN", "PORT"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.serve_naive:
        serve_naive(a.serve_naive[0], int(a.serve_naive[1]))
        return
    run = a.run
    if run is None:
        run = tempfile.mkdtemp(prefix="latentatlas-bench-") + "/vae"
        subprocess.run([sys.executable, "-m", "latentatlas", "train", "--epochs", "1", "--out",
                        run, "--quiet"], check=True)
    from latentatlas.models import read_config

    dim = read_config(run)["model"]["latent_dim"]
    rid = Path(run).name
    env = {**os.environ}
    result = {"benchmark": "explorer_speed", "run": run, "latent_dim": dim, "host": HOST}
    servers = {
        "ours": ([sys.executable, "-m", "latentatlas", "explore", run, "--threads", "1"],
                 f"/api/runs/{rid}/decode.png"),
        "naive": ([sys.executable, __file__, "--serve-naive", run], "/decode.png"),
    }
    for name, (cmd, path) in servers.items():
        port = free_port()
        proc = subprocess.Popen([*cmd, "--port", str(port)] if name == "ours" else
                                [*cmd, str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_port(port, proc)
            result[name] = measure(port, path, dim, a.seconds)
            if name == "ours" and Path("/usr/bin/chromium").exists():
                result["browser_slider_to_image"] = browser_latency(f"http://{HOST}:{port}/")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    o, n = result["ours"], result["naive"]
    result["throughput_ratio_vs_naive"] = round(o["concurrent_50"]["decodes_per_s"]
                                                / max(n["concurrent_50"]["decodes_per_s"], 1e-9), 2)
    result["targets"] = {
        "p50_under_2ms": o["p50_ms"] < 2, "p99_under_10ms": o["p99_ms"] < 10,
        "1000_per_s_with_50_clients": o["concurrent_50"]["decodes_per_s"] >= 1000,
        "zero_errors": o["concurrent_50"]["errors"] == 0,
        "browser_median_under_30ms": result.get("browser_slider_to_image", {}).get(
            "median_ms", float("inf")) < 30,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
