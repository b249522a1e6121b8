"""The outputs of File > Export, Qt-free: :class:`ExportKind` and :data:`EXPORTS` (menu order).
The export run itself is ``gui/export.py``; the action registry makes one menu entry per kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExportKind:
    """One menu entry: ``key`` (also the sub-folder suffix), the menu ``text``, the writer (a
    ``formats.convert`` writer name, ``"module:function"``, or a function with the writer
    signature of ``formats.convert``) and fixed ``options``."""

    key: str
    text: str
    writer: str | Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Callable[..., Any]:
        from formats.convert import WriterSpec, get_writer

        if callable(self.writer):
            return self.writer
        if ":" in self.writer:
            return WriterSpec(self.key, self.writer, self.text).load()
        return get_writer(self.writer)


#: The File > Export entries, in menu order.
EXPORTS: dict[str, ExportKind] = {
    k.key: k
    for k in (
        ExportKind("kitti", "KITTI &object...", "kitti"),
        ExportKind("kitti-tracking", "KITTI &tracking...", "kitti-tracking"),
        ExportKind("nuscenes", "&nuScenes...", "nuscenes"),
        ExportKind("openlabel", "Open&LABEL...", "openlabel"),
        ExportKind("native", "&Native sequence...", "native"),
        ExportKind("bev", "&BEV products...", "formats.bev:write_bev"),
        ExportKind("images", "&Images with boxes...", "formats.render_export:write_images"),
        ExportKind("images-mp4", "Images with boxes + &MP4...", "formats.render_export:write_images", {"mp4": True}),
        ExportKind("map-maptr", "Map as Map&TR vectors...", "formats.maps.export:write_map_export", {"kind": "maptr"}),
        ExportKind("map-av2", "Map as &Argoverse 2 local map...", "formats.maps.export:write_map_export",
                   {"kind": "av2"}),
        ExportKind("map-openlabel", "Map as OpenLABEL &poly3d...", "formats.maps.export:write_map_export",
                   {"kind": "openlabel"}),
    )
}


def export_name(kind: ExportKind) -> str:
    """The kind's menu text as plain text (no mnemonic, no dots)."""
    return kind.text.replace("&", "").rstrip(".")
