"""`fusionlabel track`: a synthetic sequence whose labels keep only each track's first keyframe is
followed through the sequence and judged against the ground truth as `fusionlabel agree` does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from formats.datasets import open_dataset
from formats.project import SequenceRef, load_project, save_project
from fusionlabel.cli import generate, main
from fusionlabel.qa import compare

FRAMES = 15


@pytest.fixture(scope="module")
def stripped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[int]]:
    """(the synthetic sequence, a project of it whose tracks keep only their first keyframe, the
    tracks to follow: the moving ones and every track that comes within 4 m of one)."""
    root = tmp_path_factory.mktemp("track")
    seq = generate(root / "seq", FRAMES, 0, 1, size=(64, 36))
    loaded = open_dataset(seq)
    doc = loaded.annotations
    moving = [t for t, tr in doc.tracks.items() if tr.attributes.get("state") == "moving"]
    near = {t for t, tr in doc.tracks.items() for m in moving
            if any(math.dist(b.center[:2], doc.tracks[m].keyframes[f].center[:2]) < 4.0
                   for f, b in tr.keyframes.items() if f in doc.tracks[m].keyframes)}
    for tid in list(doc.tracks):
        tr = doc.tracks[tid]
        k0 = min(tr.keyframes)
        doc.tracks[tid] = tr.copy(keyframes={k0: tr.keyframes[k0]})
    proj = root / "first.flproj"
    save_project(proj, doc, SequenceRef(seq, loaded.info.format, loaded.info.name, {}))
    return seq, proj, sorted(near | set(moving))


def test_track_reproduces_the_ground_truth(stripped: tuple[Path, Path, list[int]], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    seq, proj, tracks = stripped
    out = tmp_path / "tracked.flproj"
    ids = ",".join(map(str, tracks))
    assert main(["track", str(proj), "--out", str(out), "--tracks", ids, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tracks"] == len(tracks) and report["tracked_boxes"] >= 0.9 * len(tracks) * (FRAMES - 1)
    review = report["review"]
    assert review and [r["confidence"] for r in review] == sorted(r["confidence"] for r in review)
    got = load_project(out).document
    assert all(sorted(got.track(t).keyframes) == [0] for t in tracks)  # keyframes untouched
    assert all(len(got.track(t).tracked) >= FRAMES - 3 for t in tracks)
    truth = open_dataset(seq).annotations
    for tid in list(truth.tracks):
        if tid not in tracks:
            del truth.tracks[tid]
            del got.tracks[tid]
    a = compare(truth, got, "bev", 0.1).to_dict()  # as `fusionlabel agree --json --threshold 0.1`
    cars, peds, bikes = a["per_class"]["car"], a["per_class"]["pedestrian"], a["per_class"]["cyclist"]
    # mean BEV IoU over all ground-truth boxes (a missed box counts 0)
    def over_all(c: dict) -> float:
        return c["mean_iou"] * c["tp"] / (c["tp"] + c["fn"])
    print({k: round(over_all(v), 3) for k, v in a["per_class"].items()}, a["heading_flips"])
    assert over_all(cars) >= 0.85
    assert over_all(peds) >= 0.75 and over_all(bikes) >= 0.75
    assert a["heading_flips"]["share"] < 0.02
    assert a["id_switches"] == 0


def test_track_rejects_unknown_tracks(stripped: tuple[Path, Path, list[int]], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, proj, _ = stripped
    assert main(["track", str(proj), "--out", str(tmp_path / "x.flproj"), "--tracks", "999"]) == 2
    assert "no track 999" in capsys.readouterr().err
    assert main(["track", str(proj), "--out", str(tmp_path / "x.flproj"), "--frames", "3:99"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_track_finish_gives_a_new_track_one_heading_and_size(stripped: tuple[Path, Path, list[int]], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    seq, proj, _ = stripped
    truth = open_dataset(seq).annotations
    car = next(t for t, tr in truth.tracks.items() if tr.label == "car" and tr.attributes.get("state") == "moving")
    out = tmp_path / "finished.flproj"
    assert main(["track", str(proj), "--out", str(out), "--tracks", str(car), "--finish", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["finished"]["tracks"] == 1
    got = load_project(out).document.track(car)
    sizes = {b.size for b in [*got.keyframes.values(), *got.tracked.values()]}
    assert len(sizes) == 1  # one size for the whole track
    for f, b in got.tracked.items():
        assert abs(math.remainder(b.yaw - truth.track(car).keyframes[f].yaw, 2 * math.pi)) < math.radians(30)
