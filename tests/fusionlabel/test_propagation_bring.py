"""The policy of "bring the selected box to this frame" (``fusionlabel.propagation.bring_plan``)."""

from __future__ import annotations

import pytest

from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.propagation import BringPlan, bring_plan


def car(x: float) -> Box3D:
    return Box3D((x, 0.0, 0.8), (4.0, 1.8, 1.6), 0.0)


def test_keyframe_stays_and_interpolated_or_tracked_boxes_become_keyframes() -> None:
    t = Track(1, "car", keyframes={2: car(0.0), 8: car(6.0)}, tracked={10: car(8.0)}, tracked_confidence={10: 0.8})
    assert bring_plan(t, 2) == BringPlan("has_keyframe")
    assert bring_plan(t, 5) == BringPlan("make_keyframe")  # interpolated
    assert bring_plan(t, 10) == BringPlan("make_keyframe")  # tracked


def test_outside_the_keyframes_the_nearest_box_on_that_side_is_propagated() -> None:
    t = Track(1, "car", keyframes={4: car(0.0), 8: car(6.0)}, tracked={2: car(-2.0), 11: car(9.0)},
              tracked_confidence={2: 0.5, 11: 0.9}, end=20)
    assert bring_plan(t, 14) == BringPlan("propagate", 11)  # held after the last: the latest box before
    assert bring_plan(t, 1) == BringPlan("propagate", 2)  # before the first: the earliest box after
    t2 = Track(2, "car", keyframes={4: car(0.0), 8: car(6.0)})  # ends at its last keyframe
    assert bring_plan(t2, 12) == BringPlan("propagate", 8)
    assert bring_plan(t2, 0) == BringPlan("propagate", 4)


def test_inside_a_gap_from_the_nearest_keyframe_earlier_on_a_tie() -> None:
    t = Track(1, "car", keyframes={0: car(0.0), 10: car(10.0)}, gaps=((3, 7),))
    assert bring_plan(t, 3) == BringPlan("propagate", 0)
    assert bring_plan(t, 7) == BringPlan("propagate", 10)
    assert bring_plan(t, 5) == BringPlan("propagate", 0)


def test_tracked_boxes_only_and_no_box() -> None:
    t = Track(1, "car", tracked={3: car(0.0), 9: car(6.0)}, tracked_confidence={3: 0.5, 9: 0.5})
    assert bring_plan(t, 6) == BringPlan("make_keyframe")  # between tracked boxes: interpolated
    assert bring_plan(t, 12) == BringPlan("propagate", 9)
    assert bring_plan(t, 1) == BringPlan("propagate", 3)
    with pytest.raises(ModelError, match="track 5 has no box"):
        bring_plan(Track(5, "car"), 0)
