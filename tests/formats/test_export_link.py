"""Exports link the source images a format accepts as they are (hard link, else symbolic link,
else copy) and re-encode them on request."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from formats.convert import convert
from formats.export import common
from fusionlabel.cli import generate


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six cameras: cam_front_left / cam_front_right are undistorted pinhole cameras."""
    return generate(tmp_path_factory.mktemp("link") / "ring", frames=2, seed=3, cameras=6, size=(96, 64))


def test_place_file_link_falls_back_to_symlink_then_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"png bytes")
    assert common.place_file(src, tmp_path / "h.png", "link") == "hardlink"
    assert os.path.samefile(src, tmp_path / "h.png")

    def no_link(*_: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    assert common.place_file(src, tmp_path / "s.png", "link") == "symlink"
    assert (tmp_path / "s.png").is_symlink() and (tmp_path / "s.png").read_bytes() == b"png bytes"
    monkeypatch.setattr(os, "symlink", no_link)
    assert common.place_file(src, tmp_path / "c.png", "link") == "copy"
    assert not (tmp_path / "c.png").is_symlink() and (tmp_path / "c.png").read_bytes() == b"png bytes"
    assert common.place_file(src, tmp_path / "h2.png", "hardlink") == "copy"  # the old mode: copy on failure
    with pytest.raises(ValueError, match="link mode"):
        common.file_modes("move", "link")
    with pytest.raises(ValueError, match="image mode"):
        common.file_modes(None, "jpeg")


def test_kitti_links_an_accepted_image_and_reencodes_on_request(ring: Path, tmp_path: Path) -> None:
    src = ring / "cameras" / "cam_front_left" / "000001.png"
    convert(ring, tmp_path / "k", "kitti", camera="cam_front_left", level=False)
    linked = tmp_path / "k" / "image_2" / "000001.png"
    assert os.path.samefile(src, linked)
    convert(ring, tmp_path / "r", "kitti", camera="cam_front_left", level=False, images="reencode")
    again = tmp_path / "r" / "image_2" / "000001.png"
    assert not os.path.samefile(src, again)
    assert np.array_equal(cv2.imread(str(again)), cv2.imread(str(src)))  # PNG: the same pixels
    assert (tmp_path / "r" / "label_2" / "000001.txt").read_bytes() == (
        tmp_path / "k" / "label_2" / "000001.txt").read_bytes()
    # a levelled (resampled) or distorted camera is encoded whatever the mode
    convert(ring, tmp_path / "d", "kitti", camera="cam_front")
    front = ring / "cameras" / "cam_front" / "000001.png"
    assert not os.path.samefile(front, tmp_path / "d" / "image_2" / "000001.png")
    # link given: images placed that way too (and the other files)
    convert(ring, tmp_path / "c", "kitti", camera="cam_front_left", level=False, link="copy")
    assert not os.path.samefile(src, tmp_path / "c" / "image_2" / "000001.png")


def test_nuscenes_links_jpeg_sources(ring: Path, tmp_path: Path) -> None:
    # a nuScenes export has JPEG images: exported once more, its undistorted cameras' images are linked
    convert(ring, tmp_path / "n1", "nuscenes", images="reencode")
    convert(tmp_path / "n1", tmp_path / "n2", "nuscenes")
    convert(tmp_path / "n1", tmp_path / "n3", "nuscenes", images="reencode")
    jpgs = sorted((tmp_path / "n1").rglob("samples/CAM_FRONT_LEFT/*.jpg"))
    assert jpgs
    rel = jpgs[0].relative_to(tmp_path / "n1")
    assert os.path.samefile(jpgs[0], tmp_path / "n2" / rel)
    assert not os.path.samefile(jpgs[0], tmp_path / "n3" / rel)


def test_convert_command_line_options(ring: Path, tmp_path: Path) -> None:
    from fusionlabel.cli import main

    src = ring / "cameras" / "cam_front_left" / "000000.png"
    base = ["convert", str(ring), "--to", "kitti", "--camera", "cam_front_left", "--no-level"]
    assert main([*base[:2], str(tmp_path / "a"), *base[2:]]) == 0
    assert os.path.samefile(src, tmp_path / "a" / "image_2" / "000000.png")
    assert main([*base[:2], str(tmp_path / "b"), *base[2:], "--reencode-images"]) == 0
    assert not os.path.samefile(src, tmp_path / "b" / "image_2" / "000000.png")
    assert main([*base[:2], str(tmp_path / "c"), *base[2:], "--link", "symlink"]) == 0
    assert (tmp_path / "c" / "image_2" / "000000.png").is_symlink()
