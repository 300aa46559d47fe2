"""Containment inside the child: network blocked, reads outside the sandbox denied, forks bounded,
subprocesses recorded — each attempt written to the tape through ``record``.

Scratch roots (``/tmp``): scripts that hard-code ``/tmp/name`` for a lock or a counter may create a
file there and use the files they created; anything that existed before stays out of reach, and the
parent deletes the created files (tape ``SCRATCH`` events) after the run.

Implemented with ``sys.addaudithook`` (PEP 578): the hook sees ``open``, ``socket.*``,
``subprocess.Popen``, ``os.system``, ``os.fork`` and the like before they happen and can refuse them
by raising. The outer layers (network namespace, rlimits, wall-clock kill) are the parent's.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable

_NET_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo", "socket.gethostbyname",
               "socket.gethostbyaddr", "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect"}
_SPAWN_EVENTS = {"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "pty.spawn"}
_FORK_EVENTS = {"os.fork", "os.forkpty"}

STATE: dict[str, Any] = {"forks": 0, "allow_fork": False}
_local = threading.local()


class trusted:
    """Our own file access (the tape) while the script runs: not checked, not recorded."""

    def __enter__(self) -> None:
        self.before = getattr(_local, "busy", False)
        _local.busy = True

    def __exit__(self, *exc: Any) -> None:
        _local.busy = self.before


def install(config: dict, record: Callable[..., None]) -> None:
    allowed = tuple(os.path.realpath(p) + os.sep for p in config["allowed_read_roots"])
    denied = tuple(os.path.realpath(p) + os.sep for p in config["denied_roots"])
    writable = tuple(os.path.realpath(p) + os.sep for p in config["writable_roots"])
    scratch = tuple(os.path.realpath(p) + os.sep for p in config.get("scratch_roots", ()))
    created: set[str] = set()
    max_forks = int(config.get("max_forks", 8))

    def classify(path: str) -> str:
        real = os.path.realpath(path) + os.sep
        if real.startswith(writable):
            return "work"
        if real.startswith(allowed):
            return "system"
        if real.startswith(denied):
            return "denied"
        return "outside"

    def hook(event: str, args: tuple) -> None:
        if getattr(_local, "busy", False):
            return
        _local.busy = True
        try:
            _handle(event, args)
        finally:
            _local.busy = False

    def _handle(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            if not isinstance(path, (str, bytes, os.PathLike)):
                return
            path = os.fsdecode(path)
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            where = classify(path)
            real = os.path.realpath(path)
            if where == "work":
                record("WRITE" if writing else "READ", path=path)
            elif where == "system" and not writing:
                return
            elif where == "denied" and (real + os.sep).startswith(scratch) and (real in created or (writing and not os.path.lexists(real))):
                created.add(real)
                record("SCRATCH", path=real, write=bool(writing))
            else:
                record("OUTSIDE", path=path, write=bool(writing))
                raise PermissionError(f"pgolf-sandbox: access to {path} is outside the sandbox")
        elif event in _NET_EVENTS:
            record("NET", what=event, target=repr(args[:2])[:200])
            raise PermissionError(f"pgolf-sandbox: network access blocked ({event})")
        elif event in _SPAWN_EVENTS:
            record("SUBPROC", what=event, argv=repr(args[:2])[:300])
        elif event in _FORK_EVENTS:
            if STATE["allow_fork"]:
                return
            STATE["forks"] += 1
            record("FORK", count=STATE["forks"])
            if STATE["forks"] > max_forks:
                raise PermissionError(f"pgolf-sandbox: more than {max_forks} forks refused")

    sys.addaudithook(hook)
