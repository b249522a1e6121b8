"""Reference projections from the official nuscenes-devkit (run in its own venv by a test).

Usage: python nusc_devkit_reference.py DATAROOT VERSION
Prints JSON {camera channel: {annotation token: [u, v, depth]}} for every sample's cameras: the
devkit's get_sample_data(..., BoxVisibility.ANY) boxes, centres projected with view_points.
This script imports the devkit and is never imported by the project.
"""

from __future__ import annotations

import json
import sys

from nuscenes.nuscenes import NuScenes
from nuscenes.utils.geometry_utils import BoxVisibility, view_points


def main() -> None:
    dataroot, version = sys.argv[1], sys.argv[2]
    nusc = NuScenes(version=version, dataroot=dataroot, verbose=False)
    out: dict[str, dict[str, list[float]]] = {}
    for sample in nusc.sample:
        for channel, sd_token in sample["data"].items():
            if not channel.startswith("CAM"):
                continue
            _, boxes, K = nusc.get_sample_data(sd_token, box_vis_level=BoxVisibility.ANY)
            per = out.setdefault(channel, {})
            for box in boxes:
                uv = view_points(box.center[:, None], K, normalize=True)[:2, 0]
                per[box.token] = [float(uv[0]), float(uv[1]), float(box.center[2])]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
