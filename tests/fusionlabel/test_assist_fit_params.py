"""The box-fitting parameters: one frozen dataclass, passed per call, and the facade that keeps the
former single module's names."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

import fusionlabel.assist.fit as fit
from fusionlabel.assist.fit import DEFAULT_FIT_PARAMS, FitParams, box_from_cluster
from fusionlabel.assist.ground import GroundModel
from fusionlabel.ontology import Ontology


def test_params_are_frozen_and_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_FIT_PARAMS.pole_excess = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_FIT_PARAMS.class_priors["car"] = 1.0  # type: ignore[index]
    other = dataclasses.replace(DEFAULT_FIT_PARAMS, pole_excess=1.0)
    assert other != DEFAULT_FIT_PARAMS and other.pole_excess == 1.0 and FitParams() == DEFAULT_FIT_PARAMS
    assert len({DEFAULT_FIT_PARAMS, FitParams(), other}) == 2


def test_facade_constants_are_the_defaults() -> None:
    for f in dataclasses.fields(FitParams):
        assert getattr(fit, f.name.upper()) == getattr(DEFAULT_FIT_PARAMS, f.name), f.name


def test_no_module_of_the_package_keeps_a_knob() -> None:
    """Parameters live in FitParams only: no submodule assigns an upper-case name at module level
    (the facade's read-only copies and the default instance aside)."""
    for path in sorted(Path(fit.__file__).parent.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        names = [t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                 for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                 if isinstance(t, ast.Name) and t.id.isupper()]
        assert set(names) <= {"F64", "DEFAULT_FIT_PARAMS"}, (path.name, names)


def test_a_parameter_passed_per_call_changes_the_box() -> None:
    """A walker whose points stretch along 30 degrees, the ego heading 0: by default headed along the
    nearest ego axis (0), with ``walker_ego_axes`` off along its principal axis (30)."""
    rng = np.random.default_rng(3)
    a = math.radians(30.0)
    u, v = rng.normal(0.0, 0.2, 200), rng.normal(0.0, 0.06, 200)
    pts = np.column_stack([10.0 + u * math.cos(a) - v * math.sin(a), 2.0 + u * math.sin(a) + v * math.cos(a),
                           rng.uniform(0.2, 1.7, 200)])
    ground, onto = GroundModel((0.0, 0.0, 0.0)), Ontology.default()
    snapped, _, _ = box_from_cluster(pts, ground, onto, class_hint="pedestrian", ego_yaw=0.0)
    free, _, _ = box_from_cluster(pts, ground, onto, class_hint="pedestrian", ego_yaw=0.0,
                                  fit_params=dataclasses.replace(DEFAULT_FIT_PARAMS, walker_ego_axes=False))
    mod180 = [abs((math.degrees(b.yaw) + 90.0) % 180.0 - 90.0) for b in (snapped, free)]
    assert mod180[0] == pytest.approx(0.0, abs=1e-6)
    assert abs(mod180[1] - 30.0) < 5.0
