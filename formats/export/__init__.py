"""Writers of output layouts (KITTI object/tracking, nuScenes, native, OpenLABEL), registered in
:mod:`formats.convert`, and :class:`ConvertSummary` (``formats.export.summary``), what every
writer returns."""

from formats.export.summary import ConvertSummary

__all__ = ["ConvertSummary"]
