"""Runs ``simgen render`` as the console command does (signal watcher, os._exit with Blender loaded) and reports
the render phases to a file, so that a test can send SIGINT/SIGTERM inside a chosen phase.

argv: PHASE_FILE HOLD_PHASE simgen-args...   HOLD_PHASE (labels, reflection, writing or none) is kept busy for a
few seconds (inside Blender's render call for labels/reflection, before writing a frame for writing), so that the
signal lands in it; the beauty render needs no help (its samples keep Cycles busy)."""

from __future__ import annotations

import os
import sys
import time

phase_file, hold, *args = sys.argv[1:]


def announce(phase: str) -> None:
    with open(phase_file, "a") as f:
        f.write(phase + "\n")
        f.flush()


def main() -> None:
    from simgen import interrupt

    interrupt.install()  # before anything starts a thread, as simgen.cli.run does
    import bpy

    held = set()

    @bpy.app.handlers.persistent  # survives the factory reset of the scene build
    def render_pre(scene, *_):
        layer = next((v.name for v in scene.view_layers if v.use), "?")
        announce(layer)
        if layer == hold and layer not in held:
            held.add(layer)
            time.sleep(4)  # the main thread is inside bpy.ops.render.render here

    bpy.app.handlers.render_pre.append(render_pre)
    from simgen.io.dataset import DatasetWriter

    real = DatasetWriter.write_frame

    def write_frame(self, *a, **k):
        announce("writing")
        if hold == "writing" and "writing" not in held:
            held.add("writing")
            time.sleep(4)
        return real(self, *a, **k)

    DatasetWriter.write_frame = write_frame
    from simgen.cli import main as cli_main

    rc = cli_main(args)
    announce(f"exit {rc}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


main()
