"""How many torch threads to use: the cores this process may run on that other processes are
not using right now.

PyTorch takes every core by default, and its OpenMP threads wait for each other at the end of
every parallel region; when another process holds one of the cores, the thread that shares it
arrives late at every barrier and the whole team waits (training the 784-400-20 VAE on 2 cores
ran 30x slower beside one busy process). ``free_cores`` samples ``/proc/stat`` for a moment and
subtracts the cores other processes keep busy; ``configure_threads`` applies it (or an explicit
count) once per process, the same way for every command and the explorer, and ``recheck``
(the trainer calls it every epoch) follows a machine that gets busier or quieter later.
"""

from __future__ import annotations

import os
import time

_PROC_STAT = "/proc/stat"
_auto = False  # configure_threads chose the count itself: recheck may change it


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot, or None where /proc/stat is missing."""
    try:
        with open(_PROC_STAT) as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def free_cores(sample_s: float = 0.05) -> int:
    """The usable cores minus those other processes kept busy over the last ``sample_s``
    seconds (rounded), at least 1."""
    cores = usable_cores()
    first = _cpu_times()
    if first is None:
        return cores
    time.sleep(sample_s)
    second = _cpu_times()
    busy, total = second[0] - first[0], second[1] - first[1]
    if total <= 0:
        return cores
    taken = busy / total * (os.cpu_count() or cores)
    return max(1, min(cores, cores - round(taken)))


def configure_threads(n: int | None = None) -> int:
    """Set torch's thread count: ``n``, else under torchrun the cores shared out among the
    local processes, else ``free_cores()``; returns the count."""
    import torch

    global _auto
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    _auto = n is None and local == 1
    if n is None:
        n = max(1, usable_cores() // local) if local > 1 else free_cores()
    torch.set_num_threads(n)
    return n


def recheck() -> int | None:
    """Where ``configure_threads`` chose the count, choose again now (a long job calls this
    between its phases); the count, or None where it was given."""
    if not _auto:
        return None
    import torch

    n = free_cores()
    if n != torch.get_num_threads():
        torch.set_num_threads(n)
    return n
