"""Screenshots of map work on a synthetic scene: the window (BEV with the accumulated world and the
map elements, 3D view, cameras) and each camera panel alone. Usage (needs a display; headless:
``xvfb-run -a``): ``python scripts/map_screenshots.py OUT_DIR [--frames 10]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--frames", type=int, default=10)
    a = ap.parse_args()
    from PyQt6.QtWidgets import QApplication

    from fusionlabel.cli import generate
    from gui.qt.window import MainWindow

    a.out.mkdir(parents=True, exist_ok=True)
    scene = a.out / "scene"
    if not (scene / "fusionlabel.json").exists():
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
    win.registry.run("tool_map_edit", win.model)
    mw.edit_tool.select(min(win.session.doc.map_elements))  # one element drawn selected
    win.bev.set_view(None, 9.0)
    for _ in range(5):
        app.processEvents()
    win.screenshot().save(str(a.out / "window.png"))
    win.bev.grab().save(str(a.out / "bev.png"))
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
    win.main_split.setSizes([50, 950])
    for _ in range(5):
        app.processEvents()
    for name, panel in win.camera_grid.panels.items():
        panel.grab().save(str(a.out / f"camera_{name}.png"))
    print(f"{a.out}: window.png, bev.png, camera_*.png; {len(win.session.doc.map_elements)} map elements, "
          f"accumulated {len(mw.accumulated.frames)} sweeps -> {len(mw.accumulated)} cells")
    win.close()


if __name__ == "__main__":
    main()
