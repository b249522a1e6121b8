"""Writers of output layouts (KITTI object/tracking, nuScenes, native); registered in :mod:`formats.convert`."""
