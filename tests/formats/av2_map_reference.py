"""Load an Argoverse 2 local map with the official ``av2`` API (run in its own venv by a test).

Usage: python av2_map_reference.py LOG_MAP_ARCHIVE_JSON
Prints JSON {"log_id", "lane_segments": {id: {"left", "right", "left_mark", "right_mark",
"centerline", "left_neighbor_id", "right_neighbor_id"}}, "drivable_areas": {id: xyz},
"pedestrian_crossings": {id: polygon xyz}} as the API gives them. This script imports av2 and is
never imported by the project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from av2.map.map_api import ArgoverseStaticMap


def main() -> None:
    m = ArgoverseStaticMap.from_json(Path(sys.argv[1]))
    lanes = {}
    for ls in m.get_scenario_lane_segments():
        lanes[str(ls.id)] = {
            "left": ls.left_lane_boundary.xyz.tolist(),
            "right": ls.right_lane_boundary.xyz.tolist(),
            "left_mark": ls.left_mark_type.value,
            "right_mark": ls.right_mark_type.value,
            "centerline": m.get_lane_segment_centerline(ls.id).tolist(),
            "left_neighbor_id": ls.left_neighbor_id,
            "right_neighbor_id": ls.right_neighbor_id,
        }
    out = {
        "log_id": m.log_id,
        "lane_segments": lanes,
        "drivable_areas": {str(da.id): da.xyz.tolist() for da in m.get_scenario_vector_drivable_areas()},
        "pedestrian_crossings": {str(pc.id): pc.polygon.tolist() for pc in m.get_scenario_ped_crossings()},
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
