"""Plausibility checks of a LiDAR -> camera extrinsic from the point cloud alone.

``check_calibration(pts_lidar, camera, T_cam_from_lidar)`` projects the cloud with the given
transform and with two classic mistakes undone, and reports which fits best.

Heuristics (documented, deliberately simple)
--------------------------------------------
* **In-image count** of a transform = number of LiDAR points that land in the image (in front of
  the near plane, inside the valid field of view, inside the image).
* **Upright** = cosine between the camera's up direction (``-y``) and the LiDAR's up direction
  ``lidar_up`` (default +z, true for KITTI and nuScenes LiDARs) carried into the camera. Driving
  cameras are mounted with little roll and moderate pitch, so a plausible extrinsic has
  ``upright >= 0.5`` (within 60 degrees).
* **Ground check**: the lowest ``ground_quantile`` (20 %) of the points along ``lidar_up`` are
  taken as ground; with a correct extrinsic the camera centre (``-R^-1 t`` in the LiDAR frame) is
  above the ground, so nearly all ground points that land in the image are *below the camera*
  along ``lidar_up``. ``ground_below_share`` is that share (None with fewer than 10 such points);
  plausible is >= 0.7. (Measured along the LiDAR's up, not the camera's y, so that cameras pitched
  down towards far ground pass.)
* A transform is **plausible** when it is upright, passes the ground check (when there are ground
  points in the image) and puts at least ``min_in_image`` (50) points into the image.
* **Candidates**: ``inverse`` = ``invert(T)`` (``T_lidar_from_cam`` given for ``T_cam_from_lidar``)
  and ``transposed`` = ``[R^T | t]`` (rotation read in the wrong order). Both have the rotation
  ``R^T``. The rotation looks **flipped** when the given transform is not plausible but a
  candidate is, or when a candidate puts at least ``factor`` (2) times as many points (and
  ``min_gain`` = 50 more) into the image.
* Inverse and transposed differ only in translation, and point counts are dominated by the dense
  near field, so the two are told apart only when one candidate puts at least 1.5 times as many
  points into the image as the other; otherwise both ``looks_inverted`` and ``looks_transposed``
  are set and ``ambiguous`` is True (typical for KITTI, whose translation is 0.3 m).
* A whole 4x4 given transposed (bottom row not ``[0, 0, 0, 1]`` but last column is) is recognised
  as such: ``looks_transposed`` is set and ``T.T`` is scored as the candidate.
* **Rotation** not orthonormal (max ``|R R^T - I|`` > 1e-4) or a reflection is flagged; the inverse
  candidate then uses a general matrix inverse.

``ok`` = orthonormal rotation, neither flag, and the given transform plausible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.camera import DEFAULT_NEAR, CameraModel
from calib.errors import CalibrationError
from calib.transforms import ROT_TOL, invert

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class CandidateScore:
    """How one transform fits: points in front of the camera, in the image, ground share, upright."""

    n_front: int
    n_in_image: int
    ground_below_share: float | None
    upright: float
    plausible: bool

    @property
    def share_in_image(self) -> float:
        return self.n_in_image / self.n_front if self.n_front else 0.0


@dataclass(frozen=True)
class CalibrationReport:
    """Result of :func:`check_calibration`; ``summary`` is a human-readable paragraph.

    ``candidates`` holds the scores of ``"given"``, ``"inverse"`` and ``"transposed"``."""

    n_points: int
    n_front: int
    n_in_image: int
    share_in_image: float
    ground_below_share: float | None
    upright: float
    rotation_orthonormal: bool
    rotation_error: float
    rotation_det: float
    looks_inverted: bool
    looks_transposed: bool
    ambiguous: bool
    ok: bool
    candidates: dict[str, CandidateScore] = field(default_factory=dict)
    summary: str = ""


def _score(
    pts_lidar: F64,
    camera: CameraModel,
    T: F64,
    near: float,
    ground: NDArray[np.bool_] | None,
    up: F64 | None,
    min_in_image: int,
) -> CandidateScore:
    pts_cam = pts_lidar @ T[:3, :3].T + T[:3, 3]
    _, depth, valid = camera.project(pts_cam, near=near)
    n_front = int((depth > near).sum())
    share = None
    if ground is not None and up is not None:
        g = valid & ground
        if g.sum() >= 10:
            try:
                centre = -np.linalg.solve(T[:3, :3], T[:3, 3])  # camera centre in the LiDAR frame
            except np.linalg.LinAlgError:
                centre = None
            if centre is not None:
                share = float((pts_lidar[g] @ up < centre @ up).mean())
    upright = 1.0
    if up is not None:
        up_cam = T[:3, :3] @ up
        upright = float(-up_cam[1] / max(np.linalg.norm(up_cam), 1e-12))
    n_in = int(valid.sum())
    plausible = upright >= 0.5 and (share is None or share >= 0.7) and n_in >= min_in_image
    return CandidateScore(n_front, n_in, share, upright, plausible)


def _beats(alt: CandidateScore, given: CandidateScore, factor: float, min_gain: int) -> bool:
    if alt.plausible and not given.plausible:
        return True
    return alt.n_in_image >= factor * given.n_in_image and alt.n_in_image - given.n_in_image >= min_gain


def check_calibration(
    pts_lidar: ArrayLike,
    camera: CameraModel,
    T_cam_from_lidar: ArrayLike,
    near: float = DEFAULT_NEAR,
    lidar_up: ArrayLike | None = (0.0, 0.0, 1.0),
    ground_quantile: float = 0.2,
    factor: float = 2.0,
    min_gain: int = 50,
    min_in_image: int = 50,
) -> CalibrationReport:
    """Check a LiDAR -> camera extrinsic (4, 4) against a point cloud (N, 3) in the LiDAR frame
    (metres), seen by ``camera``. See the module docstring for the heuristics. Raises
    CalibrationError when ``T_cam_from_lidar`` is not a finite 4x4 (a non-orthonormal rotation or
    a transposed matrix is reported, not raised)."""
    pts = np.asarray(pts_lidar, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"pts_lidar must have shape (N, 3), got {pts.shape}")
    pts = pts[:, :3]
    pts = pts[np.isfinite(pts).all(axis=1)]
    T = np.asarray(T_cam_from_lidar, dtype=np.float64)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise CalibrationError(
            f"expected a finite 4x4 transform, got shape {T.shape}", key="T_cam_from_lidar"
        )
    bottom = np.array([0.0, 0.0, 0.0, 1.0])
    whole_transposed = False
    if np.abs(T[3] - bottom).max() > 1e-9:
        if np.abs(T[:, 3] - bottom).max() <= 1e-9:
            whole_transposed = True
        else:
            raise CalibrationError(
                f"bottom row must be [0, 0, 0, 1], got {T[3].tolist()}", key="T_cam_from_lidar"
            )
    R = T[:3, :3]
    rot_err = float(np.abs(R @ R.T - np.eye(3)).max())
    det = float(np.linalg.det(R))
    orthonormal = rot_err <= ROT_TOL and det > 0

    ground = None
    up = None
    if lidar_up is not None:
        up = np.asarray(lidar_up, dtype=np.float64)
        up = up / np.linalg.norm(up)
        if len(pts):
            h = pts @ up
            ground = h <= np.quantile(h, ground_quantile)

    def score(M: F64) -> CandidateScore:
        return _score(pts, camera, M, near, ground, up, min_in_image)

    if whole_transposed:
        T_tr = T.T.copy()
        T_given = T.copy()
        T_given[3] = bottom  # score what the rotation block does; the bottom row is reported
        given = score(T_given)
        cands = {"given": given, "transposed": score(T_tr)}
        cands["inverse"] = score(np.linalg.inv(T_tr) if not orthonormal else invert(T_tr))
        flagged = {"transposed"}
    else:
        T_inv = invert(T) if orthonormal else np.linalg.inv(T)
        T_tr = T.copy()
        T_tr[:3, :3] = R.T
        given = score(T)
        cands = {"given": given, "inverse": score(T_inv), "transposed": score(T_tr)}
        beating = {
            k: cands[k] for k in ("inverse", "transposed") if _beats(cands[k], given, factor, min_gain)
        }
        flagged = set(beating)
        if len(beating) == 2:
            a, b = beating["inverse"].n_in_image, beating["transposed"].n_in_image
            if a >= 1.5 * b:
                flagged = {"inverse"}
            elif b >= 1.5 * a:
                flagged = {"transposed"}
    inverted = "inverse" in flagged
    transposed = "transposed" in flagged
    ambiguous = inverted and transposed
    ok = orthonormal and not flagged and given.plausible

    lines = [
        f"{given.n_in_image} of {given.n_front} points in front of the camera land in the image "
        f"({100 * given.share_in_image:.1f} %; {len(pts)} points in all)."
    ]
    if given.ground_below_share is not None:
        lines.append(
            f"{100 * given.ground_below_share:.0f} % of the in-image ground points are below the camera."
        )
    if up is not None and given.upright < 0.5:
        lines.append(
            f"The camera is far from upright (cosine {given.upright:.2f} between its up and the LiDAR's)."
        )
    if not orthonormal:
        lines.append(
            f"The rotation is not a proper rotation (max |R R^T - I| = {rot_err:.2g}, det = {det:.3f})."
        )
    if whole_transposed:
        lines.append(
            "The 4x4 matrix looks transposed (its last column, not its bottom row, is [0, 0, 0, 1])."
        )
    elif ambiguous:
        lines.append(
            "The rotation looks inverted or transposed: inverse(T) and [R^T | t] put "
            f"{cands['inverse'].n_in_image} and {cands['transposed'].n_in_image} points into the image; "
            f"with a translation of {np.linalg.norm(T[:3, 3]):.2f} m the points cannot tell which."
        )
    elif inverted:
        lines.append(
            "The transform looks inverted (T_lidar_from_cam given for T_cam_from_lidar): inverse(T) puts "
            f"{cands['inverse'].n_in_image} points into the image."
        )
    elif transposed:
        lines.append(
            "The rotation looks transposed: [R^T | t] puts "
            f"{cands['transposed'].n_in_image} points into the image."
        )
    if given.n_in_image < min_in_image:
        lines.append(f"Fewer than {min_in_image} points land in the image.")
    lines.append("Calibration looks plausible." if ok else "Calibration looks WRONG.")
    return CalibrationReport(
        n_points=len(pts),
        n_front=given.n_front,
        n_in_image=given.n_in_image,
        share_in_image=given.share_in_image,
        ground_below_share=given.ground_below_share,
        upright=given.upright,
        rotation_orthonormal=orthonormal,
        rotation_error=rot_err,
        rotation_det=det,
        looks_inverted=inverted,
        looks_transposed=transposed,
        ambiguous=ambiguous,
        ok=ok,
        candidates=cands,
        summary=" ".join(lines),
    )
