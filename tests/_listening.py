"""Waiting for a server started as a subprocess to accept connections on loopback."""

from __future__ import annotations

import socket
import subprocess
import time


def wait_until_listening(proc: subprocess.Popen, port: int, timeout_s: float = 30.0) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; AssertionError (with the process's stderr when it
    was captured) if the process exits first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stderr = proc.stderr.read() if proc.stderr is not None and proc.poll() is not None else ""
                raise AssertionError(f"server did not start on port {port}: {stderr}") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """Terminate ``proc`` and wait for it; kill it if it does not exit within ``timeout_s``."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
