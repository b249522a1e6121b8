"""The labeling workstation's entry point: ``fusionlabel open PATH [--frame N] [--screenshot
OUT.png]`` and ``fusionlabel demo`` end here (:func:`main`, :func:`run`, :func:`build_parser`).
The window itself is :mod:`gui.qt.window`, its state the Qt-free model :mod:`gui.model`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PyQt6.QtWidgets import QApplication, QWidget

from formats.openargs import add_open_arguments
from gui.qt.prompts import APP_NAME, Prompter
from gui.qt.saving import restore_note
from gui.qt.window import create_window

__all__ = ["APP_NAME", "Prompter", "build_parser", "main", "restore_note", "run"]


def build_parser() -> argparse.ArgumentParser:
    """The ``fusionlabel open`` arguments (also used by ``fusionlabel demo``)."""
    p = argparse.ArgumentParser(prog="fusionlabel open", description="open a sequence in the labeling workstation")
    p.add_argument("path", nargs="?", type=Path, help="sequence (any supported layout) or project file")
    p.add_argument("--frame", type=int, default=0, help="frame to show first (0-based)")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window with the data loaded, then exit")
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--select", type=int, default=None, help="select this track id first")
    add_open_arguments(p)  # --format, --estimate-poses and the other loader options
    return p


def run(args: argparse.Namespace, prompter: Prompter | None = None) -> int:
    """Run the window for parsed arguments (see :func:`build_parser`); returns the exit code."""
    display = any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    if QApplication.instance() is None and sys.platform.startswith("linux") and not display:
        # Qt would abort the whole process; say what to do instead
        print("fusionlabel open: no display (DISPLAY is not set); run it in a desktop session or under "
              "xvfb-run -a -s '-screen 0 1600x1000x24' (the 3D view needs X or Wayland, not 'offscreen')",
              file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    win = create_window(prompter)
    try:
        w, h = (int(v) for v in str(getattr(args, "size", "1600x1000")).lower().split("x"))
    except ValueError:
        print(f"fusionlabel open: bad --size {args.size!r}", file=sys.stderr)
        return 2
    win.resize(w, h)
    win.show()
    if args.path is None:
        return 0 if args.screenshot else app.exec()
    status = {"ok": None}

    def on_loaded() -> None:
        status["ok"] = True
        if args.frame:
            win.set_frame(args.frame)
        if getattr(args, "select", None) is not None:
            win.select(args.select)

    def on_failed(msg: str) -> None:
        status["ok"] = False
        if args.screenshot:
            print(f"fusionlabel open: {msg}", file=sys.stderr)

    win.loaded.connect(on_loaded)
    win.load_failed.connect(on_failed)
    if args.screenshot:
        class _Quiet(Prompter):
            def error(self, parent: QWidget, title: str, text: str) -> None:
                print(f"fusionlabel open: {title}: {text}", file=sys.stderr)

        win.prompter = prompter or _Quiet()
        win.recovery_enabled = False  # a screenshot run leaves a recovery copy alone
    win.open_path(args.path, open_args=args)
    if not args.screenshot:
        return app.exec()
    while status["ok"] is None:
        app.processEvents()
        time.sleep(0.01)
    if not status["ok"]:
        win.close()
        return 2
    for _ in range(5):
        app.processEvents()
        time.sleep(0.02)
    img = win.screenshot()
    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    ok = img.save(str(args.screenshot))
    win.keeper.recovered = False
    if win.session is not None:
        win.session.undo.mark_clean()  # a screenshot run never asks to save
    win.close()
    if not ok:
        print(f"fusionlabel open: cannot write {args.screenshot}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``fusionlabel open`` / ``fusionlabel demo`` entry: ``argv`` like the command line (without
    the program name). Returns the exit code."""
    args = build_parser().parse_args(list(argv) if argv is not None else sys.argv[1:])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
