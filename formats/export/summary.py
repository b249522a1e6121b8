"""What a conversion or export wrote: :class:`ConvertSummary`, shared by every writer (the
converter registry in :mod:`formats.convert`, the exporters, the OpenLABEL, BEV and image
writers), kept apart so that writers need not import the registry."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConvertSummary:
    """What a conversion wrote: ``frames`` and ``boxes`` written, ``skipped`` items as
    ``(what, why)`` pairs (e.g. ``("frame 3 track 7", "outside the image_2 field of view")``),
    ``outputs`` the folders/files written (one per sequence), ``warnings`` notes that are not skips,
    ``failed`` ``(sequence, error)`` of sequences that could not be converted (folder conversions),
    ``tilt_dropped`` boxes written without their roll / pitch by a format that holds a yaw only
    (KITTI) and ``tilt_dropped_max`` the largest such tilt (radians: the angle between the box's
    up axis and +z)."""

    frames: int = 0
    boxes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    tilt_dropped: int = 0
    tilt_dropped_max: float = 0.0

    def drop_tilt(self, box: Any) -> None:
        """Count a tilted ``Box3D`` written upright (no-op for an upright box)."""
        if box.tilted:
            self.tilt_dropped += 1
            up_z = float(box.rotation()[2, 2])
            self.tilt_dropped_max = max(self.tilt_dropped_max, math.acos(max(-1.0, min(1.0, up_z))))

    def merge(self, other: ConvertSummary, prefix: str = "") -> ConvertSummary:
        """Add ``other`` into this summary (skipped items prefixed with ``prefix``); returns self."""
        self.frames += other.frames
        self.boxes += other.boxes
        self.skipped.extend((f"{prefix}{w}", why) for w, why in other.skipped)
        self.outputs.extend(other.outputs)
        self.warnings.extend(f"{prefix}{w}" for w in other.warnings)
        self.failed.extend(other.failed)
        self.tilt_dropped += other.tilt_dropped
        self.tilt_dropped_max = max(self.tilt_dropped_max, other.tilt_dropped_max)
        return self

    def skip_reasons(self) -> dict[str, int]:
        """How many items were skipped for each reason."""
        out: dict[str, int] = {}
        for _, why in self.skipped:
            out[why] = out.get(why, 0) + 1
        return out

    def text(self, max_items: int = 10) -> str:
        """A short human-readable closing summary."""
        lines = [f"{self.frames} frames, {self.boxes} boxes written to {len(self.outputs)} output(s); "
                 f"{len(self.skipped)} skipped"]
        for why, n in sorted(self.skip_reasons().items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {n}: {why}")
        for what, why in self.skipped[:max_items]:
            lines.append(f"    {what}: {why}")
        if len(self.skipped) > max_items:
            lines.append(f"    ... {len(self.skipped) - max_items} more")
        if self.tilt_dropped:
            lines.append(f"  tilt dropped: {self.tilt_dropped} tilted boxes written upright (the format holds a yaw "
                         f"only), largest tilt {math.degrees(self.tilt_dropped_max):.2f} deg")
        for w in self.warnings[:max_items]:
            lines.append(f"  warning: {w}")
        for name, err in self.failed:
            lines.append(f"  FAILED {name}: {err}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "boxes": self.boxes, "skipped": [list(s) for s in self.skipped],
                "outputs": list(self.outputs), "warnings": list(self.warnings),
                "failed": [list(f) for f in self.failed], "tilt_dropped": self.tilt_dropped,
                "tilt_dropped_max_rad": self.tilt_dropped_max}
