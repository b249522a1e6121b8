"""A sensor rig: named sensors with their poses in the ``ego`` frame, and the native rig JSON file.

Frames: every sensor has its own frame named by the sensor (``lidar_top``, ``cam_front``, ...);
``ego`` is the vehicle frame (x forward, y left, z up). Camera sensors' frames are optical frames
(x right, y down, z forward). ``Rig.T(dst, src)`` returns the 4x4 ``T_dst_from_src``.

Native rig JSON (``load_rig_json`` / ``save_rig_json``)
-----------------------------------------------------
::

    {
      "format": "fusionlabel.rig",          # optional on reading
      "version": 1,                          # required; only 1 is known
      "sensors": [
        {
          "name": "cam_front",               # unique, non-empty, not "ego"
          "kind": "camera",                  # "lidar" | "camera" | "radar" | "imu" | other string
          "T_ego_from_sensor": [[r00, r01, r02, tx], [..], [..], [0, 0, 0, 1]],   # metres, row-major
          "camera": {                        # required for kind "camera", absent otherwise
            "K": [[fx, s, cx], [0, fy, cy], [0, 0, 1]],
            "width": 1600, "height": 900,    # pixels
            "model": "none",                 # "none" | "radtan" | "fisheye" (see calib.camera)
            "dist": []                        # coefficients in OpenCV order
          }
        }
      ]
    }

On reading, a sensor may give its pose as ``"translation": [x, y, z]`` (metres) and
``"rotation_wxyz": [w, x, y, z]`` instead of ``T_ego_from_sensor``; writing always uses the matrix.
Files are written atomically (temporary file in the same folder, fsync, ``os.replace``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.errors import CalibrationError, TransformError, UnknownSensorError
from calib.fileio import atomic_write_text, read_json_file
from calib.schema import validate
from calib.transforms import check_transform, invert, make_transform, quat_to_rotation

F64 = NDArray[np.float64]

RIG_FORMAT = "fusionlabel.rig"
RIG_VERSION = 1
EGO = "ego"


@dataclass(frozen=True, eq=False)
class Sensor:
    """One sensor: ``name``, ``kind``, its pose ``T_ego_from_sensor`` (4, 4) and, for cameras, the
    :class:`CameraModel` of its optical frame."""

    name: str
    kind: str
    T_ego_from_sensor: F64
    camera: CameraModel | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name == EGO:
            raise CalibrationError(
                f"sensor name must be a non-empty string other than {EGO!r}, got {self.name!r}", key="name"
            )
        if not isinstance(self.kind, str) or not self.kind:
            raise CalibrationError(f"sensor {self.name!r}: kind must be a non-empty string", key="kind")
        try:
            T = check_transform(self.T_ego_from_sensor, name=f"sensor {self.name!r} T_ego_from_sensor").copy()
        except (TransformError, TypeError, ValueError) as e:
            raise CalibrationError(str(e), key="T_ego_from_sensor") from None
        T.setflags(write=False)
        object.__setattr__(self, "T_ego_from_sensor", T)
        if self.kind == "camera" and not isinstance(self.camera, CameraModel):
            raise CalibrationError(f"camera sensor {self.name!r} needs a CameraModel", key="camera")
        if self.kind != "camera" and self.camera is not None:
            raise CalibrationError(
                f"sensor {self.name!r} of kind {self.kind!r} must not have a camera model", key="camera"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sensor):
            return NotImplemented
        return (self.name, self.kind, self.camera) == (
            other.name,
            other.kind,
            other.camera,
        ) and np.array_equal(self.T_ego_from_sensor, other.T_ego_from_sensor)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "T_ego_from_sensor": self.T_ego_from_sensor.tolist(),
        }
        if self.camera is not None:
            d["camera"] = self.camera.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Any, source: str | None = None) -> Sensor:
        """From the dict of one ``sensors`` entry; ``source`` (file name) is named in errors."""
        if not isinstance(d, dict):
            raise CalibrationError(f"sensor entry must be an object, got {type(d).__name__}", path=source)
        for key in ("name", "kind"):
            if key not in d:
                raise CalibrationError("missing", path=source, key=key)
        name = d["name"]
        where = f"sensor {name!r}"
        if "T_ego_from_sensor" in d:
            T = _matrix(d["T_ego_from_sensor"], (4, 4), source, f"{where}.T_ego_from_sensor")
        elif "translation" in d and "rotation_wxyz" in d:
            t = _matrix(d["translation"], (3,), source, f"{where}.translation")
            q = _matrix(d["rotation_wxyz"], (4,), source, f"{where}.rotation_wxyz")
            if abs(np.linalg.norm(q) - 1.0) > 1e-3:
                raise CalibrationError(
                    f"quaternion is not unit length (norm {np.linalg.norm(q):.6f})",
                    path=source,
                    key=f"{where}.rotation_wxyz",
                )
            T = make_transform(quat_to_rotation(q), t)
        else:
            raise CalibrationError(
                "missing (or translation + rotation_wxyz)", path=source, key=f"{where}.T_ego_from_sensor"
            )
        camera = None
        if d.get("camera") is not None:
            camera = CameraModel.from_dict(d["camera"], source=source)
        try:
            return cls(name=name, kind=d["kind"], T_ego_from_sensor=T, camera=camera)
        except CalibrationError as e:
            raise CalibrationError(
                e.detail, path=source, key=f"{where}.{e.key}" if e.key else where
            ) from None


def _matrix(value: Any, shape: tuple[int, ...], source: str | None, key: str) -> F64:
    """A numeric array of the given shape, finite, or CalibrationError naming source and key."""
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError(
            f"expected numbers of shape {shape}, got {value!r:.80}", path=source, key=key
        ) from None
    if a.shape != shape:
        raise CalibrationError(f"expected shape {shape}, got {a.shape}", path=source, key=key)
    if not np.all(np.isfinite(a)):
        raise CalibrationError("contains NaN or inf", path=source, key=key)
    return a


class Rig:
    """A set of uniquely named sensors; ``T(dst, src)`` gives ``T_dst_from_src`` between any two
    sensors or ``"ego"``."""

    def __init__(self, sensors: Iterable[Sensor]) -> None:
        self._sensors: dict[str, Sensor] = {}
        for s in sensors:
            if not isinstance(s, Sensor):
                raise TypeError(f"Rig takes Sensor objects, got {type(s).__name__}")
            if s.name in self._sensors:
                raise CalibrationError(f"duplicate sensor name {s.name!r}", key="name")
            self._sensors[s.name] = s

    # ---- lookup ----------------------------------------------------------------------------
    def _unknown(self, name: str) -> UnknownSensorError:
        known = ", ".join(repr(n) for n in [EGO, *self._sensors])
        return UnknownSensorError(f"unknown sensor {name!r}; the rig knows {known}")

    def sensor(self, name: str) -> Sensor:
        """The sensor called ``name``; UnknownSensorError (a KeyError) lists the known names."""
        try:
            return self._sensors[name]
        except KeyError:
            raise self._unknown(name) from None

    def camera(self, name: str) -> CameraModel:
        """The CameraModel of camera sensor ``name``."""
        s = self.sensor(name)
        if s.camera is None:
            raise UnknownSensorError(
                f"sensor {name!r} is a {s.kind}, not a camera; cameras: {self.camera_names()}"
            )
        return s.camera

    @property
    def sensors(self) -> list[Sensor]:
        return list(self._sensors.values())

    def names(self) -> list[str]:
        return list(self._sensors)

    def camera_names(self) -> list[str]:
        return [n for n, s in self._sensors.items() if s.kind == "camera"]

    def lidar_names(self) -> list[str]:
        return [n for n, s in self._sensors.items() if s.kind == "lidar"]

    def __contains__(self, name: object) -> bool:
        return name == EGO or name in self._sensors

    def __len__(self) -> int:
        return len(self._sensors)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._sensors.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rig):
            return NotImplemented
        return self.sensors == other.sensors

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rig({', '.join(f'{s.name}:{s.kind}' for s in self._sensors.values())})"

    # ---- transforms ------------------------------------------------------------------------
    def T_ego_from(self, name: str) -> F64:
        """4x4 ``T_ego_from_<name>`` (identity for ``"ego"``)."""
        if name == EGO:
            return np.eye(4)
        return self.sensor(name).T_ego_from_sensor.copy()

    def T(self, dst: str, src: str) -> F64:
        """4x4 ``T_dst_from_src`` between two sensor names (or ``"ego"``)."""
        T_ego_from_dst = self.T_ego_from(dst)
        T_ego_from_src = self.T_ego_from(src)
        return invert(T_ego_from_dst) @ T_ego_from_src

    def with_sensor(self, sensor: Sensor) -> Rig:
        """A new rig with ``sensor`` added, or replacing the sensor of the same name."""
        sensors = dict(self._sensors)
        sensors[sensor.name] = sensor
        return Rig(sensors.values())

    # ---- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The native rig JSON structure (see the module docstring)."""
        return {
            "format": RIG_FORMAT,
            "version": RIG_VERSION,
            "sensors": [s.to_dict() for s in self._sensors.values()],
        }

    @classmethod
    def from_dict(cls, d: Any, source: str | None = None) -> Rig:
        """Inverse of :meth:`to_dict`; ``source`` (file name) is named in errors."""
        if not isinstance(d, dict):
            raise CalibrationError(f"rig must be a JSON object, got {type(d).__name__}", path=source)
        if "version" not in d:
            raise CalibrationError("missing", path=source, key="version")
        if d["version"] != RIG_VERSION:
            raise CalibrationError(
                f"unsupported rig version {d['version']!r} (known: {RIG_VERSION})", path=source, key="version"
            )
        if "format" in d and d["format"] != RIG_FORMAT:
            raise CalibrationError(f"expected {RIG_FORMAT!r}, got {d['format']!r}", path=source, key="format")
        if "sensors" not in d:
            raise CalibrationError("missing", path=source, key="sensors")
        if not isinstance(d["sensors"], list):
            raise CalibrationError("must be a list", path=source, key="sensors")
        sensors = [Sensor.from_dict(s, source=source) for s in d["sensors"]]
        try:
            return cls(sensors)
        except CalibrationError as e:
            raise CalibrationError(
                e.detail, path=source, key=f"sensors.{e.key}" if e.key else "sensors"
            ) from None


def load_rig_json(path: str | os.PathLike[str]) -> Rig:
    """Read a native rig JSON file; CalibrationError names the file and the key on bad input."""
    path = Path(path)
    data = read_json_file(path, lambda src, msg: CalibrationError(msg, path=src))
    validate(data, "rig", path, lambda src, msg: CalibrationError(msg, path=src))
    return Rig.from_dict(data, source=str(path))


def save_rig_json(rig: Rig, path: str | os.PathLike[str]) -> None:
    """Write ``rig`` as native rig JSON, atomically."""
    atomic_write_text(path, json.dumps(rig.to_dict(), indent=2) + "\n")
