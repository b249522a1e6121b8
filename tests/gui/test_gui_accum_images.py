"""Accumulated sweeps without their camera images: a frame read only to be accumulated is cached
as a part (points, no images, no whole-frame drawing arrays), accumulated frames beyond the
prefetch's neighbours release their images, the prefetch reads the images of a neighbour cached
without them, and the camera panels show the current frame's images at every step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import accumulating_session, accumulating_window, cache_sizes_add_up, synth_scene

N = 12


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=N, cameras=1, size=(160, 90))


def test_accumulated_frames_hold_no_images_and_steps_complete_the_neighbours(scene: Path) -> None:
    from gui.model.cloud import shown_cloud
    from gui.session import load_frame, load_session

    s = load_session(scene)
    try:
        frames = s.frames
        assert frames.has_parts
        s.frame(5)  # shown: its neighbours 6, 7 and 4 are prefetched whole
        cloud = shown_cloud(frames, 5, N, accumulate=3)  # sweeps 2..8
        assert len(cloud.parts) == 7
        frames.wait_idle()
        for f in (2, 3, 8):  # loaded for the accumulation only, or released: points, no images
            fd = frames.get_part(f)
            assert not fd.images_read and fd.images == {} and not frames.is_whole(f)
            assert "z_order" not in fd.memo and "bev_xy" not in fd.memo  # nor the whole drawing's arrays
        for f in (4, 5, 6, 7):  # the frame shown and the neighbours a step goes to
            assert frames.is_whole(f) and len(frames.get_part(f).images) == 1
        cache_sizes_add_up(frames)
        misses = frames.stats.misses
        for f in (6, 7, 8, 9):  # steps forward, the accumulation following
            fd = s.frame(f)
            assert fd.images_read and fd.index == f
            ref = load_frame(s.loaded, f)
            assert set(fd.images) == set(ref.images)
            assert all(np.array_equal(fd.images[k], ref.images[k]) for k in ref.images)
            shown_cloud(frames, f, N, accumulate=3)
            frames.wait_idle()
            assert frames.is_whole(f + 2)  # completed (or read) ahead by the prefetch
            assert not frames.is_whole(f - 3) and frames.get_part(f - 3).images == {}
            cache_sizes_add_up(frames)
        # every step was served from the cache: the neighbours read for the accumulation without
        # images (8..11) were completed ahead by the prefetch, none in the drawing thread
        assert frames.stats.completed_ahead >= 3
        assert frames.stats.completions == frames.stats.completed_ahead
        assert frames.stats.misses - misses == 3  # the sweeps entering the accumulation: 9, 10, 11
    finally:
        s.close()


def test_jumping_onto_a_frame_read_without_images_reads_them(scene: Path) -> None:
    with accumulating_session(scene, N) as s:
        assert not s.frames.is_whole(1)
        fd = s.frame(1)  # a jump (timeline click): completed here
        assert fd.images_read and len(fd.images) == 1 and s.frames.stats.completions >= 1
        assert s.frames.is_whole(1)
        cache_sizes_add_up(s.frames)


pytest.importorskip("PyQt6.QtWidgets")


def test_window_steps_through_an_accumulation_with_the_current_frames_images(qtbot, scene: Path) -> None:  # type: ignore[no-untyped-def]
    from gui.session import load_frame

    win, prompter = accumulating_window(qtbot, scene)
    frames = win.session.frames
    for f in (5, 6, 7, 8):
        frames.wait_idle()  # the user looked at the frame a moment: the prefetch is done
        completions = frames.stats.completions - frames.stats.completed_ahead
        win.set_frame(f)
        qtbot.wait(5)
        assert frames.stats.completions - frames.stats.completed_ahead == completions  # no read in the GUI thread
        ref = load_frame(win.session.loaded, f)
        assert win.drawing.fd.index == f and win.camera_grid is not None
        for name, panel in win.camera_grid.panels.items():
            shown = panel._image  # noqa: SLF001 - the picture the panel paints
            assert shown is not None and np.array_equal(shown, ref.images[name])
        held = [g for g in range(f - 3, f + 4) if g in frames and frames.get_part(g).images]
        assert set(held) <= {f - 1, f, f + 1, f + 2}  # of the accumulated: the frame, its neighbours
        assert not frames.get_part(f - 3).images  # accumulated only: no images
    grab = win.camera_grid.panels[next(iter(win.camera_grid.panels))].grab().toImage()
    assert not grab.isNull()
    assert prompter.errors == []
