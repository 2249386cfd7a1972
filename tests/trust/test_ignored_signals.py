"""A signal ignored when fleetcheck starts stays ignored: `nohup fleetcheck scan &` outlives
its terminal (SIGHUP), and a background job of a shell without job control keeps running
through a Ctrl-C at the prompt (SIGINT), as the shell intended.

A real process scans this machine (local connection); its `ss` is a stand-in that marks
when it runs and takes a while, so that the signals arrive in the middle of the run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, run_files

# Starts the rest of its argv with SIGHUP and SIGINT ignored, as nohup and a shell's
# background job do (an ignored signal stays ignored across exec).
_IGNORING = ("import os, signal, sys\n"
             "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
             "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "os.execv(sys.argv[1], sys.argv[1:])")


def test_signals_ignored_at_start_do_not_interrupt_the_run(tmp_path: Path) -> None:
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    started, signalled = tmp_path / "ss-started", tmp_path / "signalled"
    ss = fakebin / "ss"
    # the probe runs on until the signals were sent (at most 30 s)
    ss.write_text(f'#!/bin/sh\n: > "{started}"\nn=0\n'
                  f'while [ ! -e "{signalled}" ] && [ $n -lt 600 ]; do\n'
                  f'  sleep 0.05; n=$((n + 1))\ndone\nexec {shutil.which("ss")} "$@"\n')
    ss.chmod(0o755)
    out = tmp_path / "reports"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path), "CI": "true",
           "PATH": f"{fakebin}:{os.environ['PATH']}"}
    proc = subprocess.Popen([sys.executable, "-c", _IGNORING, sys.executable, "-m", "fleetcheck",
                             "scan", "-o", str(out), "--format", "json"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        end = time.monotonic() + 60
        while not started.exists():  # the probe is running: the run is under way
            assert proc.poll() is None and time.monotonic() < end, proc.communicate()
            time.sleep(0.05)
        for sig in (signal.SIGHUP, signal.SIGINT):
            os.killpg(proc.pid, sig)  # as a closed terminal and a Ctrl-C send them
        signalled.touch()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 1), err  # a verdict, not 3 (interrupted) or 130
    assert "interrupted" not in err
    run = json.loads(run_files(out)[0].read_text())
    assert run["complete"] is True and "interrupted_by" not in run["meta"]
    assert all(h["error"] is None for h in run["hosts"]), run["hosts"]
