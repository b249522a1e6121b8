"""`fusionlabel pack` writes an HDF5 copy that opens as one more layout with the same facts;
`--debug` shows the traceback that the one-line error hides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusionlabel.cli import main


def test_pack_then_info_agrees(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = tmp_path / "scene"
    assert main(["synth", str(scene), "--frames", "2", "--seed", "4", "--cameras", "1", "--size", "96x54"]) == 0
    capsys.readouterr()
    assert main(["info", str(scene), "--json"]) == 0
    src = json.loads(capsys.readouterr().out)
    out = tmp_path / "scene.h5"
    assert main(["pack", str(scene), str(out)]) == 0
    assert "packed 2 frames" in capsys.readouterr().out
    assert main(["info", str(out), "--json"]) == 0
    packed = json.loads(capsys.readouterr().out)
    assert packed["format"] == "packed"
    for key in ("frames", "lidars", "cameras", "points", "tracks", "boxes"):
        assert packed[key] == src[key], key


def test_debug_flag_raises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "empty"
    bad.mkdir()
    assert main(["info", str(bad)]) == 2
    assert "empty" in capsys.readouterr().err
    with pytest.raises(ValueError):
        main(["--debug", "info", str(bad)])
