"""Camera models, rigid transforms, calibration readers and projection (numpy/scipy/opencv only)."""

from calib.errors import CalibrationError, TransformError

__all__ = ["CalibrationError", "TransformError"]
