"""The nuScenes export of a synthetic scene, checked by the official nuscenes-devkit.

The devkit needs numpy<2 and lives in its own venv (``<repo root>/.venv-nusc``; in a worktree the
main checkout's): it runs the script below in a subprocess, which loads the exported dataset,
returns every camera's boxes (``get_sample_data``, ``BoxVisibility.ANY``) with their corners
projected by ``view_points``, the global boxes of every annotation, and draws one camera and the
LiDAR with ``render_sample_data`` (matplotlib Agg). Our side computes the same from the source
scene through calib: the devkit must return exactly the boxes that have a corner in the image
(and every corner at least 0.1 m in front, as its ``BoxVisibility.ANY`` requires), with every
projected corner within 0.5 px of ours, and draw non-empty images.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib.transforms import invert, quat_to_rotation, rotation_to_yaw, transform_points, wrap_angle
from formats.convert import convert
from formats.datasets import open_dataset
from formats.export.common import token
from formats.export.nuscenes import DEFAULT_VERSION, camera_channel
from formats.native import write_synth_scene
from fusionlabel.synth import SynthConfig, SynthScene
from tests.conftest import nusc_python

ROOT = Path(__file__).resolve().parents[2]
PX_TOL = 0.5

DEVKIT_SCRIPT = r'''
import json, sys
import matplotlib
matplotlib.use("Agg")
import numpy as np
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.geometry_utils import BoxVisibility, view_points

dataroot, version, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
nusc = NuScenes(version=version, dataroot=dataroot, verbose=False)
out = {"cameras": {}, "boxes": {}, "counts": {t: len(getattr(nusc, t)) for t in
       ("scene", "sample", "sample_data", "sample_annotation", "instance", "ego_pose")}}
for sample in nusc.sample:
    for channel, sd_token in sample["data"].items():
        if not channel.startswith("CAM"):
            continue
        _, boxes, K = nusc.get_sample_data(sd_token, box_vis_level=BoxVisibility.ANY)
        per = out["cameras"].setdefault(sd_token, {"channel": channel, "sample": sample["token"], "boxes": {}})
        for box in boxes:
            c = box.corners()
            uv = view_points(c, K, normalize=True)[:2]
            per["boxes"][box.token] = {"uv": uv.T.tolist(), "depth": c[2].tolist()}
for ann in nusc.sample_annotation:
    b = nusc.get_box(ann["token"])
    out["boxes"][ann["token"]] = {"center": b.center.tolist(), "wlh": b.wlh.tolist(),
                                  "q": b.orientation.elements.tolist(), "category": ann["category_name"]}
sample = nusc.sample[0]
nusc.render_sample_data(sample["data"]["CAM_FRONT"], out_path=outdir + "/cam_front.png", verbose=False)
nusc.render_sample_data(sample["data"]["LIDAR_TOP"], out_path=outdir + "/lidar_top.png", underlay_map=False,
                        verbose=False)
json.dump(out, sys.stdout)
'''


@pytest.mark.slow
def test_exported_nuscenes_loads_in_the_devkit(tmp_path: Path) -> None:
    exe = nusc_python()
    if exe is None:
        pytest.skip(f"no .venv-nusc (with nuscenes-devkit) at {ROOT} or its main checkout")
    scene = tmp_path / "synth"
    write_synth_scene(SynthScene(SynthConfig(frames=3, seed=7, cameras=6, image_size=(320, 180), azimuths=360)),
                      scene)
    src = open_dataset(scene)
    dst = tmp_path / "nusc"
    convert(scene, dst, "nuscenes")
    script = tmp_path / "devkit_check.py"
    script.write_text(DEVKIT_SCRIPT)
    res = subprocess.run(
        [str(exe), str(script), str(dst), DEFAULT_VERSION, str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"MPLBACKEND": "Agg"},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    dev = json.loads(res.stdout)
    n = len(src)
    assert dev["counts"]["scene"] == 1 and dev["counts"]["sample"] == n
    assert dev["counts"]["sample_annotation"] == src.annotations.num_boxes()

    name = src.info.name
    ann_of = {token(name, "sample_annotation", r.track_id, k): (k, r) for k in range(n)
              for r in src.annotations.boxes_at(k)}
    # global boxes
    worst_box = 0.0
    for tok, b in dev["boxes"].items():
        k, r = ann_of[tok]
        l, w, h = r.box.size
        worst_box = max(worst_box, float(np.abs(np.subtract(b["center"], r.box.center)).max()),
                        float(np.abs(np.subtract(b["wlh"], [w, l, h])).max()),
                        abs(float(wrap_angle(rotation_to_yaw(quat_to_rotation(b["q"])) - r.box.yaw))))
    assert worst_box < 1e-6

    # per camera: the same boxes, corners within 0.5 px
    chan_to_cam = {camera_channel(c): c for c in src.camera_names}
    worst_px = 0.0
    pairs = 0
    for sd in dev["cameras"].values():
        cam = chan_to_cam[sd["channel"]]
        k = next(i for i in range(n) if token(name, "sample", i) == sd["sample"])
        model = src.rig(k).camera(cam)
        K = model.K
        T_cam_from_world = invert(src.T_world_from_sensor(k, cam))
        expected = set()
        for r in src.annotations.boxes_at(k):
            c = transform_points(T_cam_from_world, r.box.corners())
            uv = (c @ K.T)[:, :2] / c[:, 2:3]
            vis = (uv[:, 0] > 0) & (uv[:, 0] < model.width) & (uv[:, 1] > 0) & (uv[:, 1] < model.height) & (c[:, 2] > 1)
            if vis.any() and (c[:, 2] > 0.1).all():  # the devkit's BoxVisibility.ANY
                expected.add(token(name, "sample_annotation", r.track_id, k))
            tok = token(name, "sample_annotation", r.track_id, k)
            if tok in sd["boxes"]:
                theirs = np.asarray(sd["boxes"][tok]["uv"])
                front = np.asarray(sd["boxes"][tok]["depth"]) > 0.1
                ours = uv[c[:, 2] > 0.1]
                d = np.linalg.norm(theirs[front][:, None, :] - ours[None, :, :], axis=2).min(axis=1)
                worst_px = max(worst_px, float(d.max()))
                pairs += 1
        assert set(sd["boxes"]) == expected, (sd["channel"], k)
    print(f"devkit: {pairs} box-camera pairs, worst corner distance {worst_px:.2e} px, "
          f"global box error {worst_box:.1e}")
    assert pairs > 20
    assert worst_px <= PX_TOL

    for png in ("cam_front.png", "lidar_top.png"):
        img = cv2.imread(str(tmp_path / png))
        assert img is not None and img.size > 0 and float(img.std()) > 5.0, png
