"""LoadedSequence.source_label: the source record of an unchanged box, looked up in a table."""

from __future__ import annotations

from fusionlabel.box import Box3D


def test_source_label_lookup_is_the_first_equal_box() -> None:
    """LoadedSequence.source_label's table answers as the scan of the frame's list: the first
    record of an equal box (duplicates, equal but not the same object), None for an edited box,
    a list changed afterwards, unhashable boxes."""
    from types import SimpleNamespace

    from formats.datasets.base import LoadedSequence

    a, b = Box3D((1.0, 2.0, 0.5), (4.0, 2.0, 1.5), 0.3), Box3D((5.0, 2.0, 0.5), (4.0, 2.0, 1.5), -0.3)
    recs = [(a, "a"), (b, "b"), (Box3D(a.center, a.size, a.yaw), "a again")]
    seq = SimpleNamespace(source_labels={0: recs}, _source_index={})

    def look(frame: int, box: object) -> object:
        return LoadedSequence.source_label(seq, frame, box)  # type: ignore[arg-type]

    assert look(0, Box3D(a.center, a.size, a.yaw)) == "a" and look(0, b) == "b"
    assert look(0, a.replace(yaw=0.31)) is None and look(1, a) is None
    recs.insert(0, (b, "b first"))  # the list changed: the table is built again
    assert look(0, b) == "b first"
    seq.source_labels = {0: [([1, 2], "list"), (a, "a")]}  # an unhashable box: the scan
    assert look(0, a) == "a" and look(0, [1, 2]) == "list"
