"""Screenshots of map work on a synthetic scene (or, with ``--real PATH``, a real sequence): the
window (BEV with the accumulated world and the map elements, 3D view, cameras), the BEV, the 3D view
and each camera panel alone, with the assist's map proposals (dotted lilac; ``--assist lanes`` or
``curbs``) and a map element picked with a click in a camera. Usage (needs a display; headless:
``xvfb-run -a``): ``python scripts/map_screenshots.py OUT_DIR [--frames 10] [--real PATH]
[--assist lanes|curbs]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--real", type=Path, default=None, help="a real sequence instead of the synthetic scene")
    ap.add_argument("--assist", choices=("lanes", "curbs"), default="lanes", help="the map assist to show")
    a = ap.parse_args()
    from PyQt6.QtWidgets import QApplication

    from fusionlabel.cli import generate
    from gui.qt.window import MainWindow

    a.out.mkdir(parents=True, exist_ok=True)
    scene = a.out / "scene" if a.real is None else a.real
    if a.real is None and not (scene / "fusionlabel.json").exists():
        generate(scene, frames=a.frames, seed=0, cameras=6, size=(640, 360), force=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow(recovery=False)
    win.resize(1900, 1150)
    win.show()
    done: list[bool] = []
    win.loaded.connect(lambda: done.append(True))
    win.open_path(scene)
    while not done:
        app.processEvents()
    mw = win.model.map
    mw.start_accumulate(0)
    while mw.accumulated is None:
        app.processEvents()
    mw.proposals.start_extract(a.assist)  # the assist's proposals, dotted lilac
    while mw.proposals.job is not None:
        app.processEvents()
    props = len(mw.proposals.queue or [])
    if a.real is not None and props:  # a real sequence has no map: the best proposal accepted
        mw.proposals.accept()
    if a.real is not None and len(win.session) > 1:
        win.set_frame(1)  # (a real sample may lack the first frame's images)
        for _ in range(20):
            app.processEvents()
    picked = _click_in_camera(win, app)  # a map element picked with a click in a camera panel
    win.bev.set_view(None, 9.0)
    for _ in range(5):
        app.processEvents()
    win.screenshot().save(str(a.out / "window.png"))
    win.bev.grab().save(str(a.out / "bev.png"))
    _save_3d(win, a.out / "view3d.png")
    # an element being drawn: two vertices on the sidewalk and the rubber band to the pointer
    from fusionlabel.tools import PointerEvent

    win.registry.run("tool_map_draw", win.model)
    T = win.drawing.fd.T_world_from_ego
    for fwd in (-8.0, 4.0, 12.0):
        x, y = (T @ [fwd, 13.0, 0.0, 1.0])[:2]
        kind = "press" if fwd < 12.0 else "move"
        win.ctl.on_pointer(PointerEvent(kind, (x, y), "left" if kind == "press" else "none", view="bev",
                                        pixels_per_metre=win.bev.scale))
    for _ in range(3):
        app.processEvents()
    win.bev.grab().save(str(a.out / "bev_drawing.png"))
    win.ctl.cancel()
    win.model.map.draw_tool.cancel()
    from PyQt6.QtWidgets import QDockWidget

    for dock in win.findChildren(QDockWidget):  # the cameras alone, larger
        dock.hide()
    win.widgets.main_split.setSizes([50, 950])
    for _ in range(5):
        app.processEvents()
    for name, panel in win.camera_grid.panels.items():
        panel.grab().save(str(a.out / f"camera_{name}.png"))
    print(f"{a.out}: window.png, bev.png, view3d.png, camera_*.png; {len(win.session.doc.map_elements)} map "
          f"elements, {props} {a.assist} proposals, picked in a camera: {picked}; accumulated "
          f"{len(mw.accumulated.frames)} sweeps -> {len(mw.accumulated)} cells")
    win.session.undo.mark_clean()  # the accepted proposal is not to be saved: no "save changes?" question
    win.close()


def _click_in_camera(win, app) -> object:  # type: ignore[no-untyped-def]
    """Click (a real mouse click) on the projection of a map element in the first camera that
    shows one; returns what was picked (a map element, or a map proposal drawn on it)."""
    import numpy as np
    from PyQt6.QtCore import QPoint, Qt
    from PyQt6.QtTest import QTest

    mw = win.model.map
    for panel in win.camera_grid.panels.values():
        view = panel.camera_view()
        for eid, poly in mw.layer.camera_pieces(view):
            for uv in poly[np.argsort(np.abs(np.arange(len(poly)) - len(poly) // 2))]:  # from the middle out
                if panel.box_at(uv) is None and mw.layer.pick_camera(view, uv)[:1] == [eid]:
                    w = panel.image_to_widget(np.array([uv]))[0]
                    QTest.mouseClick(panel, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                                     QPoint(int(round(w[0])), int(round(w[1]))))
                    app.processEvents()
                    q = mw.proposals.queue
                    if mw.edit_tool.selected is not None:
                        return f"map element {mw.edit_tool.selected}"
                    return None if q is None or q.current is None else f"map proposal {q.current} (under review)"
    return None


def _save_3d(win, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The 3D view's pixels (its own render) as a PNG."""
    import numpy as np
    from PyQt6.QtGui import QImage

    rgba = np.ascontiguousarray(win.view3d.render()[..., :4])
    h, w = rgba.shape[:2]
    QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy().save(str(path))


if __name__ == "__main__":
    main()
