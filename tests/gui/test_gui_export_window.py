"""File > Export in the real window (pytest-qt under Xvfb): a box is nudged (unsaved), the session
is exported to KITTI tracking and OpenLABEL through the menu actions with injected destinations,
the files are read back with ``formats.datasets.open_dataset`` and hold the edited box; the event
loop runs during an export; a failure names the file and leaves the window and its work intact;
Cancel leaves nothing behind."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt

LIDAR = "lidar_top"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-frame synthetic sequence with one small camera."""
    from formats.native import write_synth_scene
    from fusionlabel.synth import SynthConfig, SynthScene

    root = tmp_path_factory.mktemp("gui_export") / "synth"
    write_synth_scene(SynthScene(SynthConfig(frames=3, seed=2, cameras=1, image_size=(160, 90), azimuths=360)), root)
    return root


class Answers:
    """The window's prompter with canned answers (no dialogs)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def ask_save_changes(self, parent: object) -> str:
        return "discard"

    def ask_recover(self, parent: object, path: Path, when: float) -> bool:
        return False

    def error(self, parent: object, title: str, text: str) -> None:
        self.errors.append(f"{title}: {text}")

    def save_path(self, parent: object, suggested: Path) -> Path | None:
        return None

    def open_path(self, parent: object) -> Path | None:
        return None


class ExportAnswers:
    """Export prompts: the destination of the next export, summaries and errors recorded."""

    def __init__(self) -> None:
        self.next: Path | None = None
        self.replace = False
        self.summaries: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.asked_replace: list[Path] = []

    def destination(self, parent: object, title: str, suggested: Path) -> Path | None:
        return self.next

    def confirm_replace(self, parent: object, path: Path) -> bool:
        self.asked_replace.append(path)
        return self.replace

    def summary(self, parent: object, title: str, text: str) -> None:
        self.summaries.append((title, text))

    def error(self, parent: object, title: str, text: str) -> None:
        self.errors.append(f"{title}: {text}")


@pytest.fixture
def window(qtbot, scene: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from PyQt6 import sip

    from gui.qt.window import MainWindow

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    win = MainWindow(Answers(), recovery=False)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_path(scene)
    win.exporter.prompts = ExportAnswers()
    yield win
    if not sip.isdeleted(win):
        win.exporter.wait(30)
        win.close()
    qtbot.wait(5)


def _front_track(win) -> int:  # type: ignore[no-untyped-def]
    """A track whose box at frame 0 is well inside the camera image (KITTI writes only those)."""
    s = win.session
    cam_name = s.camera_names[0]
    cam = s.camera(0, cam_name)
    T = s.T_cam_from_world(0, cam_name)
    best = None
    for r in s.doc.boxes_at(0):
        c = T @ np.array([*r.box.center, 1.0])
        if c[2] < 4.0:
            continue
        uv, _, ok = cam.project(np.asarray(r.box.corners()) @ T[:3, :3].T + T[:3, 3])
        if ok.all() and (best is None or c[2] < best[0]):
            best = (c[2], r.track_id)
    assert best is not None, "no box fully in the camera at frame 0"
    return best[1]


def _T_velo_from_world(loaded, k: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The KITTI writer's velodyne frame: the LiDAR's origin with the ego's axes."""
    from calib.transforms import invert

    T = np.eye(4)
    T[:3, :3] = loaded.rig(k).T("ego", LIDAR)[:3, :3]
    return T @ invert(loaded.T_world_from_sensor(k, LIDAR))


def _errors(a, b) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    from calib.transforms import wrap_angle

    return (float(np.linalg.norm(np.subtract(a.center, b.center))), float(np.abs(np.subtract(a.size, b.size)).max()),
            abs(float(wrap_angle(a.yaw - b.yaw))))


def _export(qtbot, win, key: str, dst: Path) -> None:  # type: ignore[no-untyped-def]
    win.exporter.prompts.next = dst
    with qtbot.waitSignal(win.exporter.finished, timeout=60000):
        win.qactions[f"export_{key}"].trigger()
    qtbot.waitUntil(lambda: not win.exporter.running, timeout=5000)


def test_menu_lists_every_export(window) -> None:  # type: ignore[no-untyped-def]
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    export = next(a.menu() for a in file_menu.actions() if a.menu() is not None and "Export" in a.text())
    texts = [a.text().replace("&", "") for a in export.actions()]
    for want in ("KITTI object", "KITTI tracking", "nuScenes", "OpenLABEL", "Native", "BEV", "Images", "MP4"):
        assert any(want in t for t in texts), (want, texts)


def test_export_edited_session_to_kitti_tracking_and_openlabel(qtbot, window, tmp_path: Path) -> None:
    from formats.datasets import open_dataset

    win = window
    doc = win.session.doc
    tid = _front_track(win)
    win.set_frame(0)
    win.select(tid)
    original = doc.box_at(tid, 0).box
    for _ in range(6):  # W: 5 cm forward along the heading each
        qtbot.keyClick(win.bev, Qt.Key.Key_W)
    edited = doc.box_at(tid, 0).box
    heading = np.array([math.cos(original.yaw), math.sin(original.yaw)])
    assert np.dot(np.subtract(edited.center, original.center)[:2], heading) == pytest.approx(0.30, abs=1e-6)
    assert win.is_modified
    saved_doc = doc.to_dict()

    ticks: list[tuple[float, bool]] = []
    timer = QtCore.QTimer(win)
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append((time.monotonic(), win.exporter.running)))
    timer.start()

    # ---- KITTI tracking
    kt = tmp_path / "kt"
    t0 = time.monotonic()
    _export(qtbot, win, "kitti-tracking", kt)
    took = time.monotonic() - t0
    timer.stop()
    ex = win.exporter
    assert ex.last_error is None and ex.last_summary is not None
    assert ex.last_summary.frames == 3 and ex.last_summary.boxes > 0
    title, text = ex.prompts.summaries[-1]
    assert "3 frames" in text and str(kt) in text and "skipped" in text
    for sub in ("calib/0000.txt", "label_02/0000.txt", "velodyne/0000/000002.bin", "image_02/0000/000000.png"):
        assert (kt / sub).is_file(), sub
    # the event loop ran while the export did (the timer ticked with the export running)
    during = sum(1 for _, running in ticks if running)
    assert during >= 1, (during, took)
    print(f"KITTI tracking export: {took:.2f} s, {during} timer ticks while running")

    back = open_dataset(kt)
    assert back.format == "kitti-tracking" and len(back) == 3
    T = _T_velo_from_world(win.session.loaded, 0)  # the reader's world: the velodyne frame at frame 0
    got = back.annotations.box_at(tid, 0)
    assert got is not None, "the edited track is not in the KITTI tracking export"
    c, s, y = _errors(got.box, edited.transformed(T))
    assert c <= 0.01 and s <= 0.01 and y <= 0.01, (c, s, y)
    assert _errors(got.box, original.transformed(T))[0] > 0.25  # the edit, not the loaded box

    # ---- OpenLABEL
    ol = tmp_path / "ol"
    _export(qtbot, win, "openlabel", ol)
    assert win.exporter.last_summary.frames == 3
    assert "3 frames" in win.exporter.prompts.summaries[-1][1]
    assert (ol / "openlabel.json").is_file()
    # the export's uri refer to the sequence's own files: their folder is named as an extra root
    back = open_dataset(ol, allow_roots=[str(win.session.loaded.info.root)])
    assert back.format == "openlabel"
    got = back.annotations.box_at(tid, 0)
    c, s, y = _errors(got.box, edited)
    assert c <= 0.01 and s <= 0.01 and y <= 0.01
    assert len(back.annotations) == len(doc)

    # the window's work is untouched: still the edited, unsaved document
    assert doc.to_dict() == saved_doc and win.is_modified
    assert not win.exporter.prompts.errors and not win.prompter.errors


def test_export_into_a_non_empty_folder_uses_a_sub_folder(qtbot, window, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _export(qtbot, window, "openlabel", out)
    name = window.session.seq.name
    assert (out / f"{name}-openlabel" / "openlabel.json").is_file()
    assert (out / "keep.txt").read_text() == "mine"
    # again: the sub-folder exists; replacing it is asked, refused -> nothing happens
    window.exporter.prompts.next = out
    assert window.exporter.ask_export("openlabel") is False and not window.exporter.running
    assert window.exporter.prompts.asked_replace == [out / f"{name}-openlabel" / "openlabel.json"]


def test_failure_names_the_file_and_keeps_the_work(qtbot, window, tmp_path: Path) -> None:
    win = window
    tid = win.session.doc.track_ids()[0]
    win.select(tid)
    qtbot.keyClick(win.bev, Qt.Key.Key_W)
    before = win.session.doc.to_dict()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    _export(qtbot, win, "native", blocker)
    assert win.exporter.last_summary is None
    assert len(win.exporter.prompts.errors) == 1
    err = win.exporter.prompts.errors[0]
    assert str(blocker) in err and "not a folder" in err, err
    assert win.session is not None and win.session.doc.to_dict() == before and win.is_modified
    assert blocker.read_text() == "x"
    # the window still works: the next export succeeds
    _export(qtbot, win, "native", tmp_path / "nat")
    assert win.exporter.last_summary.frames == 3 and (tmp_path / "nat" / "fusionlabel.json").is_file()


def test_event_loop_runs_and_cancel_leaves_nothing(qtbot, window, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from gui.export import EXPORTS, ExportKind

    def slow_writer(loaded, dst, *, progress=None, **_):  # type: ignore[no-untyped-def]
        from formats.io import staged_output

        with staged_output(Path(dst)) as tmp:
            for k in range(200):
                (tmp / f"{k}.txt").write_text(str(k))
                time.sleep(0.01)
                if progress is not None:
                    progress(k + 1, 200)
        raise AssertionError("not cancelled")

    monkeypatch.setitem(EXPORTS, "slow", ExportKind("slow", "Slow", slow_writer))
    ticks: list[int] = []
    timer = QtCore.QTimer(window)
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    dst = tmp_path / "slow"
    assert window.exporter.start("slow", dst)
    qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=5000)  # the window keeps running
    assert window.exporter.running
    with qtbot.waitSignal(window.exporter.finished, timeout=10000):
        window.exporter.cancel()
    timer.stop()
    assert window.exporter.last_error == "cancelled" and not window.exporter.prompts.errors
    assert not dst.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".slow")]


def test_every_other_entry_writes_its_layout(qtbot, window, tmp_path: Path) -> None:
    """KITTI object, nuScenes, native, BEV and images + MP4 through the same path (options wired)."""
    expect = {"kitti": "label_2/000000.txt", "nuscenes": "v1.0-fusionlabel/sample_annotation.json",
              "native": "fusionlabel.json", "bev": "meta.json", "images-mp4": "index.json"}
    for key, rel in expect.items():
        dst = tmp_path / key
        _export(qtbot, window, key, dst)
        assert window.exporter.last_error is None, (key, window.exporter.last_error)
        assert window.exporter.last_summary.frames == 3, key
        assert (dst / rel).is_file(), (key, rel)
    assert list((tmp_path / "images-mp4").glob("*.mp4"))
    assert not window.exporter.prompts.errors


def test_opening_another_sequence_during_an_export_of_a_packed_file(qtbot, window, scene: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The packed HDF5 file stays open for the export while the window opens another sequence."""
    from formats.datasets import open_dataset
    from formats.packed import pack
    from gui.export import EXPORTS, ExportKind

    h5 = pack(open_dataset(scene), tmp_path / "scene.h5")
    with qtbot.waitSignal(window.loaded, timeout=30000):
        window.open_path(h5)
    assert window.session.loaded.closer is not None

    def slow_reader(loaded, dst, *, progress=None, **_):  # type: ignore[no-untyped-def]
        from formats.convert import ConvertSummary

        pts = 0
        for k in range(len(loaded)):
            time.sleep(0.15)
            pts += len(loaded.read_lidar(k))
            if progress is not None:
                progress(k + 1, len(loaded))
        Path(dst).mkdir()
        (Path(dst) / "points.txt").write_text(str(pts))
        return ConvertSummary(frames=len(loaded), outputs=[str(dst)])

    monkeypatch.setitem(EXPORTS, "reader", ExportKind("reader", "Reader", slow_reader))
    assert window.exporter.start("reader", tmp_path / "out")
    with qtbot.waitSignal(window.exporter.finished, timeout=30000):
        window.open_path(scene)  # closes the packed session while the export reads it
    assert window.exporter.last_error is None, window.exporter.last_error
    assert int((tmp_path / "out" / "points.txt").read_text()) > 1000
    qtbot.waitUntil(lambda: window.session is not None and window.session.loaded.format == "native", timeout=30000)
