"""Accumulated sweeps held compact: a sweep read (or kept) only to be accumulated holds its points
as int16 offsets at 1 cm and float16 intensities (``FrameData.compact``, ``fusionlabel.packed``)
and no float32 copy; the views draw the dequantized points of their budget; the frame shown,
also after a step onto a compact sweep, has the file's float32 points; the cache counts the
compact arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import accumulating_session, accumulating_window, cache_sizes_add_up, synth_scene

N = 12


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=N, cameras=1, size=(160, 90))


def _float_points_held(fd) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    arrays = [v for v in vars(fd).values() if isinstance(v, np.ndarray)]
    arrays += [v for v in fd.memo.values() if isinstance(v, np.ndarray)]
    return [a for a in arrays if a.dtype == np.float32 and a.ndim == 2 and len(a) == fd.n]


def _tol(pts: np.ndarray, scale: float) -> float:
    return scale / 2 + 4 * float(np.spacing(np.float32(np.abs(pts).max() + 1.0)))


def test_accumulated_parts_are_compact_and_the_frame_shown_full(scene: Path) -> None:
    from gui.model.cloud import shown_cloud
    from gui.session import load_frame, load_session

    s = load_session(scene)
    try:
        frames = s.frames
        fd = s.frame(5)
        cloud = shown_cloud(frames, 5, N, accumulate=3)  # sweeps 2..8
        frames.wait_idle()
        ref = load_frame(s.loaded, 5)
        assert fd.pts_full is not None and fd.pts_world.dtype == np.float32
        assert np.array_equal(fd.pts_world, ref.pts_world) and np.array_equal(fd.intensity, ref.intensity)
        for f in (2, 3, 8):  # accumulated only: compact, no float32 (N, 3) copy
            part = frames.get_part(f)
            assert part.is_compact and part.pts_full is None and part.intensity_full is None
            assert part.packed.codes.dtype == np.int16 and part.packed.intensity.dtype == np.float16
            assert _float_points_held(part) == [] and "pts_world_timed" not in part.memo
            assert part.nbytes == part.packed.nbytes + part.lod.nbytes  # what the cache counts
            full = load_frame(s.loaded, f)
            got = part.pts_world  # a tool's read: float32 world points, dequantized
            assert got.dtype == np.float32 and got.shape == full.pts_world.shape
            assert float(np.abs(got - full.pts_world).max()) <= _tol(full.pts_world, part.packed.scale)
            assert part.intensity.dtype == np.float32
            assert float(np.abs(part.intensity - full.intensity).max()) <= 2.0**-10
        for p in cloud.parts[1:]:  # the cloud holds the packed form of those sweeps, not a float copy
            assert (p.pts_full is None) == (p.packed is not None)
        assert sum(p.packed is not None for p in cloud.parts) >= 3
        assert cloud.parts[0].pts_full is fd.pts_full  # the current frame: its own float32 points
        cache_sizes_add_up(frames)
    finally:
        s.close()


def test_drawn_subset_is_the_dequantized_points(scene: Path) -> None:
    from fusionlabel.lod import split_budget
    from gui.model.cloud import shown_cloud
    from gui.session import load_frame, load_session

    s = load_session(scene)
    try:
        s.frame(5)
        cloud = shown_cloud(s.frames, 5, N, accumulate=3)
        for budget in (1000, cloud.n // 3, None):
            pts, inten = cloud.take(budget)
            assert pts.dtype == np.float32 and inten.dtype == np.float32 and len(pts) == cloud.count(budget)
            shares = split_budget([p.n for p in cloud.parts], budget)
            want, want_i = [], []
            for p, k in zip(cloud.parts, shares, strict=True):
                m = p.lod.count(k)
                idx = np.arange(p.n) if m >= p.n else p.lod.order[:m]
                if p.packed is not None:
                    want.append(p.packed.points(idx))
                    want_i.append(p.packed.intensities(idx))
                else:
                    want.append(p.pts_full[idx])
                    want_i.append(p.intensity_full[idx])
            assert np.array_equal(pts, np.concatenate(want)) and np.array_equal(inten, np.concatenate(want_i))
            # and within half a centimetre of the file's points
            for p, k in zip(cloud.parts, shares, strict=True):
                if p.packed is None:
                    continue
                m = p.lod.count(k)
                idx = np.arange(p.n) if m >= p.n else p.lod.order[:m]
                f = next(i for i in range(N) if s.frames.get_part(i).packed is p.packed)
                exact = load_frame(s.loaded, f).pts_world[idx]
                assert float(np.abs(p.packed.points(idx) - exact).max()) <= _tol(exact, p.packed.scale)
    finally:
        s.close()


def test_stepping_onto_a_compact_sweep_gives_its_full_points(scene: Path) -> None:
    from gui.model.cloud import shown_cloud
    from gui.session import load_frame

    with accumulating_session(scene, N) as s:
        for f in (8, 1):  # a step's neighbour completed ahead (8 was compact), a jump onto a compact one
            if f == 1:
                assert s.frames.get_part(1).is_compact
            fd = s.frame(f)
            ref = load_frame(s.loaded, f)
            assert fd.pts_full is not None and not fd.is_compact and fd.images_read
            assert np.array_equal(fd.pts_world, ref.pts_world) and np.array_equal(fd.intensity, ref.intensity)
            assert fd.lod is None or fd.lod.n == fd.n
            assert s.frames.is_whole(f)
            shown_cloud(s.frames, f, N, accumulate=4)
            s.frames.wait_idle()
            cache_sizes_add_up(s.frames)
        # a frame that was shown, once out of the neighbours, is held compact too
        assert s.frames.get_part(5).is_compact and s.frames.get_part(5).images == {}


pytest.importorskip("PyQt6.QtWidgets")


def test_window_frame_shown_has_full_points_while_the_accumulation_is_compact(qtbot, scene: Path) -> None:  # type: ignore[no-untyped-def]
    from gui.session import load_frame

    win, prompter = accumulating_window(qtbot, scene)
    frames = win.session.frames
    for f in (5, 6, 1):  # steps, then a jump back onto a compact sweep
        frames.wait_idle()
        win.set_frame(f)
        qtbot.wait(5)
        fd = win.drawing.fd
        ref = load_frame(win.session.loaded, f)
        assert fd.index == f and fd.pts_full is not None
        assert np.array_equal(fd.pts_world, ref.pts_world)
        cloud = win.view3d._cloud  # noqa: SLF001 - what the 3D view draws
        assert cloud is not None and cloud.parts[0].pts_full is fd.pts_full
        compact = [g for g in range(f - 3, f + 4) if 0 <= g < N and g in frames and frames.get_part(g).is_compact]
        assert compact and f not in compact  # the accumulation compact, the frame shown not
    assert prompter.errors == []
