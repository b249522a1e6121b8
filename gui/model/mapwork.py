"""Map work in the window, Qt-free: the map layer, the map tools and their menu actions, and the
accumulated world view (``model.map``).

- ``layer``: a :class:`~gui.model.layers.PolylineLayer` named ``"map"`` holding the document's
  map elements (world frame), refilled on the document's ``map_changed`` events and while a vertex
  is dragged; the window puts it in the BEV, the 3D view and every camera panel (the layer
  projects with the lens model and near-plane clipping). ``draft``: a second layer with the
  element being drawn (rubber band to the pointer). ``visible`` (View > Map elements) shows or
  hides both.
- ``bind(ctx, controller)``: adds :class:`~fusionlabel.tools.maptools.PolylineTool`
  (``"map_draw"``) and :class:`~fusionlabel.tools.maptools.MapEditTool` (``"map_edit"``) to a
  session's tool controller; the vertices' height comes from the accumulated ground when it is
  built, else from the tool context's ground estimate.
- the element commands (reverse, split at the selected vertex, join, delete, class) act on the
  map edit tool's selection; ``new_class`` is the class of drawn elements.
- ``accumulated``: the :class:`~fusionlabel.map.accumulate.AccumulatedCloud` of the last
  :meth:`build_accumulated` (``sweeps`` N spread over the sequence, 0: all), shown instead of the
  frame's sweep while ``show_accumulated`` is on (coloured by intensity).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fusionlabel.document import DocumentEvent
from fusionlabel.map.accumulate import AccumulatedCloud, accumulate_sweeps, intensity_rgb, pick_frames
from fusionlabel.map.element import MAP_CLASSES, map_class
from fusionlabel.tools import maptools
from fusionlabel.tools.maptools import MapEditTool, PolylineTool
from gui.model.evented import Evented, Field
from gui.model.layers import MapElement as PlainElement
from gui.model.layers import PolylineLayer


def _class(v: Any) -> str:
    return map_class(v).name


class MapWork(Evented):
    """See the module doc. ``message(text)`` reports to the status line."""

    visible = Field(True, bool, "map elements drawn in every view")
    new_class = Field("lane_divider", _class, "class of newly drawn map elements")
    show_accumulated = Field(False, bool, "the accumulated world (N sweeps, intensity) instead of the sweep")

    def __init__(self, model: Any = None, message: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.model = model
        self.job: Any = None
        self.events.add("redraw")  # the points to show changed (accumulated view on / off / rebuilt)
        self.layer = PolylineLayer("map")
        self.draft = PolylineLayer("map_draft", opacity=0.9)
        self.message = message or (lambda _t: None)
        self.ctx: Any = None
        self.controller: Any = None
        self.draw_tool: PolylineTool | None = None
        self.edit_tool: MapEditTool | None = None
        self.accumulated: AccumulatedCloud | None = None
        self.sweeps = 0
        self._rgb: np.ndarray | None = None
        self._unsub: Callable[[], None] | None = None
        from gui.model.mapreview import MapProposalWork

        self.proposals = MapProposalWork(model, self.message)  # the assist's proposals under review
        self.events.visible.connect(self._on_visible)
        self.events.new_class.connect(self._on_class)

    # ---- binding ----------------------------------------------------------------------------------
    def bind(self, ctx: Any, controller: Any) -> None:
        """Follow a session's tool context (its document) and add the map tools to ``controller``."""
        self.unbind()
        self.ctx, self.controller = ctx, controller
        ground = self.ground_height
        self.draw_tool = PolylineTool(ctx, self.new_class, ground)
        self.edit_tool = MapEditTool(ctx, ground)
        self.draw_tool.on_change = self.refresh_draft
        self.edit_tool.on_change = self.refresh
        self.draw_tool.on_created = lambda eid: self._after_create(eid)
        controller.tools["map_draw"] = self.draw_tool
        controller.tools["map_edit"] = self.edit_tool
        self._unsub = ctx.doc.subscribe(self._on_doc)
        self.accumulated = None
        self.show_accumulated = False
        self.proposals.bind()
        self.refresh()
        self.refresh_draft()

    def unbind(self) -> None:
        if self._unsub is not None:
            self._unsub()
        self._unsub = None
        self.ctx = self.controller = self.draw_tool = self.edit_tool = None

    def _on_doc(self, ev: DocumentEvent) -> None:
        if ev.kind == "map_changed":
            if self.edit_tool is not None:
                self.edit_tool.validate()
            self.refresh()

    def _on_visible(self, on: bool) -> None:
        self.layer.visible = on
        self.draft.visible = on
        self.proposals.layer.visible = on

    def _on_class(self, label: str) -> None:
        if self.draw_tool is not None:
            self.draw_tool.label = label

    def _after_create(self, eid: int) -> None:
        if self.edit_tool is not None:
            self.edit_tool.select(eid)

    # ---- drawing data -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Refill the map layer from the document (the dragged vertex where the pointer is)."""
        if self.ctx is None:
            self.layer.set_data(())
            return
        m = self.ctx.doc.map_elements
        tool = self.edit_tool
        items = [PlainElement(el.element_id, el.label, tool.shown_vertices(el) if tool else el.vertices, el.closed)
                 for el in (m[k] for k in sorted(m))]
        self.layer.selected = () if tool is None or tool.selected is None else (tool.selected,)
        self.layer.set_data(items)

    def refresh_draft(self) -> None:
        """The element being drawn, with the rubber band to the pointer."""
        t = self.draw_tool
        if t is None or not t.drawing:
            self.draft.set_data(())
            return
        v = t.vertices
        if t.hover is not None:
            x, y = t.hover
            v = np.vstack([v, [x, y, v[-1, 2]]])
        if len(v) < 2:
            v = np.vstack([v, v])
        self.draft.selected = ("draft",)  # drawn like a selected element: white, wider
        self.draft.set_data([PlainElement("draft", t.label, v, False)])

    # ---- tools and commands -----------------------------------------------------------------------
    def set_tool(self, name: str) -> bool:
        """Make ``"map_draw"`` or ``"map_edit"`` the active tool."""
        if self.controller is None:
            return False
        self.controller.set_tool(name)
        return True

    def set_new_class(self, label: str) -> bool:
        self.new_class = label
        self.message(f"new map elements: {label}")
        return True

    def _selected(self) -> int | None:
        sel = None if self.edit_tool is None else self.edit_tool.selected
        if sel is None:
            self.message("select a map element first (map edit tool: click it)")
        return sel

    def _with_selected(self, fn: Callable[[Any, int], object]) -> bool:
        sel = self._selected()
        if sel is not None:
            fn(self.ctx, sel)
        return sel is not None

    def reverse(self) -> bool:
        return self._with_selected(maptools.reverse_element)

    def join(self) -> bool:
        return self._with_selected(maptools.join_nearest)

    def delete(self) -> bool:
        return self._with_selected(maptools.delete_element)

    def resample(self) -> bool:
        """Resample the selected element every metre (one undo step)."""
        return self._with_selected(maptools.resample_element)

    def smooth(self) -> bool:
        """Smooth the selected element over 3 m of arc length (one undo step)."""
        return self._with_selected(maptools.smooth_element)

    def apply_class(self) -> bool:
        """Give the selected element the class of new elements (``new_class``)."""
        return self._with_selected(lambda ctx, sel: maptools.set_element_class(ctx, sel, self.new_class))

    def split(self) -> bool:
        """Split the selected polyline at the map edit tool's selected vertex."""
        sel = self._selected()
        if sel is None:
            return False
        assert self.edit_tool is not None
        v = self.edit_tool.selected_vertex
        if v is None:
            self.message("select an inner vertex to split at")
            return False
        maptools.split_element(self.ctx, sel, v)
        return True

    # ---- picking in the cameras and the 3D view ---------------------------------------------------
    def select(self, element_id: int) -> None:
        """Select map element ``element_id`` with the map edit tool (made the active tool), so that
        the Map menu and Delete act on it; drawn white in every view."""
        if self.edit_tool is None:
            return
        self.set_tool("map_edit")
        self.edit_tool.select(element_id)
        self.refresh()
        el = self.ctx.doc.map_elements.get(element_id)
        if el is not None:
            self.message(f"map element {element_id} ({el.label}, {len(el)} vertices, {el.length():.1f} m) selected")

    def _picked(self, proposal_ids: list[Any], element_ids: list[Any]) -> bool:
        """Make the first proposal hit the one under review, else select the first element hit."""
        if proposal_ids and self.proposals.layer.visible:
            self.proposals.pick(int(proposal_ids[0]))
            self.message(f"map proposal {proposal_ids[0]} under review (Map > Map proposals: accept / reject)")
            return True
        if element_ids and self.layer.visible:
            self.select(int(element_ids[0]))
            return True
        return False

    def pick_camera(self, view: Any, uv: Any) -> bool:
        """A click at image px ``uv`` of a camera (``gui.model.camproj.CameraView``): the map
        proposal or element drawn there (within 6 px; with a map tool active also the polygons
        containing it, after the lines) is picked. True when one was."""
        if self.ctx is None:
            return False
        inner = self.claims_clicks()  # without a map tool a click on the road is no pick of the drivable area
        return self._picked(self.proposals.layer.pick_camera(view, uv, interiors=inner),
                            self.layer.pick_camera(view, uv, interiors=inner))

    def pick_ray(self, origin: Any, direction: Any) -> bool:
        """A click in the 3D view along the viewing ray (world frame): the map proposal or element
        it passes closest (within 0.25 m or 0.7 degrees; polygons it meets after lines) is picked."""
        if self.ctx is None:
            return False
        inner = self.claims_clicks()
        return self._picked(self.proposals.layer.pick_3d(origin, direction, interiors=inner),
                            self.layer.pick_3d(origin, direction, interiors=inner))

    def claims_clicks(self) -> bool:
        """A map tool is active: clicks in the cameras and the 3D view pick map elements first."""
        ctl = self.controller
        return ctl is not None and getattr(ctl, "active_name", None) in ("map_draw", "map_edit")

    # ---- import -------------------------------------------------------------------------------------
    #: Asks the user for a map file (set by the Qt side; None: cancelled).
    ask_open: Callable[[], str | None] | None = None

    def import_file(self, path: str | None = None, kind: str = "auto") -> bool:
        """Map > Import map file: read ``path`` (default: ask) with
        ``formats.maps.imports.read_map_file`` (native, Argoverse 2, MapTR, OpenLABEL) and add its
        elements in one undoable step; a bad file is said in the status line."""
        if self.ctx is None:
            return False
        if path is None:
            path = self.ask_open() if self.ask_open is not None else None
            if not path:
                return False
        from formats.errors import FormatError
        from formats.maps.imports import read_map_file

        try:
            elements = read_map_file(path, kind)
        except (FormatError, OSError, ValueError) as e:
            self.message(f"import map: {e}")
            return False
        from pathlib import Path

        return self.import_elements(elements, Path(path).name) > 0

    def import_elements(self, elements: Any, name: str = "map file", replace: bool = False) -> int:
        """Add ``elements`` (world frame, e.g. ``formats.maps.imports.read_map_file``) as new map
        elements in one undoable step; returns how many."""
        if self.ctx is None:
            return 0
        from fusionlabel.map.commands import ImportMapElements

        cmd = ImportMapElements(list(elements), replace=replace, description=f"Import map {name}")
        self.ctx.stack.push(cmd)
        self.message(f"{len(cmd.element_ids)} map elements imported from {name} (Ctrl+Z undoes it)")
        return len(cmd.element_ids)

    # ---- accumulated world ------------------------------------------------------------------------
    def ground_height(self, x: float, y: float) -> float:
        """A vertex's height: the accumulated ground when built, else the tool context's estimate."""
        if self.accumulated is not None and len(self.accumulated):
            return self.accumulated.ground_height(x, y, default=self.ctx.ground_height(x, y))
        return float(self.ctx.ground_height(x, y))

    def build_accumulated(self, sweep: Callable[[int], tuple[Any, Any]], frame_count: int, sweeps: int,
                          progress: Callable[[int, int], None] | None = None) -> AccumulatedCloud:
        """Accumulate ``sweeps`` sweeps (0: all) read by ``sweep(frame)``; kept in ``accumulated``
        (call from a worker; :meth:`set_accumulated` on the GUI thread shows it)."""
        return accumulate_sweeps(sweep, pick_frames(frame_count, sweeps), progress=progress)

    def start_accumulate(self, sweeps: int) -> bool:
        """Build the accumulated world of ``sweeps`` sweeps (0: all) in a background job of the
        model's job runner (progress in the status line), then show it; ``sweeps`` < 0 turns the
        accumulated view off."""
        m = self.model
        if sweeps < 0:
            self.set_accumulated(None)
            return True
        if m is None or m.session is None or self.job is not None:
            return False
        from gui.session import load_frame

        session = m.session
        loaded, n = session.loaded, len(session)

        def sweep(i: int) -> tuple[Any, Any]:
            fd = load_frame(loaded, i, cameras=False)
            return fd.pts_world, fd.intensity

        def work(job: Any) -> AccumulatedCloud:
            return self.build_accumulated(sweep, n, sweeps, progress=lambda d, t: job.report(d, t, "accumulating"))

        def finished(job: Any) -> None:
            self.job = None
            if m.session is not session:  # another sequence was opened meanwhile
                return
            if job.state == "done":
                c = job.result
                self.set_accumulated(c, sweeps)
                self.message(f"accumulated world: {len(c.frames)} sweeps, {c.raw_points} points -> "
                             f"{len(c)} ground cells of {c.cell:g} m")
            else:
                self.message(f"accumulating failed: {job.error or job.state}")

        self.message(f"accumulating {'all' if sweeps <= 0 else sweeps} sweeps ...")
        self.job = m.jobs.submit("map-accumulate", work, finished=finished)
        return True

    def set_accumulated(self, cloud: AccumulatedCloud | None, sweeps: int = 0) -> None:
        self.accumulated, self.sweeps = cloud, sweeps
        self._rgb = None if cloud is None else intensity_rgb(cloud.intensity)
        self.show_accumulated = cloud is not None
        self.events.redraw.emit()

    def accumulated_points(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(points (M, 3) world, colours (M, 3) uint8 by intensity) to show instead of the sweep,
        or None when the accumulated view is off."""
        if not self.show_accumulated or self.accumulated is None:
            return None
        assert self._rgb is not None
        return self.accumulated.xyz, self._rgb


#: The map classes in menu order.
MAP_CLASS_NAMES = tuple(MAP_CLASSES)
