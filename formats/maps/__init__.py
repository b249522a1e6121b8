"""Map elements on disk: the native map file (:mod:`formats.maps.native`) and the exports /
imports MapTR (:mod:`formats.maps.maptr`), Argoverse 2 (:mod:`formats.maps.av2`) and OpenLABEL
``poly3d`` (:mod:`formats.maps.openlabel`). See ``docs/map.md``."""
