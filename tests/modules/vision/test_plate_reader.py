"""Plate reading with rapidocr's bundled models on synthetic crops (no network, no real plates)."""

from __future__ import annotations

import numpy as np
import pytest

from toancanh.modules.vision.plate_reader import PlateReader, merge_stacked, split_lines
from toancanh.modules.vision.plate_synth import CONDITIONS, Conditions, plate_fonts, plate_set, render_plate
from toancanh.modules.vision.plates import PROVINCE_CODES, parse_plate


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(threads=1)


def test_fonts_are_found() -> None:
    assert plate_fonts()


def test_one_or_two_lines_is_decided_from_the_crop() -> None:
    for s in plate_set(40, conditions=tuple(CONDITIONS), seed=3):
        assert len(split_lines(s.image)) == (2 if s.two_lines else 1), (s.plate.text, s.conditions)


def test_clean_crops_read_exactly(reader: PlateReader) -> None:
    samples = list(plate_set(50, conditions=("clean",), seed=11))
    exact = sum(1 for s in samples if (r := reader.read(s.image)).plate and r.plate.key == s.plate.key)
    assert exact / len(samples) >= 0.98


def test_hard_conditions_mostly_read(reader: PlateReader) -> None:
    samples = list(plate_set(8, conditions=("blur", "tilt", "noise", "night"), seed=5))
    exact = sum(1 for s in samples if (r := reader.read(s.image)).plate and r.plate.key == s.plate.key)
    assert exact / len(samples) >= 0.85


def test_two_line_motorbike_plate_read_line_by_line(reader: PlateReader) -> None:
    plate = parse_plate("29-MĐ1 123.45")
    r = reader.read(render_plate(plate, conditions=Conditions(noise=6)))
    assert r.lines == 2
    assert r.plate is not None and r.plate.text == "29-MĐ1 123.45"
    assert 0.5 < r.confidence <= 1.0


def test_every_province_code_is_in_the_set() -> None:
    codes = {s.plate.province_code for s in plate_set(len(PROVINCE_CODES), seed=1)}
    assert codes == set(PROVINCE_CODES)


def test_a_blank_crop_reads_as_nothing(reader: PlateReader) -> None:
    r = reader.read(np.full((40, 180, 3), 200, np.uint8))
    assert r.plate is None and not r.valid


def test_find_plates_in_a_region_of_the_frame(reader: PlateReader) -> None:
    frame = np.full((360, 640, 3), 90, np.uint8)
    car = render_plate(parse_plate("30LD-123.45"), height=28)
    bike = render_plate(parse_plate("29-B1 678.90"), height=22)
    frame[250 : 250 + car.shape[0], 60 : 60 + car.shape[1]] = car
    frame[240 : 240 + bike.shape[0], 420 : 420 + bike.shape[1]] = bike
    boxes = reader.find(frame, region=(0.0, 0.5, 1.0, 1.0))
    texts = set()
    for x0, y0, x1, y1 in boxes:
        crop = frame[max(0, int(y0) - 4) : int(y1) + 4, max(0, int(x0) - 4) : int(x1) + 4]
        r = reader.read(crop)
        if r.plate:
            texts.add(r.plate.text)
    assert {"30LD-123.45", "29-B1 678.90"} <= texts
    assert reader.find(frame, region=(0.0, 0.0, 1.0, 0.4)) == []


def test_stacked_text_boxes_merge_into_one_plate() -> None:
    top, bottom, other = (10.0, 10.0, 60.0, 30.0), (8.0, 34.0, 62.0, 56.0), (200.0, 10.0, 300.0, 30.0)
    assert merge_stacked([bottom, other, top]) == [(8.0, 10.0, 62.0, 56.0), (200.0, 10.0, 300.0, 30.0)]
