"""The names of the dataset layouts and their reader options, as plain data (no reader imported):
what the command-line wiring (:mod:`formats.openargs`) offers without importing the readers.
``formats.datasets.FORMATS`` holds the layouts themselves, in this order."""

from __future__ import annotations

#: The layouts in detection order (``formats.datasets.FORMATS`` checks it is the same).
FORMAT_NAMES = ("packed", "rosbag", "openlabel", "native", "nuscenes", "kitti-raw", "kitti-tracking",
                "kitti-object", "sustech", "kitti-flat", "folder")

#: Other names ``--format`` accepts -> the layout.
ALIASES = {
    "kitti": "kitti-object",
    "kitti_object": "kitti-object",
    "kitti_tracking": "kitti-tracking",
    "kitti_raw": "kitti-raw",
    "kitti_flat": "kitti-flat",
    "nusc": "nuscenes",
    "lyft": "nuscenes",
    "sustechpoints": "sustech",
    "h5": "packed",
    "hdf5": "packed",
    "plain": "folder",
    "open_label": "openlabel",
    "open-label": "openlabel",
    "bag": "rosbag",
    "ros": "rosbag",
    "mcap": "rosbag",
    "recording": "rosbag",
}


#: Reader options that name a file (made absolute when parsed; allowed outside the dataset root).
PATH_OPTIONS = ("label_path", "oxts_path", "rig", "mapping")
