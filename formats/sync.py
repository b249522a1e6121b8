"""Camera-to-LiDAR synchronization: which image of each camera belongs to which LiDAR sweep.

Rule
----
Each LiDAR sweep ``i`` (timestamp ``t_i``, integer ns) gets, per camera, the image whose timestamp
is nearest to ``t_i``, **only** when ``|dt| <= tolerance_ns`` and the sweep is also that image's
nearest sweep (an image is never shown with two sweeps, and never with a sweep that another sweep
is closer to). Otherwise the sweep has no image of that camera: it is *missing* and, when an image
existed but was too far away, *out of tolerance*. Nothing is ever paired silently beyond the
tolerance; every gap is counted in the :class:`SyncReport`.

Layouts that pair files by a shared frame id instead of time (KITTI, SUSTechPOINTS) use
:func:`report_from_pairs`, which gives the same report (``dt`` from the timestamps when known).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Default tolerance: half the period of a 10 Hz LiDAR.
DEFAULT_TOLERANCE_NS = 50_000_000


@dataclass
class CameraSync:
    """Synchronization statistics of one camera over a sequence.

    ``frames``: number of sweeps; ``matched``: sweeps paired with an image; ``missing_frames``:
    sweeps left without an image (sorted frame indices); ``out_of_tolerance_frames``: those of the
    missing sweeps whose nearest image was farther than the tolerance (or was claimed by a closer
    sweep); ``unused_images``: images paired with no sweep; ``max_abs_dt_ns``: largest
    ``|t_image - t_sweep|`` over the matched pairs (0 when none).
    """

    camera: str
    frames: int
    matched: int = 0
    missing_frames: list[int] = field(default_factory=list)
    out_of_tolerance_frames: list[int] = field(default_factory=list)
    unused_images: int = 0
    max_abs_dt_ns: int = 0

    @property
    def missing(self) -> int:
        return len(self.missing_frames)

    @property
    def out_of_tolerance(self) -> int:
        return len(self.out_of_tolerance_frames)

    def to_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "frames": self.frames,
            "matched": self.matched,
            "missing": self.missing,
            "out_of_tolerance": self.out_of_tolerance,
            "unused_images": self.unused_images,
            "max_abs_dt_ns": self.max_abs_dt_ns,
            "missing_frames": list(self.missing_frames),
            "out_of_tolerance_frames": list(self.out_of_tolerance_frames),
        }


@dataclass
class SyncReport:
    """Per-camera :class:`CameraSync` statistics, the tolerance used (ns) and the pairing method
    (``"timestamp"`` or ``"frame_id"``)."""

    tolerance_ns: int = DEFAULT_TOLERANCE_NS
    method: str = "timestamp"
    cameras: dict[str, CameraSync] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every sweep has an image of every camera."""
        return all(c.missing == 0 for c in self.cameras.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "tolerance_ns": self.tolerance_ns,
            "method": self.method,
            "cameras": {k: v.to_dict() for k, v in self.cameras.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SyncReport:
        rep = cls(int(d["tolerance_ns"]), str(d["method"]))
        for name, c in d["cameras"].items():
            rep.cameras[name] = CameraSync(
                camera=name,
                frames=int(c["frames"]),
                matched=int(c["matched"]),
                missing_frames=[int(v) for v in c["missing_frames"]],
                out_of_tolerance_frames=[int(v) for v in c["out_of_tolerance_frames"]],
                unused_images=int(c["unused_images"]),
                max_abs_dt_ns=int(c["max_abs_dt_ns"]),
            )
        return rep

    def summary(self) -> str:
        """One line per camera: matched/frames, missing, out of tolerance, max |dt| in ms."""
        lines = [f"sync ({self.method}, tolerance {self.tolerance_ns / 1e6:.1f} ms):"]
        for c in self.cameras.values():
            lines.append(
                f"  {c.camera}: {c.matched}/{c.frames} matched, {c.missing} missing "
                f"({c.out_of_tolerance} out of tolerance), {c.unused_images} unused images, "
                f"max |dt| {c.max_abs_dt_ns / 1e6:.1f} ms"
            )
        return "\n".join(lines)


def match_nearest(
    sweep_ns: Sequence[int] | np.ndarray,
    image_ns: Sequence[int] | np.ndarray,
    tolerance_ns: int = DEFAULT_TOLERANCE_NS,
    camera: str = "camera",
) -> tuple[list[int | None], CameraSync]:
    """Pair the images of one camera with LiDAR sweeps (rule in the module docstring).

    ``sweep_ns`` (F,) and ``image_ns`` (M,) are integer nanoseconds, each strictly increasing.
    Returns ``(image index per sweep or None, statistics)``."""
    t_s = np.asarray(sweep_ns, dtype=np.int64).reshape(-1)
    t_i = np.asarray(image_ns, dtype=np.int64).reshape(-1)
    if tolerance_ns < 0:
        raise ValueError(f"tolerance must be >= 0 ns, got {tolerance_ns}")
    for name, t in (("sweep", t_s), ("image", t_i)):
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise ValueError(f"{name} timestamps must be strictly increasing")
    stats = CameraSync(camera, int(t_s.size))
    out: list[int | None] = [None] * int(t_s.size)
    if t_i.size == 0:
        stats.missing_frames = list(range(t_s.size))
        return out, stats
    if t_s.size == 0:
        stats.unused_images = int(t_i.size)
        return out, stats
    # nearest image of each sweep
    j = np.clip(np.searchsorted(t_i, t_s), 1, t_i.size - 1) if t_i.size > 1 else np.zeros(t_s.size, np.int64)
    if t_i.size > 1:
        left = j - 1
        j = np.where(np.abs(t_i[left] - t_s) <= np.abs(t_i[j] - t_s), left, j)
    # nearest sweep of each image (ties go to the earlier sweep)
    k = np.clip(np.searchsorted(t_s, t_i), 1, t_s.size - 1) if t_s.size > 1 else np.zeros(t_i.size, np.int64)
    if t_s.size > 1:
        left = k - 1
        k = np.where(np.abs(t_s[left] - t_i) <= np.abs(t_s[k] - t_i), left, k)
    used = np.zeros(t_i.size, bool)
    for i in range(t_s.size):
        jj = int(j[i])
        dt = abs(int(t_i[jj]) - int(t_s[i]))
        if dt <= tolerance_ns and int(k[jj]) == i:
            out[i] = jj
            used[jj] = True
            stats.matched += 1
            stats.max_abs_dt_ns = max(stats.max_abs_dt_ns, dt)
        else:
            stats.missing_frames.append(i)
            stats.out_of_tolerance_frames.append(i)
    stats.unused_images = int((~used).sum())
    return out, stats


def synchronize(
    sweep_ns: Sequence[int] | np.ndarray,
    cameras: Mapping[str, Sequence[int] | np.ndarray],
    tolerance_ns: int = DEFAULT_TOLERANCE_NS,
) -> tuple[dict[str, list[int | None]], SyncReport]:
    """:func:`match_nearest` for every camera; returns ``({camera: image index per sweep}, report)``."""
    report = SyncReport(int(tolerance_ns), "timestamp")
    pairs: dict[str, list[int | None]] = {}
    for name, ts in cameras.items():
        pairs[name], report.cameras[name] = match_nearest(sweep_ns, ts, tolerance_ns, name)
    return pairs, report


def report_from_pairs(
    sweep_ns: Sequence[int],
    cameras: Mapping[str, Mapping[int, int | None]],
    tolerance_ns: int = DEFAULT_TOLERANCE_NS,
    unused_images: Mapping[str, int] | None = None,
) -> tuple[dict[str, set[int]], SyncReport]:
    """A report for layouts that pair by frame id. ``cameras[name]`` maps sweep index -> the
    image's timestamp (ns; None when unknown, taken as the sweep's). Pairs with ``|dt|`` above the
    tolerance are dropped (out of tolerance). Returns ``({camera: accepted sweep indices}, report)``."""
    report = SyncReport(int(tolerance_ns), "frame_id")
    accepted: dict[str, set[int]] = {}
    for name, per in cameras.items():
        st = CameraSync(name, len(sweep_ns), unused_images=int((unused_images or {}).get(name, 0)))
        ok: set[int] = set()
        for i, t_s in enumerate(sweep_ns):
            if i not in per:
                st.missing_frames.append(i)
                continue
            t_img = per[i]
            dt = 0 if t_img is None else abs(int(t_img) - int(t_s))
            if dt > tolerance_ns:
                st.missing_frames.append(i)
                st.out_of_tolerance_frames.append(i)
                st.unused_images += 1
                continue
            ok.add(i)
            st.matched += 1
            st.max_abs_dt_ns = max(st.max_abs_dt_ns, dt)
        accepted[name] = ok
        report.cameras[name] = st
    return accepted, report
