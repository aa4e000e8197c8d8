"""Plate reading accuracy and speed on a synthetic plate set generated here (every province code, the fonts on
this machine, one and two lines, clean, blur, tilt, noise, night).

Measured:

- ``exact`` per condition: the share of crops whose normalized plate equals the truth (the goal: at least 98%
  on clean crops); ``char`` per condition: 1 - edit distance / length, over the compact plate keys.
- ``reads_per_s_per_core``: plate crops read (line split, recognizer, normalization) per second of CPU on one
  thread; the baseline in the same run is ``decode_fps``, PyAV decoding a 1280x720 mpeg4 clip on one
  thread (what every camera costs before any analysis), and ``ratio_to_decode`` compares the two: a plate
  read costs ``1 / ratio`` decoded frames.

``--n N`` sets the plates per condition (default 120; the smoke run uses 20).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import main, print_table, sig
from bench.vision_pipeline import decode_only, make_clip
from toancanh.modules.vision.plate_reader import PlateReader
from toancanh.modules.vision.plate_synth import CONDITIONS, plate_set
from toancanh.modules.vision.plates import clean, plate_distance

NAME = "plates"


def _char_accuracy(got: str, truth: str) -> float:
    return max(0.0, 1.0 - plate_distance(got, truth) / len(truth)) if got else 0.0


def run(n: int = 120) -> dict[str, Any]:
    import cv2

    cv2.setNumThreads(1)
    reader = PlateReader(threads=1)
    samples = list(plate_set(n, conditions=tuple(CONDITIONS)))
    reader.read(samples[0].image)  # the models load once, untimed
    stats: dict[str, list[float]] = {c: [0, 0.0, 0.0] for c in CONDITIONS}
    start = time.process_time()
    for s in samples:
        r = reader.read(s.image)
        got = r.plate.key if r.plate else clean(r.text)
        st = stats[s.conditions]
        st[0] += 1
        st[1] += got == s.plate.key
        # a look-alike mistake counts in full here: the figure is about reading, not about the distance
        st[2] += _char_accuracy(got, s.plate.key) if got != s.plate.key else 1.0
    cpu = time.process_time() - start
    reads = len(samples) / cpu
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "720p.mp4", (1280, 720), 4.0)
        dec = max(k / t for k, t in (decode_only(clip) for _ in range(3)))
    figures: dict[str, Any] = {"plates_per_condition": n}
    rows: list[tuple[str, str]] = []
    for c, (count, exact, char) in stats.items():
        figures[c] = {"exact": sig(exact / count), "char": sig(char / count)}
        rows.append((f"{c}: exact plate / characters", f"{exact / count:.1%} / {char / count:.1%}"))
    figures |= {
        "reads_per_s_per_core": sig(reads),
        "decode_fps": sig(dec),
        "ratio_to_decode": sig(reads / dec),
    }
    rows += [
        ("plate reads/s per core", f"{reads:,.1f}"),
        ("baseline: 1280x720 decode frames/s per core", f"{dec:,.0f}"),
        ("ratio to decode", f"{reads / dec:.3f}"),
    ]
    print_table("Plate reading (rapidocr PP-OCR, CPU, one thread)", rows)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=120)
    args = parser.parse_args()
    main(NAME, lambda: run(args.n))
