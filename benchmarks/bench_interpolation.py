"""Keyframe interpolation accuracy on synthetic sequences with exact ground truth.

A small self-contained kinematic generator drives an ego vehicle along a curve and five agents
(a car turning 90 degrees at an intersection, a car changing lanes, a car driving straight while
accelerating, a wandering pedestrian, a cyclist on an arc), sampled at 10 Hz with jittered frame
timestamps. Keyframes are taken every ``KEY_EVERY`` frames from the ground truth; every other
frame is filled by each method and compared with the ground truth by exact BEV IoU:

- ``linear/sensor``: the usual baseline: keyframe boxes expressed in the ego frame of their own
  frame, interpolated linearly there, mapped back to the world with the in-between frame's pose;
- ``linear/world``: linear in the world frame;
- ``smooth/world``: the smooth method (heading-consistent Hermite) in the world frame, using the
  frame timestamps;
- ``smooth/index``: the same without timestamps (uniform frames), to show what time buys.

Run: ``PYTHONPATH=. python benchmarks/bench_interpolation.py [--scenarios N] [--every K]``
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from calib.transforms import invert, pose_from_xyz_yaw
from fusionlabel.box import Box3D
from fusionlabel.geometry import bev_iou
from fusionlabel.interpolation import interpolate_boxes_at, lerp_box

FRAME_PERIOD_S = 0.1
KEY_EVERY = 10
N_FRAMES = 81
_SUBSTEP_S = 0.002

KINDS = ("turning car", "lane change", "straight car", "pedestrian", "cyclist")
METHOD_NAMES = ("linear/sensor", "linear/world", "smooth/world", "smooth/index")


@dataclass
class Agent:
    """Ground truth of one object: kind, size (l, w, h) m, and world states per frame."""

    kind: str
    size: tuple[float, float, float]
    xy: np.ndarray  # (F, 2) world-frame centre, metres
    yaw: np.ndarray  # (F,) radians

    def box(self, f: int) -> Box3D:
        return Box3D((self.xy[f, 0], self.xy[f, 1], self.size[2] / 2.0), self.size, float(self.yaw[f]))


@dataclass
class Scenario:
    """One synthetic sequence: frame timestamps (ns), ego poses and agents."""

    times_ns: list[int]
    T_world_from_ego: list[np.ndarray]
    agents: list[Agent]


def _integrate(
    t_frames: np.ndarray,
    speed: Callable[[float], float],
    curvature: Callable[[float, float], float],
    x0: float,
    y0: float,
    yaw0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Unicycle model integrated in small steps: ``speed(t)`` m/s, ``curvature(t, s)`` 1/m (s is
    the distance driven). Returns ``(F, 2)`` positions and ``(F,)`` yaws at ``t_frames`` (s)."""
    t_end = float(t_frames[-1]) + _SUBSTEP_S
    n = int(math.ceil(t_end / _SUBSTEP_S)) + 1
    ts = np.arange(n) * _SUBSTEP_S
    xs, ys, yaws = np.empty(n), np.empty(n), np.empty(n)
    x, y, yaw, s = x0, y0, yaw0, 0.0
    for i, t in enumerate(ts):
        xs[i], ys[i], yaws[i] = x, y, yaw
        v = speed(t)
        k = curvature(t, s)
        # midpoint step
        ym = yaw + 0.5 * v * k * _SUBSTEP_S
        x += v * math.cos(ym) * _SUBSTEP_S
        y += v * math.sin(ym) * _SUBSTEP_S
        yaw += v * k * _SUBSTEP_S
        s += v * _SUBSTEP_S
    xy = np.column_stack([np.interp(t_frames, ts, xs), np.interp(t_frames, ts, ys)])
    return xy, np.interp(t_frames, ts, yaws)


def make_scenario(seed: int, n_frames: int = N_FRAMES) -> Scenario:
    """A random variant of the benchmark scene (turn radius, speeds, start offsets, jitter)."""
    rng = np.random.default_rng(seed)
    jitter = np.clip(rng.normal(0.0, 0.004, n_frames), -0.012, 0.012)
    jitter[0] = 0.0
    t = np.arange(n_frames) * FRAME_PERIOD_S + jitter
    times_ns = [int(round(v * 1e9)) + 1_700_000_000_000_000_000 for v in t]

    # ego: 10 m/s, straight, then a long curve (yaw rate up to ~0.2 rad/s), then straight
    ego_turn = rng.uniform(0.012, 0.022) * rng.choice([-1, 1])
    ego_xy, ego_yaw = _integrate(
        t, lambda _t: 10.0, lambda _t, s: ego_turn if 15.0 < s < 65.0 else 0.0, 0.0, 0.0, 0.0
    )
    poses = [pose_from_xyz_yaw(ego_xy[i, 0], ego_xy[i, 1], 0.0, ego_yaw[i]) for i in range(n_frames)]

    agents = []
    # a car turning 90 deg left at an intersection: brake into the turn, accelerate out of it
    r = rng.uniform(7.0, 13.0)
    d0 = rng.uniform(8.0, 20.0)
    v_in, v_turn = rng.uniform(8.0, 11.0), rng.uniform(4.5, 6.5)
    t_brake = d0 / ((v_in + v_turn) / 2.0)

    def turn_speed(tt: float) -> float:
        if tt < t_brake:
            return v_in + (v_turn - v_in) * tt / t_brake
        t_arc = (math.pi / 2.0 * r) / v_turn
        if tt < t_brake + t_arc:
            return v_turn
        return min(v_in, v_turn + 2.0 * (tt - t_brake - t_arc))

    xy, yaw = _integrate(t, turn_speed, lambda _t, s: 1.0 / r if d0 <= s < d0 + math.pi / 2 * r else 0.0,
                         30.0, -25.0, math.pi / 2.0)
    agents.append(Agent("turning car", (4.5, 1.9, 1.6), xy, yaw))

    # a car changing lanes (3.5 m over 3-5 s) at 12-16 m/s
    v_lc = rng.uniform(12.0, 16.0)
    t_lc0, dur = rng.uniform(1.5, 3.5), rng.uniform(3.0, 5.0)
    lat = 3.5 * rng.choice([-1, 1])

    def lane_y(tt: float) -> tuple[float, float]:
        u = np.clip((tt - t_lc0) / dur, 0.0, 1.0)
        return lat * (10 * u**3 - 15 * u**4 + 6 * u**5), lat * (30 * u**2 - 60 * u**3 + 30 * u**4) / dur

    xs = 5.0 + v_lc * t
    ys = np.array([lane_y(tt)[0] for tt in t]) + 3.5
    yaws = np.array([math.atan2(lane_y(tt)[1], v_lc) for tt in t])
    agents.append(Agent("lane change", (4.7, 1.9, 1.5), np.column_stack([xs, ys]), yaws))

    # a car driving straight while accelerating
    a_st, v_st = rng.uniform(0.5, 2.0), rng.uniform(6.0, 12.0)
    head = rng.uniform(-math.pi, math.pi)
    dist = v_st * t + 0.5 * a_st * t**2
    xy = np.column_stack([-10.0 + dist * math.cos(head), 12.0 + dist * math.sin(head)])
    agents.append(Agent("straight car", (4.3, 1.8, 1.5), xy, np.full(n_frames, head)))

    # a pedestrian wandering at ~1.4 m/s
    ph, amp = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.5)
    v_p = rng.uniform(1.1, 1.6)
    xy, yaw = _integrate(t, lambda tt: v_p, lambda tt, s: amp * math.sin(0.6 * tt + ph) / v_p,
                         8.0, 6.0, rng.uniform(-math.pi, math.pi))
    agents.append(Agent("pedestrian", (0.7, 0.7, 1.75), xy, yaw))

    # a cyclist on an arc (radius 12-25 m) at 4-6 m/s
    rc, v_c = rng.uniform(12.0, 25.0) * rng.choice([-1, 1]), rng.uniform(4.0, 6.0)
    xy, yaw = _integrate(t, lambda tt: v_c, lambda tt, s: 1.0 / rc, -5.0, -8.0, rng.uniform(-math.pi, math.pi))
    agents.append(Agent("cyclist", (1.8, 0.6, 1.7), xy, yaw))
    return Scenario(times_ns, poses, agents)


def _sensor_linear(sc: Scenario, keyframes: dict[int, Box3D], frames: list[int]) -> list[Box3D]:
    """The naive baseline: interpolate in each keyframe's ego frame, map back with this frame's pose."""
    ks = sorted(keyframes)
    ego = {k: keyframes[k].transformed(invert(sc.T_world_from_ego[k])) for k in ks}
    out = []
    for f in frames:
        j = int(np.searchsorted(ks, f))
        k0, k1 = ks[j - 1], ks[j]
        s = (f - k0) / (k1 - k0)
        out.append(lerp_box(ego[k0], ego[k1], s).transformed(sc.T_world_from_ego[f]))
    return out


def evaluate(
    scenarios: list[Scenario], key_every: int = KEY_EVERY, kinds: Sequence[str] = KINDS
) -> dict[str, dict[str, np.ndarray]]:
    """BEV IoU of every interpolated (non-keyframe) frame: ``{method: {kind: (n,) array}}``."""
    res: dict[str, dict[str, list[float]]] = {m: {k: [] for k in kinds} for m in METHOD_NAMES}
    for sc in scenarios:
        n = len(sc.times_ns)
        key_frames = list(range(0, n, key_every))
        if key_frames[-1] != n - 1:
            key_frames.append(n - 1)
        frames = [f for f in range(n) if f not in key_frames]
        for ag in sc.agents:
            kf = {k: ag.box(k) for k in key_frames}
            preds = {
                "linear/sensor": _sensor_linear(sc, kf, frames),
                "linear/world": interpolate_boxes_at(kf, frames, "linear", times_ns=sc.times_ns),
                "smooth/world": interpolate_boxes_at(kf, frames, "smooth", times_ns=sc.times_ns),
                "smooth/index": interpolate_boxes_at(kf, frames, "smooth"),
            }
            for m, boxes in preds.items():
                res[m][ag.kind].extend(bev_iou(b, ag.box(f)) for f, b in zip(frames, boxes, strict=True))
    return {m: {k: np.asarray(v) for k, v in per.items()} for m, per in res.items()}


def summary(results: dict[str, dict[str, np.ndarray]], kinds: Sequence[str] = KINDS) -> str:
    """A table of mean / worst BEV IoU per method and agent kind (and over all agents)."""
    head = f"{'method':<15}" + "".join(f"{k:>18}" for k in (*kinds, "all"))
    lines = [head, f"{'':<15}" + "".join(f"{'mean / worst':>18}" for _ in (*kinds, "all"))]
    for m, per in results.items():
        cells = []
        for k in (*kinds, "all"):
            v = np.concatenate(list(per.values())) if k == "all" else per[k]
            cells.append(f"{v.mean():.3f} / {v.min():.3f}")
        lines.append(f"{m:<15}" + "".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)


# ---- optional: the project's synthetic scenes (fusionlabel.synth), when present ---------------------
def synth_scenarios(seeds: range, n_frames: int = N_FRAMES) -> list[Scenario]:
    """Ground-truth tracks of ``fusionlabel.synth`` scenes as benchmark scenarios (agent kind =
    class, "parked" for objects that do not move); [] when the package is absent."""
    try:
        from fusionlabel.synth import SynthConfig, SynthScene
    except ImportError:
        return []
    out = []
    for seed in seeds:
        scene = SynthScene(SynthConfig(frames=n_frames, seed=seed, cameras=0))
        agents = []
        for tr in scene.tracks():
            boxes = [tr.keyframes[i] for i in range(n_frames)]
            xy = np.array([b.center[:2] for b in boxes])
            moving = float(np.linalg.norm(xy[-1] - xy[0])) > 0.5
            kind = tr.label if moving else "parked"
            agents.append(Agent(kind, boxes[0].size, xy, np.array([b.yaw for b in boxes])))  # BEV: z unused
        out.append(Scenario([scene.timestamp_ns(i) for i in range(n_frames)],
                            [scene.ego_pose(i) for i in range(n_frames)], agents))
    return out


def refinement_study(seeds: range, frames: tuple[int, ...] = (10, 30), offset_m: float = 0.3,
                     offset_deg: float = 5.0) -> dict[str, float] | None:
    """Refinement on ray-cast LiDAR sweeps of ``fusionlabel.synth`` scenes: every ground-truth box
    is displaced by up to ``offset_m`` / ``offset_deg`` (uniform), refined against the frame's
    world points (the other displaced boxes excluded, as propagation does), and compared with the
    truth. None when the synth package is absent."""
    try:
        from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene
    except ImportError:
        return None
    from calib.transforms import transform_points
    from fusionlabel.propagation import refine_box

    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        scene = SynthScene(SynthConfig(frames=max(frames) + 1, seed=seed, cameras=0))
        for f in frames:
            fr = scene.frame(f, cameras=False)
            pts = transform_points(scene.ego_pose(f) @ scene.rig.T("ego", LIDAR_NAME),
                                   fr.lidar[LIDAR_NAME].points[:, :3].astype(np.float64))
            truth = list(fr.boxes.values())
            guesses = []
            for b in truth:
                d = rng.uniform(-offset_m, offset_m, 2)
                guesses.append(Box3D((b.center[0] + d[0], b.center[1] + d[1], b.center[2]), b.size,
                                     b.yaw + math.radians(rng.uniform(-offset_deg, offset_deg))))
            for i, (b, g) in enumerate(zip(truth, guesses, strict=True)):
                res = refine_box(g, pts, exclude_boxes=guesses[:i] + guesses[i + 1:])
                rows.append((res.ok, bev_iou(g, b), bev_iou(res.box, b)))
    a = np.array(rows, dtype=np.float64)
    ok = a[:, 0] > 0
    return {
        "boxes": float(len(a)),
        "accepted": float(ok.sum()),
        "iou_before": float(a[ok, 1].mean()),
        "iou_after": float(a[ok, 2].mean()),
        "worse": float((a[ok, 2] < a[ok, 1] - 0.02).sum()),
        "iou_refused": float(a[~ok, 1].mean()) if (~ok).any() else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=20, help="number of random scene variants")
    ap.add_argument("--every", type=int, default=KEY_EVERY, help="keyframe spacing in frames")
    ap.add_argument("--synth", type=int, default=3, help="fusionlabel.synth scenes to add (0: none)")
    args = ap.parse_args()
    scenarios = [make_scenario(seed) for seed in range(args.scenarios)]
    results = evaluate(scenarios, args.every)
    n = sum(len(v) for v in results["smooth/world"].values())
    print(f"{args.scenarios} scenarios, keyframes every {args.every} frames, {n} interpolated boxes; BEV IoU")
    print(summary(results))
    synth = synth_scenarios(range(args.synth)) if args.synth else []
    if synth:
        kinds = sorted({a.kind for sc in synth for a in sc.agents})
        res = evaluate(synth, args.every, kinds)
        n = sum(len(v) for v in res["smooth/world"].values())
        print(f"\nfusionlabel.synth ground truth: {len(synth)} scenes, {n} interpolated boxes; BEV IoU")
        print(summary(res, kinds))
        ref = refinement_study(range(args.synth))
        if ref is not None:
            print(
                f"\nrefinement on ray-cast sweeps: {ref['boxes']:.0f} boxes displaced <= 0.3 m / 5 deg; "
                f"{ref['accepted']:.0f} refined: IoU {ref['iou_before']:.3f} -> {ref['iou_after']:.3f} "
                f"({ref['worse']:.0f} worse by > 0.02); refused ones at IoU {ref['iou_refused']:.3f}"
            )


if __name__ == "__main__":
    main()
