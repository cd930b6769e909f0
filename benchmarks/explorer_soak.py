"""Soak of the explorer: 50 clients for 10 minutes against `latentatlas explore` on 127.0.0.1.

Each client is a person at the page: it drags a knob slider (one decode.png at a time, the z a
random walk along the run's PCA knobs, 20-60 ms between moves), and now and then opens an item,
interpolates two items, decodes a batch of 8, or reloads the map and the concept list. Every
answer is checked (status 200 and a PNG or JSON body). Measured per minute: requests, errors,
p50 and p99 latency; the server's resident memory every 5 s.

Pass: zero errors, resident memory at the end within 10% of what it was after the first
minute, and the last minute's p99 within 1.5x of the second minute's (the first is warm-up).

    python benchmarks/explorer_soak.py [--run runs/demo-small] [--clients 50] [--seconds 600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from explorer_speed import Conn, free_port, wait_port


class Client(Conn):
    """A keep-alive connection that also GETs."""

    async def get(self, path: str) -> tuple[int, bytes]:
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(v) for k, _, v in (ln.partition(b":") for ln in lines[1:])
                      if k.lower() == b"content-length")
        return int(lines[0].split()[1]), await self.reader.readexactly(length)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def soak(port: int, rid: str, info: dict, clients: int, seconds: float,
               pid: int) -> dict:
    knobs = info["knobs"]
    comps, mean, scale = knobs["components"], knobs["mean"], knobs["scale"]
    n_items = info["n_items"]
    start = time.perf_counter()
    stop = start + seconds
    windows: dict[int, list[float]] = {}
    errors: dict[int, int] = {}
    memory: list[tuple[float, float]] = []

    def z_of(values: list[float]) -> list[float]:
        return [round(m + sum(v * s * c[d] for v, s, c in zip(values, scale, comps,
                                                              strict=True)), 5)
                for d, m in enumerate(mean)]

    async def user(i: int) -> None:
        rng = random.Random(i)
        conn = await Client.open(port)
        values = [0.0] * len(comps)
        while time.perf_counter() < stop:
            roll = rng.random()
            t = time.perf_counter()
            try:
                if roll < 0.05:
                    status, out = await conn.get(f"/api/runs/{rid}/items/{rng.randrange(n_items)}")
                    ok = status == 200 and b'"z"' in out
                elif roll < 0.08:
                    a, b = rng.randrange(n_items), rng.randrange(n_items)
                    status, out = await conn.post(f"/api/runs/{rid}/interpolate", json.dumps(
                        {"a": a, "b": b, "steps": 8}).encode())
                    ok = status == 200 and out.count(b"data:image/png") == 8
                elif roll < 0.13:
                    batch = [z_of([rng.gauss(0, 1) for _ in comps]) for _ in range(8)]
                    status, out = await conn.post(f"/api/runs/{rid}/decode",
                                                  json.dumps({"z": batch}).encode())
                    ok = status == 200 and out.count(b"data:image/png") == 8
                elif roll < 0.14:
                    status, out = await conn.get(f"/api/runs/{rid}/map")
                    ok = status == 200 and b'"points"' in out
                elif roll < 0.15:
                    status, out = await conn.get(f"/api/runs/{rid}/concepts")
                    ok = status == 200 and out.startswith(b"[")
                else:  # drag the slider
                    k = rng.randrange(len(values))
                    values[k] = max(-3.0, min(3.0, values[k] + rng.gauss(0, 0.15)))
                    status, out = await conn.post(f"/api/runs/{rid}/decode.png",
                                                  json.dumps({"z": z_of(values)}).encode())
                    ok = status == 200 and out[:4] == b"\x89PNG"
            except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration):
                ok = False
                conn = await Client.open(port)
            minute = int((time.perf_counter() - start) // 60)
            windows.setdefault(minute, []).append((time.perf_counter() - t) * 1000)
            errors[minute] = errors.get(minute, 0) + (not ok)
            await asyncio.sleep(rng.uniform(0.02, 0.06))
        conn.writer.close()

    async def watch() -> None:
        while time.perf_counter() < stop:
            memory.append((time.perf_counter() - start, rss_mb(pid)))
            await asyncio.sleep(5)
        memory.append((time.perf_counter() - start, rss_mb(pid)))

    await asyncio.gather(watch(), *(user(i) for i in range(clients)))
    per_minute = []
    for m in sorted(windows):
        lat = windows[m]
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
        per_minute.append({"minute": m + 1, "requests": len(lat), "errors": errors[m],
                           "p50_ms": round(statistics.median(lat), 2),
                           "p99_ms": round(q[98], 2)})
    after_first = [mb for t, mb in memory if t >= 60] or [memory[-1][1]]
    return {"per_minute": per_minute, "memory_mb": [round(mb, 1) for _, mb in memory[::12]],
            "rss_mb_after_1min": round(after_first[0], 1), "rss_mb_end": round(memory[-1][1], 1),
            "rss_mb_max": round(max(mb for _, mb in memory), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="an image run (default: train a 784-400-20 VAE for an epoch)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=600.0)
    a = p.parse_args()
    run = a.run
    if run is None:
        run = tempfile.mkdtemp(prefix="latentatlas-soak-") + "/vae"
        subprocess.run([sys.executable, "-m", "latentatlas", "train", "--epochs", "1", "--out",
                        run, "--quiet"], check=True)
    rid = Path(run).name
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "latentatlas", "explore", run, "--threads",
                             "1", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc)

        async def describe() -> dict:
            conn = await Client.open(port)
            status, out = await conn.get(f"/api/runs/{rid}")
            conn.writer.close()
            assert status == 200, out[:300]
            return json.loads(out)

        info = asyncio.run(describe())
        result = asyncio.run(soak(port, rid, info, a.clients, a.seconds, proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    minutes = result["per_minute"]
    typical = statistics.median(m["requests"] for m in minutes)
    full = [m for m in minutes if m["requests"] >= typical / 2]  # not a last partial minute
    total = sum(m["requests"] for m in minutes)
    errs = sum(m["errors"] for m in minutes)
    growth = 100 * (result["rss_mb_end"] / result["rss_mb_after_1min"] - 1)
    p99_ratio = full[-1]["p99_ms"] / full[1]["p99_ms"] if len(full) > 2 else float("nan")
    out = {"benchmark": "explorer_soak", "run": run, "clients": a.clients,
           "seconds": a.seconds, "requests": total, "errors": errs,
           "requests_per_s": round(total / a.seconds, 1),
           "rss_growth_after_first_minute_pct": round(growth, 2),
           "p99_last_minute_over_second": round(p99_ratio, 3), **result,
           "targets": {"zero_errors": errs == 0, "rss_growth_under_10pct": growth < 10,
                       "p99_flat_within_1_5x": p99_ratio < 1.5}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
