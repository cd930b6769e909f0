"""Thread counts from the cores other processes leave free, checked with a real busy
process."""

import subprocess
import sys
import time

import pytest
import torch

from latentatlas import threads


@pytest.fixture
def keep_threads():
    n = torch.get_num_threads()
    yield
    threads.configure_threads(n)


def test_a_busy_process_takes_its_core_out_of_the_count():
    cores = threads.usable_cores()
    assert 1 <= threads.free_cores() <= cores
    if cores < 2:
        pytest.skip("one usable core: nothing to take away")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert threads.free_cores(0.2) <= cores - 1
    finally:
        spinner.kill()
        spinner.wait()


def test_a_given_count_is_kept_and_a_chosen_one_is_rechecked(keep_threads):
    assert threads.configure_threads(3) == 3 and torch.get_num_threads() == 3
    assert threads.recheck() is None  # given: never changed behind the user's back
    n = threads.configure_threads()
    assert 1 <= n <= threads.usable_cores() and torch.get_num_threads() == n
    assert threads.recheck() in range(1, threads.usable_cores() + 1)


def test_torchrun_shares_the_cores_among_local_processes(keep_threads, monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    n = threads.configure_threads()
    assert n == max(1, threads.usable_cores() // 2) and threads.recheck() is None
