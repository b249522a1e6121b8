"""Point labels in the window, Qt-free: :class:`PointLabelPart` (``model.point_labels``).

- Colours: with the view's colour mode ``"class"`` or ``"instance"`` (``gui.colors.LABEL_MODES``)
  the 3D view, the BEV and the LiDAR-in-camera overlay draw the current sweep through a
  :class:`~gui.model.layers.PointLabelLayer` (``layer``): class colours of the document's class
  table, or a colour per instance; unlabelled points bright magenta and on top. Points of other
  LiDARs than the labelled one are dimmed.
- ``legend()``: the classes present in the current sweep with their point counts;
  ``labelled_share(frame)``: the share of labelled points (the timeline's marks, for the frames
  held in memory).
- The tools: ``tool`` (a :class:`~fusionlabel.tools.pointlabel.PointLabelTool`, the controller's
  ``"label_points"`` tool: BEV lasso / brush with a height band, the current class
  ``set_class(name)``), and the sequence tools ``fill_from_boxes``, ``ground_and_road`` and
  ``cleanup`` (``fusionlabel.pointlabels.tools``), each one undoable command, computed in a
  background job and pushed on the GUI thread.

- Accumulated sweeps (``view.accumulate`` > 0): :meth:`PointLabelPart.shown_frames` are the
  current frame and those around it; the views draw all of them by label and a BEV stroke labels
  each sweep's own points in one step (the tool's ``sweeps_of``).
- Camera lasso: with the lasso on, a drag in a camera panel labels the current sweep's points
  whose projection falls inside it (``nearest_only``: the visible surface only); the stroke is
  drawn by :class:`ImageStrokeLayer` in the panel it belongs to.

A sequence without point labels gets empty ones (sized from its sweeps) on the first edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fusionlabel.pointlabels.classes import UNLABELLED, ClassTable
from fusionlabel.pointlabels.store import PointLabels
from fusionlabel.tools.pointlabel import PointLabelTool
from gui.colors import LABEL_MODES
from gui.model.camproj import CameraView, LineGroup
from gui.model.layers import LegendEntry, PointClass, PointLabelLayer
from gui.model.viewedit import OneValueLayer

#: Colour of points of a LiDAR that is not the labelled one (RGB 0-255).
OTHER_LIDAR_COLOR = (70, 70, 70)
#: Pen of a camera lasso being drawn: RGB 0-255, width px, pattern.
STROKE_PEN = ((255, 255, 255), 1.5, "")


class ImageStrokeLayer(OneValueLayer):
    """A camera lasso being drawn (``value``: ``(camera name, ((u, v), ...))`` image px, or
    None), a closed polyline in the panel of that camera; nothing elsewhere."""

    kind = "point_lasso"

    def camera_lines(self, view: CameraView) -> list[LineGroup]:
        v = self.value
        if v is None or v[0] != view.name or len(v[1]) < 2:
            return []
        poly = np.asarray(v[1] + (v[1][0],), dtype=np.float64)
        color, width, pattern = STROKE_PEN
        return [LineGroup(self._alpha(color), width, pattern, (poly,))]


def layer_for(table: ClassTable) -> PointLabelLayer:
    """A point-label layer over the classes of ``table`` (unlabelled: 255)."""
    return PointLabelLayer([PointClass(c.index, c.name, tuple(int(v) for v in c.color)) for c in table],
                           unlabelled_id=UNLABELLED)


def labelled_slice(fd: Any, sensor: str | None, n_labels: int) -> slice | None:
    """Where the labelled LiDAR's points lie in ``fd.pts_world`` (all LiDARs stacked):
    ``fd.memo["lidar_slices"][sensor]``; the whole sweep when it has as many points as labels;
    None when they do not fit."""
    slices = fd.memo.get("lidar_slices") or {}
    s = slices.get(sensor) if sensor is not None else None
    if s is None and len(slices) == 1:
        s = next(iter(slices.values()))
    if s is not None and s[1] - s[0] == n_labels:
        return slice(int(s[0]), int(s[1]))
    if (fd.n if hasattr(fd, "n") else len(fd.pts_world)) == n_labels:
        return slice(0, n_labels)
    return None


class PointLabelPart:
    """The window's point labels (module doc). ``model``: the :class:`~gui.model.ViewerModel`;
    ``on_changed()`` is called after the labels or the layer changed (the window redraws)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.layer: PointLabelLayer | None = None
        self._table: ClassTable | None = None
        self.current_class = "static.vegetation"
        self.on_changed: Callable[[], None] | None = None
        self.tool: PointLabelTool | None = None
        self.fd: Any = None  # the frame drawn last (gui.frames.FrameData)

    # ---- the labels ---------------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        return self.model.session

    def labels(self, create: bool = False) -> PointLabels | None:
        """The document's point labels (``create``: attach empty ones when it has none)."""
        s = self.session
        if s is None:
            return None
        if s.doc.point_labels is None and create:
            names = list(getattr(s.loaded, "lidar_names", []))
            if not names:
                return None
            sensor, loaded = names[0], s.loaded

            def point_count(f: int) -> int:
                pc = loaded.read_lidar(f, sensor)
                return 0 if pc is None else len(pc)

            s.doc.attach_point_labels(PointLabels(ClassTable.default(), len(s), sensor=sensor,
                                                  point_count=point_count))
        return s.doc.point_labels  # type: ignore[no-any-return]

    def table(self) -> ClassTable:
        labels = self.labels()
        return labels.table if labels is not None else ClassTable.default()

    def _layer(self) -> PointLabelLayer:
        table = self.table()
        if self.layer is None or self._table is not table:
            old = self.layer
            self.layer = layer_for(table)
            self._table = table
            if old is not None:
                self.layer.color_by = old.color_by
        return self.layer

    def active(self) -> bool:
        """True when the view colours points by their labels."""
        return self.model.view.color_mode in LABEL_MODES

    def frame_points(self, fd: Any) -> NDArray[np.floating] | None:
        """World points (N, 3) of the labelled LiDAR in frame ``fd`` (the tool's points)."""
        labels = self.labels(create=True)
        if labels is None or fd is None:
            return None
        n = len(labels.get(fd.index))
        sl = labelled_slice(fd, labels.sensor, n)
        return None if sl is None else fd.pts_world[sl]

    def shown_frames(self) -> list[Any]:
        """The frames drawn now (``gui.frames.FrameData``): the current one first, then the
        accumulated ones (``view.accumulate`` before and after, within the sequence)."""
        s, fd = self.session, self.fd
        if s is None or fd is None:
            return []
        acc = int(self.model.view.accumulate)
        if acc <= 0 or getattr(s, "frames", None) is None:
            return [fd]
        n = len(s)
        get_part = getattr(s.frames, "get_part", None)  # the sweeps' points: no camera images read
        return [fd] + [get_part(f) if get_part is not None else s.frames.get(f, prefetch=False)
                       for f in range(fd.index - acc, fd.index + acc + 1) if f != fd.index and 0 <= f < n]

    def shown_sweeps(self) -> list[tuple[int, NDArray[np.floating]]]:
        """``[(frame, world points (N, 3))]`` of the labelled LiDAR in the frames drawn, when
        sweeps are accumulated (the tool's ``sweeps_of``); empty otherwise (the current frame)."""
        frames = self.shown_frames()
        if len(frames) < 2:
            return []
        out = []
        for fd in frames:
            pts = self.frame_points(fd)
            if pts is not None:
                out.append((int(fd.index), pts))
        return out

    def colors(self, fd: Any) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
        """(N, 3) uint8 colours and (N,) drawing order of every point of ``fd.pts_world`` by its
        label (the view's colour mode), for the 3D view, the BEV and the camera overlay."""
        self.fd = fd
        layer = self._layer()
        layer.color_by = "instance" if self.model.view.color_mode == "instance" else "class"
        n_all = fd.n if hasattr(fd, "n") else len(fd.pts_world)
        rgb = np.tile(np.array(OTHER_LIDAR_COLOR, np.uint8), (n_all, 1))
        order = np.zeros(n_all, np.float32)
        labels = self.labels()
        if labels is None:
            layer.set_labels(np.full(n_all, UNLABELLED, np.uint16))
            return layer.colors(), layer.order()
        lab = labels.get(fd.index)
        sl = labelled_slice(fd, labels.sensor, len(lab))
        if sl is None:
            return rgb, order
        layer.set_labels(lab.semantic.astype(np.uint16), lab.instance)
        rgb[sl] = layer.colors()
        order[sl] = layer.order()
        return rgb, order

    def shown_colors(self, fd: Any) -> tuple[NDArray[np.float32], NDArray[np.uint8], NDArray[np.float32]]:
        """Every point of the frames drawn (:meth:`shown_frames`, ``fd`` the current one) with its
        colour and drawing order by label: world points (M, 3) float32, (M, 3) uint8, (M,); the
        current frame's points come first (``len(fd.pts_world)`` of them)."""
        self.fd = fd
        frames = self.shown_frames()
        parts = [(f.pts_world, *self.colors(f)) for f in frames]
        self.fd = fd
        if len(parts) == 1:
            return parts[0]  # type: ignore[return-value]
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]

    def legend(self) -> list[LegendEntry]:
        """The classes of the current sweep and their counts (after :meth:`colors`)."""
        fd = self.fd
        labels = self.labels()
        if labels is None or fd is None:
            return []
        layer = self._layer()
        lab = labels.get(fd.index)
        layer.set_labels(lab.semantic.astype(np.uint16), lab.instance)
        return layer.legend()

    def labelled_share(self, frame: int) -> float | None:
        """Share of labelled points of ``frame`` when its labels are known without reading a
        sweep (held in memory or stored), else None."""
        labels = self.labels()
        if labels is None or not labels.has(frame):
            return None
        return float(labels.get(frame).labelled_share())

    # ---- the lasso / brush tool -------------------------------------------------------------------
    def set_class(self, name: str) -> None:
        """The class the lasso and the brush give (a name of the class table)."""
        idx = self.table().index(name)  # ModelError when unknown
        self.current_class = name
        if self.tool is not None:
            self.tool.semantic = idx

    def make_tool(self, ctx: Any, points_of: Callable[[], NDArray[np.floating] | None]) -> PointLabelTool:
        """The controller's ``"label_points"`` tool for a session's context."""
        tool = PointLabelTool(ctx, points_of)
        tool.semantic = self.table().index(self.current_class)
        tool.z_band = self.tool.z_band if self.tool is not None else None
        tool.mode = self.tool.mode if self.tool is not None else "lasso"
        tool.nearest_only = self.tool.nearest_only if self.tool is not None else False
        tool.sweeps_of = self.shown_sweeps
        self.tool = tool
        return tool

    def use_tool(self, mode: str) -> None:
        """Switch to the lasso (``"lasso"``) or the brush (``"brush"``); again: back to editing
        boxes. The points are coloured by class while labelling."""
        ctl = self.model.controller
        if ctl is None or self.tool is None:
            return
        if ctl.active_name == "label_points" and self.tool.mode == mode:
            ctl.set_tool("edit")
            return
        self.labels(create=True)
        self.tool.set_mode(mode)
        ctl.set_tool("label_points")
        if not self.active():
            self.model.view.color_mode = "class"
        where = "the BEV or a camera panel" if mode == "lasso" else "the BEV"
        self.model.show_message(f"{mode}: left drag in {where} labels points as {self.current_class}", 5000)

    # ---- sequence tools ------------------------------------------------------------------------------
    def _sweeps(self) -> Any:
        from formats.pointlabels import sweeps_of

        labels = self.labels(create=True)
        return sweeps_of(self.session.loaded, labels.sensor if labels is not None else None)

    def _run(self, name: str, make: Callable[[Any], Any]) -> None:
        """Compute a command in a background job; push it on the GUI thread."""
        s = self.session
        if s is None or self.labels(create=True) is None:
            return
        sweeps = self._sweeps()
        doc, undo = s.doc, s.undo

        def finished(job: Any) -> None:
            if job.state != "done" or self.session is not s:
                self.model.show_message(f"{name}: {job.error or job.state}", 8000)
                return
            cmd = job.result
            if cmd is None:
                self.model.show_message(f"{name}: nothing to change", 5000)
                return
            undo.push(cmd)
            self.model.show_message(f"{name}: {cmd.changed_points} points in {len(cmd.frames)} frames "
                                    f"({job.seconds:.1f} s)", 8000)
            if not self.active():
                self.model.view.color_mode = "class"

        self.model.jobs.submit(name, lambda job: make((doc, sweeps)), finished=finished)

    def fill_from_boxes(self) -> None:
        """Every point inside a track's box gets its class and instance, in every frame (one step)."""
        from fusionlabel.pointlabels.tools import fill_from_boxes

        self._run("fill from boxes", lambda a: fill_from_boxes(a[0], a[1], ontology=self.session.ontology))

    def ground_and_road(self) -> None:
        """Ground points of every sweep become road (near the ego's path) or ground (one step)."""
        from fusionlabel.pointlabels.tools import ground_and_road

        self._run("ground and road", lambda a: ground_and_road(a[0], a[1]))

    def cleanup(self) -> None:
        """Small pieces of a label take their nearest labelled neighbour's (one step)."""
        from fusionlabel.pointlabels.tools import cleanup_small_clusters

        self._run("point-label cleanup", lambda a: cleanup_small_clusters(a[0], a[1]))

    def cycle_color(self) -> str:
        """Colour points by class, then by instance, then back to height."""
        v = self.model.view
        v.color_mode = {"class": "instance", "instance": "height"}.get(v.color_mode, "class")
        return v.color_mode  # type: ignore[no-any-return]
