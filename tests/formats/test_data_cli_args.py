"""The command-line wiring offered to fusionlabel/cli.py: --format and loader options."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from formats.datasets import describe
from formats.openargs import add_open_arguments
from fusionlabel.cli import format_summary, open_sequence
from tests.conftest import real_data
from tests.formats.test_data_layouts import make_tracking


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("path", type=Path)
    add_open_arguments(p)
    return p


@pytest.mark.real
def test_info_kitti_flat() -> None:
    val = real_data("pointpillars_demo", "pointpillars", "dataset", "demo_data", "val")
    args = parser().parse_args([str(val), "--format", "kitti-flat"])
    text = format_summary(describe(open_sequence(args.path, args)))
    assert "(kitti-flat)" in text and "19097" in text and "Pedestrian 7" in text


def test_options_reach_the_loader(tmp_path: Path) -> None:
    make_tracking(tmp_path)
    (tmp_path / "label_02" / "0003.txt").rename(tmp_path / "labels.txt")
    args = parser().parse_args([str(tmp_path), "--format", "kitti-tracking", "--sequence", "3",
                                "--label-path", str(tmp_path / "labels.txt"), "--tolerance-ms", "10"])
    ls = open_sequence(args.path, args)
    assert len(ls.annotations) == 1 and ls.sync.tolerance_ns == 10_000_000
    args = parser().parse_args([str(tmp_path), "--layout", "x,y,z,intensity"])
    ls = open_sequence(args.path, args)
    assert ls.format == "kitti-tracking" and any("'layout' is not used" in w for w in ls.warnings)
