"""Camera rendering of a synthetic scene by per-pixel ray casting.

Every pixel's ray comes from the camera model itself (``CameraModel.rays`` of the pixel centre,
camera optical frame, z = 1), so pinhole, radial-tangential and fisheye cameras are rendered exactly
the same way and the distortion is exact (no resampling). The ray parameter of a hit is therefore
the depth z in the camera frame. The ground plane (z = 0, textured by the road) is intersected for
every pixel; boxes are intersected only for the pixels of 16 x 16 tiles whose ray bounds overlap the
box's projection in normalised coordinates (corners clipped to the near plane), with a depth
buffer for occlusion. Box faces are flat-shaded by their normal against a fixed sun direction.
Pixels that are outside the camera's valid field of view are black with instance -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from fusionlabel.box import Box3D
from fusionlabel.synth.raycast import face_normal_world, ray_box, ray_ground
from fusionlabel.synth.road import Road
from fusionlabel.synth.scene import Primitives

F64 = NDArray[np.float64]

NEAR = 0.05
SUN = np.array([0.35, 0.55, 1.0]) / np.linalg.norm([0.35, 0.55, 1.0])
HAZE = np.array([200.0, 210.0, 222.0], dtype=np.float32)
SKY_TOP = np.array([95.0, 140.0, 205.0], dtype=np.float32)
MAX_GROUND = 400.0

# box edges as corner index pairs for the corner order of Primitives.corners (bits x, y, z)
_EDGES = np.array(
    [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]]
)


@dataclass
class CameraImage:
    """One rendered image: ``image`` (H, W, 3) uint8 RGB, ``instance`` (H, W) int32 (GT track id
    of the object seen in each pixel, -1 for ground, structure and sky) and ``depth`` (H, W)
    float32 (camera z in metres, inf for sky)."""

    image: NDArray[np.uint8]
    instance: NDArray[np.int32]
    depth: NDArray[np.float32]


class CameraRenderer:
    """Renders one camera; precomputes its pixel rays and tile bounds once."""

    def __init__(self, camera: CameraModel, tile: int = 16) -> None:
        self.camera = camera
        self.tile = tile
        H, W = camera.height, camera.width
        v, u = np.mgrid[0:H, 0:W]
        rays = camera.rays(np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64))
        valid = np.isfinite(rays).all(axis=1)
        th, tw = -(-H // tile), -(-W // tile)
        Hp, Wp = th * tile, tw * tile
        grid = np.full((Hp, Wp, 3), np.nan)
        grid[:H, :W] = rays.reshape(H, W, 3)
        pix = np.full((Hp, Wp), -1, dtype=np.int64)
        pix[:H, :W] = np.where(valid, np.arange(H * W), -1).reshape(H, W)
        self.rays = (
            grid.reshape(th, tile, tw, tile, 3).transpose(0, 2, 1, 3, 4).reshape(th * tw, tile * tile, 3)
        )
        self.pix = pix.reshape(th, tile, tw, tile).transpose(0, 2, 1, 3).reshape(th * tw, tile * tile)
        ok = self.pix >= 0
        self.rays[~ok] = (0.0, 0.0, 1.0)  # harmless direction; never written to the image
        x = np.where(ok, self.rays[..., 0], np.nan)
        y = np.where(ok, self.rays[..., 1], np.nan)
        empty = ~ok.any(axis=1)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                self.bounds = np.stack(
                    [np.nanmin(x, axis=1), np.nanmax(x, axis=1), np.nanmin(y, axis=1), np.nanmax(y, axis=1)],
                    axis=1,
                )
        self.bounds[empty] = (np.inf, -np.inf, np.inf, -np.inf)
        self.ok = ok
        # image pixel -> position in the flattened tile layout (invalid pixels -> one extra slot)
        self.perm = np.full(H * W, self.pix.size, dtype=np.int64)
        flat_pix = self.pix.ravel()
        good = flat_pix >= 0
        self.perm[flat_pix[good]] = np.nonzero(good)[0]

    def render(self, T_world_from_cam: F64, prims: Primitives, road: Road) -> CameraImage:
        """Render the scene seen from the camera pose ``T_world_from_cam`` (4, 4)."""
        R = T_world_from_cam[:3, :3]
        o = T_world_from_cam[:3, 3].copy()
        n_t, n_p = self.pix.shape
        dirs = self.rays @ R.T.astype(np.float32)  # (tiles, pixels, 3) world directions, camera z = 1
        flat = dirs.reshape(-1, 3)

        depth = ray_ground(o, flat)
        depth[depth > MAX_GROUND] = np.inf
        depth = depth.reshape(n_t, n_p)
        owner = np.full((n_t, n_p), -1, dtype=np.int64)
        axis_b = np.zeros((n_t, n_p), dtype=np.int64)
        sign_b = np.zeros((n_t, n_p))

        if len(prims):
            corners_cam = (prims.corners() - o) @ R  # (P, 8, 3)
            for p in range(len(prims)):
                box = self._norm_bbox(corners_cam[p])
                if box is None:
                    continue
                x0, x1, y0, y1 = box
                b = self.bounds
                sel = np.nonzero((b[:, 1] >= x0) & (b[:, 0] <= x1) & (b[:, 3] >= y0) & (b[:, 2] <= y1))[0]
                if sel.size == 0:
                    continue
                sub = dirs[sel].reshape(-1, 3)
                t_in, _, ax, sg = ray_box(
                    o, sub, prims.center[p], prims.half[p], float(prims.yaw[p]), t_min=NEAR
                )
                t_in = t_in.reshape(sel.size, n_p)
                better = t_in < depth[sel]
                if not better.any():
                    continue
                ti, pi = np.nonzero(better)
                gt = sel[ti]
                depth[gt, pi] = t_in[ti, pi]
                owner[gt, pi] = p
                axis_b[gt, pi] = ax.reshape(sel.size, n_p)[ti, pi]
                sign_b[gt, pi] = sg.reshape(sel.size, n_p)[ti, pi]

        color = np.empty((n_t, n_p, 3), dtype=np.float32)
        ground = np.isfinite(depth) & (owner < 0)
        on_box = owner >= 0
        sky = ~(ground | on_box)
        if sky.any():  # brighter towards the horizon
            d = dirs[sky]
            elev = np.clip(d[:, 2] / np.sqrt(np.einsum("ij,ij->i", d, d)), 0.0, 1.0)[:, None]
            color[sky] = HAZE + (SKY_TOP - HAZE) * np.sqrt(elev)
        if ground.any():
            t = depth[ground]
            d = dirs[ground]
            pw = o + d * t[:, None]
            col, _ = road.ground_appearance(pw[:, 0], pw[:, 1])
            dist = t * np.sqrt(np.einsum("ij,ij->i", d, d))
            f = (1.0 - np.exp(-dist / 220.0)).astype(np.float32)[:, None]
            color[ground] = col * (1 - f) + HAZE * f
        if on_box.any():
            idx = owner[on_box]
            ax = axis_b[on_box]
            sg = sign_b[on_box]
            # flat shading: one value per (part, face)
            face_shade = np.empty((len(prims), 3, 2), dtype=np.float32)
            for a in range(3):
                for k, s in enumerate((-1.0, 1.0)):
                    nrm = face_normal_world(np.full(len(prims), a), np.full(len(prims), s), prims.yaw)
                    face_shade[:, a, k] = 0.42 + 0.58 * np.clip(nrm @ SUN, 0.0, 1.0)
            shade = face_shade[idx, ax, (sg > 0).astype(np.int64)]
            col = prims.color[idx] * shade[:, None]
            d = dirs[on_box]
            dist = depth[on_box] * np.sqrt(np.einsum("ij,ij->i", d, d))
            f = (1.0 - np.exp(-dist / 220.0)).astype(np.float32)[:, None]
            color[on_box] = col * (1 - f) + HAZE * f

        # tile layout -> image layout (pixels outside the valid field of view take the extra slot)
        H, W = self.camera.height, self.camera.width
        perm = self.perm
        img = np.concatenate(
            [np.clip(color.reshape(-1, 3) + 0.5, 0, 255).astype(np.uint8), np.zeros((1, 3), np.uint8)]
        )
        img = img[perm].reshape(H, W, 3)
        if len(prims):
            inst_t = np.where(on_box, prims.instance[np.maximum(owner, 0)], -1).astype(np.int32)
        else:
            inst_t = np.full((n_t, n_p), -1, dtype=np.int32)
        inst = np.concatenate([inst_t.ravel(), [-1]]).astype(np.int32)[perm].reshape(H, W)
        dep = np.concatenate([depth.ravel().astype(np.float32), [np.inf]])[perm].reshape(H, W)
        return CameraImage(img, inst, dep.astype(np.float32))

    def silhouette(self, T_world_from_cam: F64, box: Box3D) -> NDArray[np.bool_]:
        """(H, W) bool: the pixels whose ray hits the world box ``box`` (alone, nothing occludes
        it) in front of the near plane, seen from ``T_world_from_cam`` (4, 4): the object mask a
        projected box outline is compared with (``benchmarks/bench_timing.py``)."""
        R = T_world_from_cam[:3, :3]
        o = T_world_from_cam[:3, 3].copy()
        H, W = self.camera.height, self.camera.width
        hit = np.zeros(self.pix.shape, dtype=bool)
        corners_cam = (np.asarray(box.corners()) - o) @ R
        bb = self._norm_bbox(corners_cam[[2, 6, 3, 7, 1, 5, 0, 4]])  # CORNER_SIGNS -> bit order
        if bb is not None:
            x0, x1, y0, y1 = bb
            b = self.bounds
            sel = np.nonzero((b[:, 1] >= x0) & (b[:, 0] <= x1) & (b[:, 3] >= y0) & (b[:, 2] <= y1))[0]
            if sel.size:
                dirs = self.rays[sel] @ R.T
                t_in, _, _, _ = ray_box(o, dirs.reshape(-1, 3), np.asarray(box.center, dtype=np.float64),
                                        np.asarray(box.size, dtype=np.float64) / 2.0, float(box.yaw), t_min=NEAR)
                hit[sel] = np.isfinite(t_in.reshape(sel.size, -1)) & self.ok[sel]
        flat = np.concatenate([hit.ravel(), [False]])
        return flat[self.perm].reshape(H, W)

    @staticmethod
    def _norm_bbox(corners_cam: F64) -> tuple[float, float, float, float] | None:
        """Bounds (x0, x1, y0, y1) in normalised coordinates of the part of a box in front of the
        near plane (corners (8, 3) in the camera frame), or None when it is all behind."""
        z = corners_cam[:, 2]
        front = z > NEAR
        if not front.any():
            return None
        pts = [corners_cam[front]]
        if not front.all():
            a, b = corners_cam[_EDGES[:, 0]], corners_cam[_EDGES[:, 1]]
            za, zb = a[:, 2], b[:, 2]
            cross = (za > NEAR) != (zb > NEAR)
            if cross.any():
                s = (NEAR - za[cross]) / (zb[cross] - za[cross])
                pts.append(a[cross] + s[:, None] * (b[cross] - a[cross]))
        p = np.concatenate(pts)
        zz = np.maximum(p[:, 2], NEAR)
        x = p[:, 0] / zz
        y = p[:, 1] / zz
        return float(x.min()), float(x.max()), float(y.min()), float(y.max())
