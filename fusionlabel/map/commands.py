"""Undoable edits of the map elements of an :class:`~fusionlabel.document.AnnotationDocument`.

Each edit is a :class:`~fusionlabel.commands.Command` pushed on the document's
:class:`~fusionlabel.commands.UndoStack`: add / delete an element, move / insert / delete a vertex,
split a polyline at a vertex, join two polylines, reverse, change the class or an attribute, and
replace all vertices (resampling, smoothing). Commands validate before changing anything and keep
the replaced element, so ``revert`` restores it exactly. Vertices are world-frame (metres).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from fusionlabel.commands import Command
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.map.element import MapElement, as_vertices, map_class


class AddMapElement(Command):
    """A new map element of class ``label`` with ``vertices`` (N, 3) world frame. ``element_id``
    None picks a fresh id at the first apply (kept for redo); afterwards ``self.element_id`` is it."""

    def __init__(self, label: str, vertices: ArrayLike, attributes: Mapping[str, str] | None = None,
                 element_id: int | None = None) -> None:
        self.label, self.vertices = label, as_vertices(vertices, f"new {label}")
        self.attributes = dict(attributes or {})
        self.element_id = element_id
        self.description = f"Add {label}"

    def apply(self, doc: AnnotationDocument) -> None:
        eid = doc.new_map_element_id() if self.element_id is None else self.element_id
        doc._put_map_element(MapElement(eid, self.label, self.vertices, self.attributes), replace=False)
        self.element_id = eid

    def revert(self, doc: AnnotationDocument) -> None:
        assert self.element_id is not None
        doc._remove_map_element(self.element_id)


class DeleteMapElement(Command):
    """Remove a map element (restored by revert)."""

    def __init__(self, element_id: int) -> None:
        self.element_id = element_id
        self.description = f"Delete map element {element_id}"
        self._removed: MapElement | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        self._removed = doc._remove_map_element(self.element_id)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._removed is not None
        doc._put_map_element(self._removed, replace=False)


class _EditElement(Command):
    """Replace one element by ``self.edit(old)``; revert puts the old one back."""

    def __init__(self, element_id: int) -> None:
        self.element_id = element_id
        self._previous: MapElement | None = None

    def edit(self, old: MapElement) -> MapElement:
        raise NotImplementedError

    def apply(self, doc: AnnotationDocument) -> None:
        old = doc.map_element(self.element_id)
        self._previous = doc._put_map_element(self.edit(old), replace=True)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None
        doc._put_map_element(self._previous, replace=True)


def _index(el: MapElement, index: int, what: str, n: int | None = None) -> int:
    n = len(el) if n is None else n
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -n <= index < n:
        raise ModelError(f"map element {el.element_id}: {what} index {index!r} out of range for {n}")
    return int(index) % n


def _point(p: ArrayLike, el_id: int) -> np.ndarray:
    return as_vertices(np.reshape(np.asarray(p, dtype=np.float64), (1, -1)), f"map element {el_id} vertex")[0]


class MoveVertex(_EditElement):
    """Move vertex ``index`` to ``position`` (x, y, z) world. Pushes with one non-None
    ``merge_key`` on the same vertex merge into one undo step (a drag)."""

    def __init__(self, element_id: int, index: int, position: ArrayLike, merge_key: Hashable | None = None) -> None:
        super().__init__(element_id)
        self.index, self.position = index, position
        self.merge_key = merge_key
        self.description = f"Move vertex {index} of map element {element_id}"

    def edit(self, old: MapElement) -> MapElement:
        i = _index(old, self.index, "vertex")
        v = np.array(old.vertices)
        v[i] = _point(self.position, old.element_id)
        return old.replace(vertices=v)

    def merge(self, later: Command) -> bool:
        if (isinstance(later, MoveVertex) and later.merge_key == self.merge_key
                and (later.element_id, later.index) == (self.element_id, self.index)):
            self.position = later.position
            return True
        return False


class InsertVertex(_EditElement):
    """Insert ``position`` as the new vertex ``index`` (0 .. N; N appends)."""

    def __init__(self, element_id: int, index: int, position: ArrayLike) -> None:
        super().__init__(element_id)
        self.index, self.position = index, position
        self.description = f"Insert vertex into map element {element_id}"

    def edit(self, old: MapElement) -> MapElement:
        i = _index(old, self.index, "insert", len(old) + 1)
        v = np.insert(np.array(old.vertices), i, _point(self.position, old.element_id), axis=0)
        return old.replace(vertices=v)


class DeleteVertex(_EditElement):
    """Delete vertex ``index`` (refused when the element would fall below its class's minimum)."""

    def __init__(self, element_id: int, index: int) -> None:
        super().__init__(element_id)
        self.index = index
        self.description = f"Delete vertex {index} of map element {element_id}"

    def edit(self, old: MapElement) -> MapElement:
        i = _index(old, self.index, "vertex")
        return old.replace(vertices=np.delete(np.array(old.vertices), i, axis=0))


class ReverseElement(_EditElement):
    """Reverse the vertex order (the direction of a line; a divider's left/right marks swap)."""

    _SWAP = {"solid_dashed": "dashed_solid", "dashed_solid": "solid_dashed"}

    def __init__(self, element_id: int) -> None:
        super().__init__(element_id)
        self.description = f"Reverse map element {element_id}"

    def edit(self, old: MapElement) -> MapElement:
        attrs = dict(old.attributes)
        if "type" in attrs and old.label == "lane_divider":
            attrs["type"] = self._SWAP.get(attrs["type"], attrs["type"])
        return old.replace(vertices=old.vertices[::-1], attributes=attrs)


class SetMapClass(_EditElement):
    """Change the class (polyline classes only to polyline classes, polygons to polygons); the
    attributes the new class does not allow are dropped, its defaults filled in."""

    def __init__(self, element_id: int, label: str) -> None:
        super().__init__(element_id)
        self.label = label
        self.description = f"Set class of map element {element_id} to {label}"

    def edit(self, old: MapElement) -> MapElement:
        if map_class(self.label).closed != old.closed:
            raise ModelError(f"map element {old.element_id}: cannot turn a {old.label} into a {self.label} "
                             "(polyline and polygon classes do not mix)")
        return old.replace(label=self.label)


class SetMapAttribute(_EditElement):
    """Set an attribute to a value allowed by the class, or remove it (``value`` None; a class
    default comes back)."""

    def __init__(self, element_id: int, key: str, value: str | None) -> None:
        super().__init__(element_id)
        self.key, self.value = key, value
        self.description = f"Set {key} of map element {element_id}"

    def edit(self, old: MapElement) -> MapElement:
        attrs = dict(old.attributes)
        if self.value is None:
            attrs.pop(self.key, None)
        else:
            attrs[self.key] = self.value
        return old.replace(attributes=attrs)


class SetVertices(_EditElement):
    """Replace all vertices (resampled or smoothed line; ``description`` says which)."""

    def __init__(self, element_id: int, vertices: ArrayLike, description: str = "") -> None:
        super().__init__(element_id)
        self.vertices = as_vertices(vertices, f"map element {element_id}")
        self.description = description or f"Reshape map element {element_id}"

    def edit(self, old: MapElement) -> MapElement:
        return old.replace(vertices=self.vertices)


class SplitElement(Command):
    """Split a polyline at vertex ``index`` (0 < index < N - 1): the element keeps vertices
    0..index, a new element of the same class and attributes gets index..N-1 (``self.new_id``)."""

    def __init__(self, element_id: int, index: int, new_id: int | None = None) -> None:
        self.element_id, self.index, self.new_id = element_id, index, new_id
        self.description = f"Split map element {element_id}"
        self._previous: MapElement | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        old = doc.map_element(self.element_id)
        if old.closed:
            raise ModelError(f"map element {old.element_id}: a {old.label} (polygon) cannot be split")
        i = _index(old, self.index, "split")
        if not 0 < i < len(old) - 1:
            raise ModelError(f"map element {old.element_id}: split at an inner vertex (1..{len(old) - 2}), got {i}")
        nid = doc.new_map_element_id() if self.new_id is None else self.new_id
        second = MapElement(nid, old.label, old.vertices[i:], old.attributes)
        doc._put_map_element(second, replace=False)
        self._previous = doc._put_map_element(old.replace(vertices=old.vertices[: i + 1]), replace=True)
        self.new_id = nid

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None and self.new_id is not None
        doc._remove_map_element(self.new_id)
        doc._put_map_element(self._previous, replace=True)


class JoinElements(Command):
    """Join polyline ``second`` onto polyline ``first`` (same class): the ends that are closest
    meet (``second`` or both are reversed as needed; a shared end vertex is kept once); ``first``
    keeps its id and attributes, ``second`` is removed."""

    def __init__(self, first: int, second: int) -> None:
        self.first, self.second = first, second
        self.description = f"Join map elements {first} and {second}"
        self._previous: tuple[MapElement, MapElement] | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        a, b = doc.map_element(self.first), doc.map_element(self.second)
        if self.first == self.second:
            raise ModelError("join: the two map elements must differ")
        if a.closed or b.closed or a.label != b.label:
            raise ModelError(f"join: map elements {a.element_id} ({a.label}) and {b.element_id} ({b.label}) "
                             "must be polylines of one class")
        va, vb = a.vertices, b.vertices
        options = [(va, vb), (va, vb[::-1]), (va[::-1], vb), (va[::-1], vb[::-1])]
        gaps = [float(np.linalg.norm(p[-1] - q[0])) for p, q in options]
        k = int(np.argmin(gaps))
        p, q = options[k]
        if k >= 2:  # keep the first element's direction
            p, q = q[::-1], p[::-1]
        if gaps[k] < 1e-6:  # a shared end vertex is kept once
            q = q[1:]
        joined = np.concatenate([p, q])
        doc._remove_map_element(b.element_id)
        try:
            doc._put_map_element(a.replace(vertices=joined), replace=True)
        except ModelError:
            doc._put_map_element(b, replace=False)
            raise
        self._previous = (a, b)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None
        a, b = self._previous
        doc._put_map_element(a, replace=True)
        doc._put_map_element(b, replace=False)


class ImportMapElements(Command):
    """Add ``elements`` (world frame; e.g. read from a map file) as new map elements with fresh ids
    (picked at the first apply and kept for redo: ``element_ids``), one undo step; ``replace``
    removes every existing map element first (restored by revert)."""

    def __init__(self, elements: Sequence[MapElement], replace: bool = False, description: str = "") -> None:
        self.elements = list(elements)
        self.replace = replace
        self.element_ids: list[int] = []
        self.description = description or f"Import {len(self.elements)} map elements"
        self._removed: list[MapElement] = []

    def apply(self, doc: AnnotationDocument) -> None:
        removed = [doc._remove_map_element(k) for k in sorted(doc.map_elements)] if self.replace else []
        start = 0 if self.replace else doc.new_map_element_id()
        ids = self.element_ids or list(range(start, start + len(self.elements)))
        done: list[int] = []
        try:
            for eid, el in zip(ids, self.elements, strict=True):
                doc._put_map_element(el.replace(element_id=eid), replace=False)
                done.append(eid)
        except ModelError:
            for eid in done:
                doc._remove_map_element(eid)
            for el in removed:
                doc._put_map_element(el, replace=False)
            raise
        self.element_ids, self._removed = ids, removed

    def revert(self, doc: AnnotationDocument) -> None:
        for eid in reversed(self.element_ids):
            doc._remove_map_element(eid)
        for el in self._removed:
            doc._put_map_element(el, replace=False)
