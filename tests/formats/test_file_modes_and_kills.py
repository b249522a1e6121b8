"""Files the project writes honour the umask (022: files 0644, folders 0755) and a process killed
while saving a project or writing a synthetic sequence leaves no litter once the next start has
cleaned up (its own temporary names only), and never a half-written destination."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from formats.io import STALE_AGE_S, remove_stale_temps, remove_stale_temps_in
from formats.journal import journal_path_for
from formats.pointlabels import point_labels_dir
from formats.project import load_project, recovery_path_for_project, save_project
from fusionlabel.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


def _modes(root: Path) -> tuple[set[int], set[int]]:
    files, dirs = set(), set()
    for p in [root, *root.rglob("*")]:
        (dirs if p.is_dir() else files).add(stat.S_IMODE(p.stat().st_mode))
    return files, dirs


def _synth(out: Path, seed: int = 1) -> None:
    assert cli_main(["synth", str(out), "--frames", "2", "--cameras", "1", "--size", "64x48",
                     "--seed", str(seed)]) == 0


def test_umask_022_gives_0644_files_and_0755_folders(tmp_path: Path) -> None:
    from formats.convert import convert
    from formats.datasets import open_dataset

    old = os.umask(0o022)
    try:
        _synth(tmp_path / "seq")
        loaded = open_dataset(tmp_path / "seq")
        save_project(tmp_path / "a.flproj", loaded.annotations, tmp_path / "seq")
        convert(tmp_path / "seq", tmp_path / "kitti", "kitti")
        convert(tmp_path / "seq", tmp_path / "ol", "openlabel")
    finally:
        os.umask(old)
    for out in ("seq", "kitti", "ol"):
        files, dirs = _modes(tmp_path / out)
        assert files == {0o644} and dirs == {0o755}, (out, sorted(map(oct, files)), sorted(map(oct, dirs)))
    assert stat.S_IMODE((tmp_path / "a.flproj").stat().st_mode) == 0o644


def _killed_child(code: str) -> int:
    """Run ``code`` in a child Python that kills itself (SIGKILL) where the code says; returns
    the child's return code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    return r.returncode


def _age(folder: Path) -> None:
    """Make everything in ``folder`` older than the stale age (as a later start would find it)."""
    t = time.time() - STALE_AGE_S - 60
    for p in folder.rglob("*"):
        os.utime(p, (t, t), follow_symlinks=False)


def _litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".partial", ".old")))


KILL_AT_RENAME = """
import os, signal
real = os.replace
def replace(src, dst, *a, **k):
    if str(src).endswith(".tmp") or ".partial" in str(src):
        os.kill(os.getpid(), signal.SIGKILL)  # killed with the new file written, before its rename
    return real(src, dst, *a, **k)
os.replace = replace
"""


def test_a_kill_while_saving_loses_nothing_and_leaves_no_litter(tmp_path: Path) -> None:
    from formats.datasets import open_dataset

    _synth(tmp_path / "seq")
    loaded = open_dataset(tmp_path / "seq")
    proj = tmp_path / "a.flproj"
    save_project(proj, loaded.annotations, tmp_path / "seq")
    before = proj.read_bytes()
    rc = _killed_child(KILL_AT_RENAME + f"""
from formats.datasets import open_dataset
from formats.project import load_project, save_project
p = load_project({str(proj)!r})
save_project(p.path, p.document, p.sequence, meta={{"note": "second save"}})
""")
    assert rc == -9
    assert proj.read_bytes() == before  # the saved project is intact
    assert load_project(proj).document.to_dict() == loaded.annotations.to_dict()
    labels = point_labels_dir(proj)  # the sequence's point labels are saved beside the project first
    assert _litter(tmp_path) + _litter(labels)
    assert all(n.startswith(".a.flproj.") for n in _litter(tmp_path))
    # the next start (the window's gui.persist.remove_stale_files) removes what the killed save left
    _age(tmp_path)
    rec = recovery_path_for_project(proj)
    removed = remove_stale_temps(tmp_path, [proj.name, rec.name, journal_path_for(rec).name])
    removed += remove_stale_temps_in(labels)
    assert removed and not _litter(tmp_path) and not _litter(labels)


def test_a_kill_during_synth_leaves_no_half_sequence_and_no_litter(tmp_path: Path) -> None:
    out = tmp_path / "seq"
    rc = _killed_child(KILL_AT_RENAME + f"""
from fusionlabel.cli import main
main(["synth", {str(out)!r}, "--frames", "2", "--cameras", "1", "--size", "64x48"])
""")
    assert rc == -9
    assert not out.exists()  # no half-written sequence at the destination
    assert _litter(tmp_path)  # what the killed run left: its hidden staging folder / temp files
    _age(tmp_path)
    _synth(out)  # the next run into the same place removes it
    assert not _litter(tmp_path)
    assert (out / "fusionlabel.json").is_file()


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_a_replaced_file_keeps_its_mode_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    from formats.io import atomic_write_bytes

    old = os.umask(mask)
    try:
        atomic_write_bytes(tmp_path / "a.json", b"{}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o666 & ~mask
        os.chmod(tmp_path / "a.json", 0o664)
        atomic_write_bytes(tmp_path / "a.json", b"[]")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o664
    finally:
        os.umask(old)
