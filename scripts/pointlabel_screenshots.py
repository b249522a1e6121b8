"""Screenshots of point labelling on a sequence (synthetic, or a real sample): the window by class
after fill from boxes and ground and road, a camera lasso being drawn and its result, the BEV with
accumulated sweeps after one stroke over them, and the QA findings of the point-label checks.
Usage (needs a display; headless: ``xvfb-run -a``):
``python scripts/pointlabel_screenshots.py OUT_DIR [--path DATASET] [--frame N]`` (no ``--path``:
a synthetic scene generated into OUT_DIR/scene)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _spin(app, n: int = 5) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        app.processEvents()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--path", type=Path, default=None)
    ap.add_argument("--frame", type=int, default=0)
    a = ap.parse_args()
    from PyQt6.QtWidgets import QApplication

    from formats.pointlabels import sweeps_of
    from fusionlabel.cli import generate
    from fusionlabel.pointlabels.commands import label_points
    from fusionlabel.pointlabels.tools import fill_from_boxes, ground_and_road
    from fusionlabel.tools import PointerEvent
    from gui.qt.window import MainWindow

    a.out.mkdir(parents=True, exist_ok=True)
    path = a.path
    if path is None:
        path = a.out / "scene"
        if not (path / "fusionlabel.json").exists():
            generate(path, frames=6, seed=0, cameras=6, size=(640, 360), force=True)
    from gui.qt.prompts import Prompter

    class Discard(Prompter):  # the demo's edits are not kept
        def ask_save_changes(self, parent: object) -> str:  # type: ignore[override]
            return "discard"

    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow(Discard(), recovery=False)
    win.resize(1900, 1150)
    win.show()
    done: list[bool] = []
    win.loaded.connect(lambda: done.append(True))
    win.open_path(path)
    while not done:
        app.processEvents()
    s, part = win.session, win.model.point_labels
    win.set_frame(a.frame)
    _spin(app)
    n = len(s)
    near = [f for f in range(a.frame - 2, a.frame + 3) if 0 <= f < n]
    labels = part.labels(create=True)
    if a.path is not None:  # a real sample: label it from its boxes and its ground
        sweeps = sweeps_of(s.loaded, labels.sensor)
        for cmd in (fill_from_boxes(s.doc, sweeps, frames=near, ontology=s.ontology),
                    ground_and_road(s.doc, sweeps, frames=near, road_width=(8.0, 8.0))):
            if cmd is not None:
                s.undo.push(cmd)
    win.set_color_mode("class")
    win.model.view.camera_points = True
    _spin(app)
    win.screenshot().save(str(a.out / "window_class.png"))
    # a camera lasso in the panel that sees most points, drawn and then released
    win.registry.run("point_lasso", win.model)
    win.point_labels.dock_widget.class_box.setCurrentText("static.manmade")
    lasso = win.point_labels.camera_lasso
    pts = part.frame_points(win.drawing.fd)
    best = None
    for name in win.camera_grid.panels:
        cam = lasso.camera_frame(name)
        T = np.linalg.inv(cam.T_world_from_cam)
        _, _, valid = cam.camera.project(pts @ T[:3, :3].T + T[:3, 3])
        if best is None or valid.sum() > best[1]:
            best = (name, int(valid.sum()), cam.camera.width, cam.camera.height)
    name, _, W, H = best
    from PyQt6.QtWidgets import QDockWidget

    docks = [d for d in win.findChildren(QDockWidget) if d.isVisible()]
    for dock in docks:  # the cameras larger while the lasso is shown
        dock.hide()
    sizes = win.widgets.main_split.sizes()
    win.widgets.main_split.setSizes([50, 950])
    _spin(app)
    poly = np.array([[0.55, 0.35], [0.9, 0.4], [0.85, 0.75], [0.6, 0.7]]) * [W, H]
    tool = part.tool
    tool.on_pointer(PointerEvent.in_camera("press", name, tuple(poly[0])))
    for p in poly[1:]:
        tool.on_pointer(PointerEvent.in_camera("move", name, tuple(p)))
    _spin(app)
    panel = win.camera_grid.panels[name]
    panel.grab().save(str(a.out / f"camera_lasso_drawing_{name}.png"))
    steps = len(s.undo)
    tool.on_pointer(PointerEvent.in_camera("release", name, tuple(poly[-1])))
    _spin(app)
    panel.grab().save(str(a.out / f"camera_lasso_done_{name}.png"))
    cam_count = tool.last_count
    for dock in docks:
        dock.show()
    win.widgets.main_split.setSizes(sizes)
    # accumulated sweeps: one BEV stroke (a band beside the ego's path) over every sweep shown
    win.model.view.accumulate = 2
    _spin(app)
    T = win.drawing.fd.T_world_from_ego
    square = [tuple((T @ [x, y, 0.0, 1.0])[:2]) for x, y in ((-10, 9), (14, 9), (14, 16), (-10, 16))]
    win.point_labels.dock_widget.class_box.setCurrentText("static.vegetation")
    tool.on_pointer(PointerEvent("press", square[0], "left", view="bev", pixels_per_metre=win.bev.scale))
    for p in square[1:]:
        tool.on_pointer(PointerEvent("move", p, "left", view="bev", pixels_per_metre=win.bev.scale))
    tool.on_pointer(PointerEvent("release", square[-1], "left", view="bev", pixels_per_metre=win.bev.scale))
    acc_cmd = s.undo.steps()[-1] if len(s.undo) > steps + 1 else "(nothing)"
    _spin(app)
    win.bev.grab().save(str(a.out / "bev_accumulated.png"))
    win.model.view.accumulate = 0
    # QA: a few points of the box with most points erased, a few relabelled: the findings dock
    lab = labels.get(a.frame)
    inst = lab.instance[lab.instance > 0]
    if inst.size:
        tid = int(np.bincount(inst).argmax()) - 1
        idx = np.flatnonzero(lab.instance == tid + 1)
        s.undo.push(label_points(a.frame, idx[:8], 255, 0))
        s.undo.push(label_points(a.frame, idx[8:12], labels.table.index("human.pedestrian.adult")))
    win.review.show(True)
    fin: list[object] = []
    win.review.findings.finished.connect(fin.append)
    win.review.run_checks()
    while not fin:
        app.processEvents()
    _spin(app)
    res = win.review.findings.result
    point = [f for f in res.findings if f.check.startswith("point_")] if res is not None else []
    win.review.findings.check_box.setCurrentText("point_class")
    _spin(app)
    win.screenshot().save(str(a.out / "window_qa.png"))
    print(f"{a.out}: camera lasso in {name}: {cam_count} points; accumulated stroke: {acc_cmd}; "
          f"point-label findings: {[(f.check, f.frame, f.track_id) for f in point][:6]}")
    win.close()


if __name__ == "__main__":
    main()
