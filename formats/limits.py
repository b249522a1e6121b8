"""Sane limits on what a file may ask the readers to allocate or iterate. Counts, sizes and frame
numbers read from a file are checked against these (and against the file's own size) before
anything is allocated, so a corrupt or hostile file of a few bytes cannot exhaust memory or hang
the loader; the error names the file and the value."""

from __future__ import annotations

#: Most frames of one sequence (an hour at 25 Hz is 90,000; KITTI tracking sequences have
#: about 1,100).
MAX_FRAMES = 200_000

#: A sequence whose frame numbers come from file names or label lines may have gaps, but not
#: mostly gaps: frames (1 + the largest number) must not exceed this many times the number of
#: distinct numbers plus :data:`SPARSE_SLACK` (one file renamed ``1000000.png`` is refused).
SPARSE_FACTOR = 10
SPARSE_SLACK = 1_000

#: Largest image decoded (pixels), checked from the PNG/JPEG header before decoding.
MAX_IMAGE_PIXELS = 200_000_000

#: Largest camera-LiDAR sync tolerance a reader takes (ms; an hour: beyond it nothing is "in sync",
#: and a tolerance of 1e308 ms overflows the nanosecond integers).
MAX_TOLERANCE_MS = 3_600_000.0
