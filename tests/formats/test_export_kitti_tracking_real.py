"""Real KITTI tracking labels (AB3DMOT's copy of sequence 0016, no LiDAR) written again as KITTI
tracking: frames, track ids, types and every 3D field are kept, the rest is recomputed.

* frame, track id, type, h w l, x y z: identical at the file's 6 decimals (up to one unit);
* rotation_y: within 2e-4 rad. The core keeps boxes upright in the Velodyne frame, KITTI in the
  rectified camera frame; this calibration tilts one against the other by ~0.5 degree, so the
  heading moves by a second-order amount (9.6e-5 rad at most here);
* truncation: recomputed as an integer level from the clipped share of the projected box;
* occlusion: 3 (unknown): there is no LiDAR sweep;
* the 2D box: recomputed (projected 3D box, clipped): IoU figures printed;
* DontCare rows: kept (2D box at 2 decimals).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from formats.convert import convert
from formats.kitti_labels import read_tracking_labels
from tests.conftest import real_data


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.slow
def test_real_kitti_tracking_labels_written_again(tmp_path: Path) -> None:
    base = real_data("ab3dmot_kitti_tracking")
    labels = base / "scripts" / "KITTI" / "label" / "0016.txt"
    s = convert(base / "data" / "KITTI" / "mini" / "training", tmp_path / "kt", "kitti-tracking",
                open_options={"sequence": "0016", "label_path": labels}, decimals=6)
    assert set(s.skip_reasons()) == {"no LiDAR sweep", "no image at this frame"}
    orig = read_tracking_labels(labels)
    new = read_tracking_labels(tmp_path / "kt" / "label_02" / "0016.txt")
    assert sorted(orig) == sorted(new)
    n = 0
    ry_diff = 0.0
    trunc_same = 0
    ious: dict[str, list[float]] = {}
    for k in orig:
        a = {o.track_id: o for o in orig[k] if not o.is_dontcare}
        b = {o.track_id: o for o in new[k] if not o.is_dontcare}
        assert sorted(a) == sorted(b), k
        for t, o in a.items():
            w = b[t]
            assert w.type == o.type and w.frame == o.frame == k
            assert np.allclose(w.dimensions, o.dimensions, atol=1.01e-6, rtol=0)
            assert np.allclose(w.location, o.location, atol=1.01e-6, rtol=0), (k, t, w.location, o.location)
            d = abs(math.remainder(w.rotation_y - o.rotation_y, 2 * math.pi))
            ry_diff = max(ry_diff, d)
            assert w.occluded == 3
            trunc_same += int(w.truncated == o.truncated)
            ious.setdefault(o.type, []).append(_iou(o.bbox, w.bbox))
            n += 1
        dc_a = sorted(o.bbox for o in orig[k] if o.is_dontcare)
        dc_b = sorted(o.bbox for o in new[k] if o.is_dontcare)
        assert np.allclose(dc_a, dc_b, atol=0.0051) if dc_a else not dc_b
    figures = {t: (len(v), round(float(np.median(v)), 3)) for t, v in sorted(ious.items())}
    print(f"KITTI tracking 0016: {n} boxes, {len(orig)} frames; rotation_y max diff {ry_diff:.1e} rad; "
          f"truncation level equal {trunc_same}/{n}; 2D box (count, median IoU) by type {figures}")
    assert ry_diff <= 2e-4
    assert trunc_same >= 0.99 * n
    for t, v in ious.items():
        assert float(np.median(v)) >= (0.6 if t in ("Pedestrian", "Person_sitting") else 0.9), (t, figures)
