"""Entry point of the sandboxed child: install containment, CPU shims and the tape, then run the script.

Usage: ``python pgboot.py CONFIG.json`` (the config names the script, the tape file, the allowed
roots and the optional fork plan). The script runs as ``__main__`` with its own path as ``__file__``.
"""

from __future__ import annotations

import json
import os
import runpy
import sys


def _hide_triton_from_torch() -> None:
    """torch caches whether triton exists; let it see none, so only the script meets the stand-in."""
    import torch.utils._triton as tt

    sys.modules["triton"] = None  # type: ignore[assignment]
    try:
        tt.has_triton_package()
        tt.has_triton()
    finally:
        del sys.modules["triton"]


def main() -> int:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    tape_ref: list = []

    def record(kind: str, **data):
        if tape_ref:
            tape_ref[0].record(kind, **data)

    import pgguard

    pgguard.install(config, record)
    import numpy  # noqa: F401 - imported before the tape so its own file reads are not events
    import torch

    torch.set_num_threads(int(config.get("threads", 1)))
    _hide_triton_from_torch()
    import pgcompress
    import pgcuda
    import pgdist
    import pgtape
    import pgfork

    pgcuda.install()
    pgcompress.install()
    pgdist.install()
    tape = pgtape.install(config)
    tape_ref.append(tape)
    script = config["script"]
    import pgcover

    # the line record of the headline pass, from the fork point on, in the control only (the base run and
    # the forked children run untraced: tracing costs about 40% of a run's time)
    cover = pgcover.LineCover(os.path.dirname(script), tape)
    pgfork.install(tape, config.get("fork"), on_fired=cover.start)
    sys.argv = [script, *config.get("argv", [])]
    sys.path.insert(0, os.path.dirname(script))
    rc = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # the script's own failure is data, not a crash of the runner
        pgtape.record_exception(tape, exc)
        import traceback

        traceback.print_exc()
        rc = 1
    cover.record()
    tape.record("END", rc=rc)
    tape.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


if __name__ == "__main__":
    main()
