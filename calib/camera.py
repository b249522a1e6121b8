"""Camera intrinsics and lens distortion: projection, unprojection and the valid field of view.

Frames and units
----------------
Points are given in the camera optical frame (x right, y down, z forward, metres). Pixels follow
OpenCV: ``u`` to the right, ``v`` down, the centre of pixel ``(i, j)`` (column, row) is at
``(u, v) = (i, j)``, so the image covers the rectangle ``[-0.5, width - 0.5] x [-0.5, height - 0.5]``
(see :meth:`CameraModel.image_rect`). ``depth`` is always the z coordinate in the camera frame.

Models
------
``none``
    Pinhole: ``u = fx x/z + s y/z + cx``, ``v = fy y/z + cy`` (``s`` = skew ``K[0, 1]``).
``radtan``
    OpenCV's ``projectPoints`` model with ``dist = (k1, k2, p1, p2[, k3[, k4, k5, k6]])`` (4, 5 or 8
    values; 8 is the rational model). With ``x, y`` the normalised coordinates and ``r2 = x^2 + y^2``::

        radial = (1 + k1 r2 + k2 r2^2 + k3 r2^3) / (1 + k4 r2 + k5 r2^2 + k6 r2^3)
        xd = x radial + 2 p1 x y + p2 (r2 + 2 x^2)
        yd = y radial + p1 (r2 + 2 y^2) + 2 p2 x y

``fisheye``
    OpenCV's ``cv2.fisheye`` equidistant model with ``dist = (k1, k2, k3, k4)``: with ``theta`` the
    angle from the optical axis, ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 +
    k4 theta^8)`` and the distorted normalised point is ``(theta_d / r) (x, y)``.

Valid field of view (the rule)
------------------------------
Distortion polynomials are fitted over the image only; beyond some radius they *fold back*, and a
point far outside the field of view can then land in the middle of the image (the classic bug of
boxes behind the camera's side appearing in the picture). Each model therefore gets a maximal
angle from the optical axis, :attr:`CameraModel.max_angle`, computed once at construction:

* ``none``: pi/2 (anything in front of the camera).
* ``radtan``: the largest normalised radius ``r_max`` (``max_angle = atan(r_max)``) such that on the
  whole disk ``r < r_max`` the distortion map has a positive Jacobian determinant, a positive radial
  factor and a positive rational denominator. The disk is scanned at 0.05 degree steps of the
  angle (and, when p1/p2 are non-zero, in 36 directions), then the radial-only boundary is refined
  by bisection. If no fold is found below 89.5 degrees, ``max_angle`` is 89.5 degrees.
* ``fisheye``: the largest ``theta < pi/2`` below which ``theta_d(theta)`` is strictly increasing
  and positive.

``project`` marks points beyond ``max_angle`` invalid; ``unproject``/``rays`` return NaN for pixels
that no direction inside the valid field of view maps to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.errors import CalibrationError

F64 = NDArray[np.float64]

MODELS = ("none", "radtan", "fisheye")
#: Allowed numbers of distortion coefficients per model.
DIST_COUNTS = {"none": (0,), "radtan": (4, 5, 8), "fisheye": (4,)}
#: Default near plane (metres along the optical axis).
DEFAULT_NEAR = 0.1
#: Largest angle from the optical axis scanned when looking for a fold of a distortion polynomial.
FOV_SCAN_LIMIT = math.radians(89.5)
_SCAN_STEP = math.radians(0.05)


def _as_points(pts: ArrayLike, name: str = "pts_cam") -> F64:
    pts = np.asarray(pts, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3), got {pts.shape}")
    return pts


def _as_uv(uv: ArrayLike) -> F64:
    uv = np.asarray(uv, dtype=np.float64)
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ValueError(f"uv must have shape (N, 2), got {uv.shape}")
    return uv


@dataclass(frozen=True, eq=False)
class CameraModel:
    """Intrinsics ``K`` (3, 3), image ``width`` x ``height`` px, distortion ``model`` and ``dist``.

    Immutable; ``K`` is stored as a read-only float64 copy. See the module docstring for the
    models, the pixel convention and the valid field of view rule.
    """

    K: F64
    width: int
    height: int
    model: str = "none"
    dist: tuple[float, ...] = ()
    _max_radius: float = field(init=False, repr=False, default=math.inf)
    _max_angle: float = field(init=False, repr=False, default=math.pi / 2)

    def __post_init__(self) -> None:
        try:
            K = np.array(self.K, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise CalibrationError(f"K is not numeric: {e}", key="K") from None
        if K.shape != (3, 3):
            raise CalibrationError(f"K must be 3x3, got shape {K.shape}", key="K")
        if not np.all(np.isfinite(K)):
            raise CalibrationError("K contains NaN or inf", key="K")
        if not (K[0, 0] > 0 and K[1, 1] > 0):
            raise CalibrationError(f"focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}", key="K")
        if abs(K[1, 0]) > 1e-9 or np.abs(K[2] - [0.0, 0.0, 1.0]).max() > 1e-9:
            raise CalibrationError(
                f"K must be upper triangular with last row [0, 0, 1], got {K.tolist()}", key="K"
            )
        K.setflags(write=False)
        object.__setattr__(self, "K", K)
        for key in ("width", "height"):
            v = getattr(self, key)
            try:
                is_int = not isinstance(v, bool) and float(v).is_integer() and v > 0
            except (TypeError, ValueError):
                is_int = False
            if not is_int:
                raise CalibrationError(
                    f"{key} must be a positive integer number of pixels, got {v!r}", key=key
                )
            object.__setattr__(self, key, int(v))
        if self.model not in MODELS:
            raise CalibrationError(
                f"unknown distortion model {self.model!r}; expected one of {MODELS}", key="model"
            )
        try:
            dist = tuple(float(c) for c in np.asarray(self.dist, dtype=np.float64).reshape(-1))
        except (TypeError, ValueError) as e:
            raise CalibrationError(f"distortion coefficients are not numeric: {e}", key="dist") from None
        if len(dist) not in DIST_COUNTS[self.model]:
            raise CalibrationError(
                f"model {self.model!r} takes {' or '.join(map(str, DIST_COUNTS[self.model]))} "
                f"coefficients, got {len(dist)}",
                key="dist",
            )
        if not all(math.isfinite(c) for c in dist):
            raise CalibrationError(f"distortion coefficients contain NaN or inf: {dist}", key="dist")
        object.__setattr__(self, "dist", dist)
        r_max, a_max = self._compute_fov()
        object.__setattr__(self, "_max_radius", r_max)
        object.__setattr__(self, "_max_angle", a_max)

    # ---- basic accessors ---------------------------------------------------------------------
    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def skew(self) -> float:
        return float(self.K[0, 1])

    @property
    def max_angle(self) -> float:
        """Largest angle (radians) from the optical axis inside the valid field of view."""
        return self._max_angle

    @property
    def max_radius(self) -> float:
        """Largest normalised radius ``sqrt((x/z)^2 + (y/z)^2)`` inside the valid FOV (may be inf)."""
        return self._max_radius

    @property
    def is_distorted(self) -> bool:
        return self.model != "none" and any(c != 0.0 for c in self.dist)

    def image_rect(self) -> tuple[float, float, float, float]:
        """The image area ``(u_min, v_min, u_max, v_max)`` in px: ``(-0.5, -0.5, W - 0.5, H - 0.5)``."""
        return (-0.5, -0.5, self.width - 0.5, self.height - 0.5)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraModel):
            return NotImplemented
        return np.array_equal(self.K, other.K) and (self.width, self.height, self.model, self.dist) == (
            other.width,
            other.height,
            other.model,
            other.dist,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-free but holds an array: not hashable

    # ---- distortion in normalised coordinates --------------------------------------------------
    def _radtan_coeffs(self) -> tuple[float, ...]:
        d = self.dist + (0.0,) * (8 - len(self.dist))
        return d  # k1, k2, p1, p2, k3, k4, k5, k6

    def _radtan_terms(self, r2: F64) -> tuple[F64, F64, F64]:
        """radial factor, d radial / d r2, denominator."""
        k1, k2, _, _, k3, k4, k5, k6 = self._radtan_coeffs()
        a = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        b = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
        da = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
        db = k4 + r2 * (2.0 * k5 + 3.0 * k6 * r2)
        with np.errstate(divide="ignore", invalid="ignore"):
            radial = a / b
            dradial = (da * b - a * db) / (b * b)
        return radial, dradial, b

    def _radtan_jacobian_det(self, x: F64, y: F64) -> tuple[F64, F64, F64]:
        """det of d(xd, yd)/d(x, y), the radial factor and the denominator at (x, y)."""
        _, _, p1, p2, *_ = self._radtan_coeffs()
        r2 = x * x + y * y
        radial, dradial, b = self._radtan_terms(r2)
        j00 = radial + 2.0 * x * x * dradial + 2.0 * p1 * y + 6.0 * p2 * x
        j01 = 2.0 * x * y * dradial + 2.0 * p1 * x + 2.0 * p2 * y
        j11 = radial + 2.0 * y * y * dradial + 6.0 * p1 * y + 2.0 * p2 * x
        return j00 * j11 - j01 * j01, radial, b

    def _fisheye_theta_d(self, theta: F64) -> tuple[F64, F64]:
        """theta_d(theta) and its derivative."""
        k1, k2, k3, k4 = self.dist
        t2 = theta * theta
        poly = 1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))
        dpoly = 1.0 + t2 * (3.0 * k1 + t2 * (5.0 * k2 + t2 * (7.0 * k3 + t2 * 9.0 * k4)))
        return theta * poly, dpoly

    def _compute_fov(self) -> tuple[float, float]:
        """(max normalised radius, max angle) of the valid field of view; see the module docstring."""
        if self.model == "none" or not any(c != 0.0 for c in self.dist):
            return math.inf, math.pi / 2
        angles = np.arange(0.0, FOV_SCAN_LIMIT + _SCAN_STEP / 2, _SCAN_STEP)
        if self.model == "fisheye":
            theta_d, dtheta = self._fisheye_theta_d(angles)
            ok = (dtheta > 0) & ((theta_d > 0) | (angles == 0))
            bad = np.flatnonzero(~ok)
            if bad.size == 0:
                # Keep checking up to pi/2 exactly (the near plane bounds the rest).
                tail = np.linspace(FOV_SCAN_LIMIT, math.pi / 2, 64)
                td, dt = self._fisheye_theta_d(tail)
                tail_bad = np.flatnonzero((dt <= 0) | (td <= 0))
                a_max = math.pi / 2 if tail_bad.size == 0 else float(tail[max(tail_bad[0] - 1, 0)])
            else:
                lo, hi = float(angles[bad[0] - 1]), float(angles[bad[0]])
                for _ in range(60):  # refine the fold by bisection
                    mid = 0.5 * (lo + hi)
                    td, dt = self._fisheye_theta_d(np.array([mid]))
                    if dt[0] > 0 and td[0] > 0:
                        lo = mid
                    else:
                        hi = mid
                a_max = lo
            return (math.tan(a_max) if a_max < math.pi / 2 else math.inf), a_max

        radii = np.tan(angles)

        def radial_ok(r: F64) -> NDArray[np.bool_]:
            det, radial, b = self._radtan_jacobian_det(r, np.zeros_like(r))
            return (det > 0) & (radial > 0) & (b > 0)

        ok = radial_ok(radii)
        bad = np.flatnonzero(~ok)
        if bad.size == 0:
            r_max = float(radii[-1])
        else:
            lo, hi = float(radii[bad[0] - 1]), float(radii[bad[0]])
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                if radial_ok(np.array([mid]))[0]:
                    lo = mid
                else:
                    hi = mid
            r_max = lo
        _, _, p1, p2, *_ = self._radtan_coeffs()
        if p1 != 0.0 or p2 != 0.0:
            # Tangential terms break the rotational symmetry: scan directions too.
            n_r = int(min(bad[0] if bad.size else radii.size, radii.size))
            rs = radii[:n_r][:, None]
            phis = np.linspace(0.0, 2.0 * math.pi, 36, endpoint=False)[None, :]
            det, radial, b = self._radtan_jacobian_det(rs * np.cos(phis), rs * np.sin(phis))
            row_ok = np.all((det > 0) & (radial > 0) & (b > 0), axis=1)
            bad2 = np.flatnonzero(~row_ok)
            if bad2.size:
                r_max = min(r_max, float(radii[max(bad2[0] - 1, 0)]))
        return r_max, math.atan(r_max)

    def distort(self, xy: ArrayLike) -> F64:
        """Normalised undistorted (N, 2) ``(x/z, y/z)`` -> normalised distorted (N, 2).

        Only meaningful inside the valid field of view (``hypot(x, y) < max_radius``)."""
        xy = np.asarray(xy, dtype=np.float64)
        x, y = xy[:, 0], xy[:, 1]
        if self.model == "none":
            return xy.copy()
        if self.model == "radtan":
            _, _, p1, p2, *_ = self._radtan_coeffs()
            r2 = x * x + y * y
            radial, _, _ = self._radtan_terms(r2)
            xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
            yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
            return np.stack([xd, yd], axis=1)
        r = np.hypot(x, y)
        theta = np.arctan(r)
        theta_d, _ = self._fisheye_theta_d(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(r > 1e-12, theta_d / np.where(r > 1e-12, r, 1.0), 1.0)
        return xy * scale[:, None]

    def undistort(self, xyd: ArrayLike, iterations: int = 20) -> F64:
        """Normalised distorted (N, 2) -> normalised undistorted (N, 2), NaN where no direction
        inside the valid field of view maps there.

        The radial part is inverted by a safeguarded bisection on the (monotonic) radial profile,
        then (radtan with p1/p2) refined by Newton steps on the full 2D map.
        """
        xyd = np.asarray(xyd, dtype=np.float64)
        if self.model == "none" or not self.is_distorted:
            return xyd.copy()
        rd = np.hypot(xyd[:, 0], xyd[:, 1])
        if self.model == "fisheye":
            a_max = self._max_angle
            td_max, _ = self._fisheye_theta_d(np.array([a_max]))
            theta = self._invert_monotonic(rd, lambda t: self._fisheye_theta_d(t), a_max, float(td_max[0]))
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(rd > 1e-15, np.tan(theta) / np.where(rd > 1e-15, rd, 1.0), 1.0)
            out = xyd * scale[:, None]
            out[~np.isfinite(theta)] = np.nan
            return out

        def g(r: F64) -> tuple[F64, F64]:
            r2 = r * r
            radial, dradial, _ = self._radtan_terms(r2)
            return r * radial, radial + 2.0 * r2 * dradial

        r_lim = self._max_radius if math.isfinite(self._max_radius) else math.tan(FOV_SCAN_LIMIT)
        g_lim = float(g(np.array([r_lim]))[0][0])
        _, _, p1, p2, *_ = self._radtan_coeffs()
        tangential = p1 != 0.0 or p2 != 0.0
        # With tangential terms the radial-only bound is only a guide: allow slack, check later.
        r = self._invert_monotonic(rd, g, r_lim, g_lim, allow_beyond=tangential)
        radial_r, _ = g(np.nan_to_num(r))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(
                rd > 1e-15, r / np.where(rd > 1e-15, rd, 1.0), 1.0 / np.maximum(radial_r, 1e-300)
            )
        xy = xyd * scale[:, None]
        if not tangential:
            xy[~np.isfinite(r)] = np.nan
            return xy
        # Newton on the full map from a few starting points (the radial solution, the distorted
        # point itself, and the radial solution pulled inside); keep the first that converges
        # inside the valid field of view.
        out = np.full_like(xy, np.nan)
        todo = np.ones(xy.shape[0], dtype=bool)
        starts = (np.nan_to_num(xy), xyd, np.nan_to_num(xy) * 0.9)
        for start in starts:
            if not todo.any():
                break
            cand = self._newton_radtan(start[todo], xyd[todo], iterations)
            resid = np.abs(self.distort(cand) - xyd[todo]).max(axis=1)
            good = (resid < 1e-10) & (np.hypot(cand[:, 0], cand[:, 1]) <= self._max_radius)
            idx = np.flatnonzero(todo)[good]
            out[idx] = cand[good]
            todo[idx] = False
        return out

    def _newton_radtan(self, xy: F64, xyd: F64, iterations: int) -> F64:
        _, _, p1, p2, *_ = self._radtan_coeffs()
        xy = xy.copy()
        for _ in range(iterations):
            x, y = xy[:, 0], xy[:, 1]
            r2 = x * x + y * y
            radial, dradial, _ = self._radtan_terms(r2)
            fx = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x) - xyd[:, 0]
            fy = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y - xyd[:, 1]
            j00 = radial + 2.0 * x * x * dradial + 2.0 * p1 * y + 6.0 * p2 * x
            j01 = 2.0 * x * y * dradial + 2.0 * p1 * x + 2.0 * p2 * y
            j11 = radial + 2.0 * y * y * dradial + 6.0 * p1 * y + 2.0 * p2 * x
            det = j00 * j11 - j01 * j01
            with np.errstate(divide="ignore", invalid="ignore"):
                dx = (j11 * fx - j01 * fy) / det
                dy = (j00 * fy - j01 * fx) / det
            step = np.stack([dx, dy], axis=1)
            step[~np.isfinite(step)] = 0.0
            xy -= step
            if np.all(np.abs(step) < 1e-15):
                break
        return xy

    @staticmethod
    def _invert_monotonic(target: F64, fn: Any, lim: float, f_lim: float, allow_beyond: bool = False) -> F64:
        """Solve ``fn(s) = target`` for s in [0, lim] where fn is increasing; NaN beyond the range."""
        target = np.asarray(target, dtype=np.float64)
        hi_lim = lim * 1.05 if allow_beyond else lim
        lo = np.zeros_like(target)
        hi = np.full_like(target, hi_lim)
        s = np.clip(target, 0.0, hi_lim)  # start: identity
        for _ in range(100):
            val, der = fn(s)
            # Newton proposal, replaced by the bisection midpoint when it leaves the bracket.
            too_low = val < target
            lo = np.where(too_low, s, lo)
            hi = np.where(too_low, hi, s)
            with np.errstate(divide="ignore", invalid="ignore"):
                s_new = s - (val - target) / der
            bad = ~np.isfinite(s_new) | (s_new <= lo) | (s_new >= hi)
            s_new = np.where(bad, 0.5 * (lo + hi), s_new)
            if np.all(np.abs(s_new - s) <= 1e-15 * np.maximum(1.0, np.abs(s))):
                s = s_new
                break
            s = s_new
        out = s.copy()
        if not allow_beyond:
            out[target > f_lim * (1.0 + 1e-12)] = np.nan
        return out

    # ---- projection --------------------------------------------------------------------------
    def _apply_K(self, xyd: F64) -> F64:
        u = self.K[0, 0] * xyd[:, 0] + self.K[0, 1] * xyd[:, 1] + self.K[0, 2]
        v = self.K[1, 1] * xyd[:, 1] + self.K[1, 2]
        return np.stack([u, v], axis=1)

    def _unapply_K(self, uv: F64) -> F64:
        y = (uv[:, 1] - self.K[1, 2]) / self.K[1, 1]
        x = (uv[:, 0] - self.K[0, 2] - self.K[0, 1] * y) / self.K[0, 0]
        return np.stack([x, y], axis=1)

    def in_fov(self, pts_cam: ArrayLike, near: float = DEFAULT_NEAR) -> NDArray[np.bool_]:
        """(N,) bool: in front of the near plane (z > near, metres) and inside the valid FOV."""
        pts = _as_points(pts_cam)
        z = pts[:, 2]
        front = z > near
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.hypot(pts[:, 0], pts[:, 1]) / z
        return front & (r < self._max_radius) if math.isfinite(self._max_radius) else front

    def in_image(self, uv: ArrayLike) -> NDArray[np.bool_]:
        """(N,) bool: the pixel lies in :meth:`image_rect` (NaN is outside)."""
        uv = _as_uv(uv)
        u0, v0, u1, v1 = self.image_rect()
        return (uv[:, 0] >= u0) & (uv[:, 0] < u1) & (uv[:, 1] >= v0) & (uv[:, 1] < v1)

    def project(
        self, pts_cam: ArrayLike, near: float = DEFAULT_NEAR, require_in_image: bool = True
    ) -> tuple[F64, F64, NDArray[np.bool_]]:
        """Project (N, 3) camera-frame points (m) to pixels.

        Returns ``uv`` (N, 2) float64 px, ``depth`` (N,) = z in metres, and ``valid`` (N,) bool:
        z > ``near``, inside the valid field of view and (if ``require_in_image``) inside the image.
        ``uv`` is NaN for points with z <= 0 and is computed (but not trustworthy) for points
        beyond the valid field of view.
        """
        pts = _as_points(pts_cam)
        z = pts[:, 2].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = pts[:, :2] / z[:, None]
        xy[~(z > 0)] = np.nan
        with np.errstate(over="ignore", invalid="ignore"):  # far outside the FOV: inf/NaN, invalid
            uv = self._apply_K(self.distort(xy))
        valid = self.in_fov(pts, near)
        if require_in_image:
            valid &= self.in_image(uv)
        return uv, z, valid

    def project_normalized(self, xy: ArrayLike) -> F64:
        """Normalised undistorted (N, 2) ``(x/z, y/z)`` -> pixels (N, 2), no validity test."""
        return self._apply_K(self.distort(np.asarray(xy, dtype=np.float64)))

    def rays(self, uv: ArrayLike) -> F64:
        """Pixels (N, 2) -> ray directions (N, 3) in the camera frame with z = 1 (not unit length).

        NaN rows where the pixel is outside the image of the valid field of view."""
        uv = _as_uv(uv)
        xy = self.undistort(self._unapply_K(uv))
        out = np.concatenate([xy, np.ones((xy.shape[0], 1))], axis=1)
        out[~np.isfinite(xy).all(axis=1)] = np.nan
        return out

    def unproject(self, uv: ArrayLike, depth: ArrayLike) -> F64:
        """Pixels (N, 2) and depths (N,) = z in metres -> camera-frame points (N, 3)."""
        uv = _as_uv(uv)
        depth = np.broadcast_to(np.asarray(depth, dtype=np.float64), (uv.shape[0],))
        return self.rays(uv) * depth[:, None]

    # ---- derived models and serialisation ----------------------------------------------------
    def scaled(self, factor: float) -> CameraModel:
        """The same camera for an image resized by ``factor`` (pixel-centre convention kept);
        the new size is rounded to whole pixels."""
        if not (factor > 0 and math.isfinite(factor)):
            raise ValueError(f"scale factor must be positive and finite, got {factor}")
        K = self.K.copy()
        K[0, 0] *= factor
        K[0, 1] *= factor
        K[1, 1] *= factor
        K[0, 2] = (K[0, 2] + 0.5) * factor - 0.5
        K[1, 2] = (K[1, 2] + 0.5) * factor - 0.5
        return CameraModel(
            K, max(1, round(self.width * factor)), max(1, round(self.height * factor)), self.model, self.dist
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``K`` (3x3 nested lists), ``width``, ``height``, ``model``, ``dist``."""
        return {
            "K": self.K.tolist(),
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "dist": list(self.dist),
        }

    @classmethod
    def from_dict(cls, d: Any, source: str | None = None) -> CameraModel:
        """Inverse of :meth:`to_dict`; ``source`` (a file name) is named in errors."""
        if not isinstance(d, dict):
            raise CalibrationError(f"camera must be an object, got {type(d).__name__}", path=source)
        for key in ("K", "width", "height"):
            if key not in d:
                raise CalibrationError("missing", path=source, key=key)
        try:
            return cls(
                K=d["K"],
                width=d["width"],
                height=d["height"],
                model=d.get("model", "none"),
                dist=tuple(d.get("dist", ()) or ()),
            )
        except CalibrationError as e:
            raise CalibrationError(e.detail, path=source, key=e.key) from None
        except (TypeError, ValueError) as e:
            raise CalibrationError(f"malformed camera: {e}", path=source) from None
