"""Edit journal benchmark: what one edit costs the labeler for "nothing lost" (formats.journal).

For a 30-frame synthetic document (seed 5: its ground truth, every frame a keyframe) and a big one
(``--tracks`` tracks x ``--frames`` frames, every frame a keyframe), it times, per edit:

- ``push``: ``UndoStack.push`` of one keyframe move with no recovery store (the edit alone);
- ``push+journal``: the same with the window's recovery store: the record of the touched track
  encoded, appended and fsynced (p50 / p95 / max, and the record size);
- ``record``: building and encoding the record alone (no write);
- ``fsync``: a small append and its fsync alone, on the same file system (the floor of any
  durable append);
- the full recovery copy (written at the first edit after a save, and by the autosave timer);
- recovery: reading the copy and replaying ``--edits`` journal records.

Files go to ``--dir`` (default: a temporary folder under the cache folder, where the recovery
copies of unsaved sequences live: a real disk, not tmpfs). Usage:
``python benchmarks/bench_journal.py [--edits 200] [--tracks 300] [--frames 200] [--dir D]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats.journal import Changes, encode_line  # noqa: E402
from formats.project import RecoveryStore, SequenceRef, default_cache_dir, save_project  # noqa: E402
from fusionlabel.box import Box3D  # noqa: E402
from fusionlabel.commands import SetKeyframe, UndoStack  # noqa: E402
from fusionlabel.document import AnnotationDocument  # noqa: E402
from fusionlabel.model import Track  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402


def synthetic_doc() -> AnnotationDocument:
    scene = SynthScene(SynthConfig(frames=30, seed=5, cameras=6))
    return AnnotationDocument.from_tracks(scene.tracks(), frame_count=30)


def big_doc(tracks: int, frames: int) -> AnnotationDocument:
    out = []
    for t in range(tracks):
        kf = {f: Box3D((t * 3.0 + 0.1 * f, (t % 7) * 4.0, 0.8), (4.5, 1.9, 1.6), 0.01 * f) for f in range(frames)}
        out.append(Track(t, "car", {"state": "parked"}, kf))
    return AnnotationDocument.from_tracks(out, frame_count=frames)


def ms(xs: list[float]) -> str:
    xs = sorted(xs)
    return (f"p50 {statistics.median(xs) * 1e3:6.2f} ms  p95 {xs[int(0.95 * (len(xs) - 1))] * 1e3:6.2f} ms  "
            f"max {xs[-1] * 1e3:6.2f} ms")


def edits(doc: AnnotationDocument, stack: UndoStack, n: int) -> list[float]:
    """``n`` keyframe moves, each timed (a different track and frame each time)."""
    ids = doc.track_ids()
    times = []
    for i in range(n):
        tid = ids[(i * 7) % len(ids)]
        t = doc.track(tid)
        f = sorted(t.keyframes)[(i * 3) % len(t.keyframes)]
        b = t.keyframes[f]
        cmd = SetKeyframe(tid, f, b.replace(center=(b.center[0] + 0.05, *b.center[1:])))
        t0 = time.perf_counter()
        stack.push(cmd)
        times.append(time.perf_counter() - t0)
        stack.break_merge()
    return times


def bench(name: str, make, n: int, folder: Path) -> None:  # type: ignore[no-untyped-def]
    seq = folder / "seq"
    seq.mkdir(exist_ok=True)
    doc = make()
    print(f"\n{name}: {len(doc)} tracks, {doc.num_keyframes()} keyframes, {doc.frame_count} frames")
    plain = edits(doc, UndoStack(doc), n)
    print(f"  push (no journal)        {ms(plain)}")
    doc = make()
    stack = UndoStack(doc)
    proj = folder / f"{name}.flproj"
    t0 = time.perf_counter()
    save_project(proj, doc, seq)
    t_save = time.perf_counter() - t0
    stack.mark_clean()
    store = RecoveryStore(doc, SequenceRef(seq), project_path=proj, stack=stack, interval_s=1e9)
    first = edits(doc, stack, 1)[0]  # writes the full recovery copy
    sizes: list[int] = []
    j = store.journal
    assert j is not None
    size0 = j.size
    timed = edits(doc, stack, n)
    sizes.append((j.size - size0) // n)
    print(f"  push + journal (fsync)   {ms(timed)}   record ~{sizes[0] / 1024:.1f} KiB")
    enc = []
    for i, tid in enumerate(doc.track_ids()[:n] * (n // len(doc) + 1)):
        if i == n:
            break
        ch = Changes(tracks={tid})
        t0 = time.perf_counter()
        encode_line({"seq": i, **ch.record(doc)})
        enc.append(time.perf_counter() - t0)
    print(f"  record (build + encode)  {ms(enc)}")
    fd = os.open(folder / "fsync.probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    fs = []
    for _ in range(n):
        os.write(fd, b"x" * 64)
        t0 = time.perf_counter()
        os.fsync(fd)
        fs.append(time.perf_counter() - t0)
    os.close(fd)
    print(f"  fsync alone              {ms(fs)}")
    t0 = time.perf_counter()
    store.write_recovery()
    t_full = time.perf_counter() - t0
    print(f"  full recovery copy       {t_full * 1e3:7.1f} ms  ({store.path.stat().st_size / 1e6:.2f} MB; "
          f"first edit after a save {first * 1e3:.1f} ms; project save {t_save * 1e3:.1f} ms)")
    edits(doc, stack, n)
    store.close()
    reader = RecoveryStore(AnnotationDocument(doc.frame_count), SequenceRef(seq), project_path=proj)
    t0 = time.perf_counter()
    project = reader.load_recovery()
    t_rec = time.perf_counter() - t0
    assert project.document.to_dict() == doc.to_dict(), "recovery differs from the document"
    print(f"  recovery (copy + {project.meta['journal_records']} journal records) {t_rec * 1e3:7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--tracks", type=int, default=300)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    base = args.dir if args.dir is not None else default_cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_journal_", dir=base))
    try:
        print(f"files in {folder}")
        bench("synthetic-30", synthetic_doc, args.edits, folder)
        bench("big", lambda: big_doc(args.tracks, args.frames), args.edits, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
