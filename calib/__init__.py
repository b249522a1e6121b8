"""Camera models, rigid transforms, calibration readers and projection (numpy/scipy/opencv only).

Modules: ``transforms`` (4x4 ``T_<dst>_from_<src>``, quaternions w, x, y, z), ``camera``
(``CameraModel``: pinhole / OpenCV radtan incl. rational / fisheye, valid field of view),
``rig`` (``Sensor``, ``Rig``, native rig JSON), ``projection`` (box edges and 2D boxes in images),
``readers`` (KITTI object/tracking/raw, nuScenes records), ``sanity`` (extrinsic plausibility).
"""

from calib.errors import CalibrationError, TransformError

__all__ = ["CalibrationError", "TransformError"]
