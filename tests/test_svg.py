"""The SVG charts: well-formed XML whatever the labels hold, one mark per value, marks inside the plot."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from clawloop_synth import svg

HOSTILE = "<script>alert('x')</script> & \"quoted\""


def _tags(text: str, tag: str) -> list[ET.Element]:
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    return [e for e in root.iter() if e.tag.endswith(tag)]


def test_bars_escape_labels_and_scale_to_the_largest_value() -> None:
    text = svg.bars([HOSTILE, "b", "c"], [4, 2, 0], "t <1>", "count", [False, True, False])
    assert "<script>" not in text
    titles = [e.text for e in _tags(text, "title")]
    assert titles == [f"{HOSTILE[:60]}: 4", "b: 2", "c: 0"]
    bars = [e for e in _tags(text, "rect") if e.find("{http://www.w3.org/2000/svg}title") is not None]
    widths = [float(e.get("width", "0")) for e in bars]
    assert widths[0] > widths[1] > widths[2] == 0.0 and abs(widths[0] / widths[1] - 2.0) < 1e-3  # to the 0.1 px written
    assert [e.get("fill") for e in bars] == [svg.BLUE, svg.RED, svg.BLUE]


def test_histogram_counts_every_value_once() -> None:
    values = np.random.default_rng(0).normal(size=500)
    text = svg.histogram(values.tolist() + [float("nan")], "h", "x", bins=10)
    filled = [e for e in _tags(text, "rect") if e.get("fill") == svg.BLUE]
    heights = np.array([float(e.get("height", "0")) for e in filled])
    counts, _ = np.histogram(values, bins=10)
    nonzero = counts[counts > 0]
    assert len(filled) == len(nonzero)
    assert np.allclose(heights / heights.max(), nonzero / nonzero.max(), atol=1e-2)


def test_points_and_lines_stay_inside_the_frame() -> None:
    x, y = [0.0, 1.0, 5.0, -3.0], [2.0, -1.0, 0.5, 9.0]
    for text in (svg.scatter(x, y, "s", "x", "y"), svg.lines({"a": (x, y), HOSTILE: (y, x)}, "l", "x", "y")):
        root = ET.fromstring(text)
        width, height = float(root.get("width", "0")), float(root.get("height", "0"))
        dots = _tags(text, "circle")
        assert len(dots) >= len(x)
        for dot in dots:
            assert 0 < float(dot.get("cx", "-1")) < width and 0 < float(dot.get("cy", "-1")) < height


def test_density_shades_cells_by_count_and_draws_every_point() -> None:
    rng = np.random.default_rng(1)
    background = np.vstack([rng.normal(0, 0.1, (400, 2)), rng.normal(3, 0.1, (4, 2))])
    points = rng.normal(1.5, 1.0, (25, 2))
    text = svg.density(background, points, "d", "PC 1", "PC 2", background_label="real", points_label="tasks")
    cells = [e for e in _tags(text, "rect") if e.get("fill-opacity") and e.get("width") != "10"]
    shades = sorted(float(e.get("fill-opacity", "0")) for e in cells)
    assert len(cells) >= 2 and shades[-1] > shades[0]  # the dense cluster's cells are darker
    assert len(_tags(text, "circle")) == 25 + 1  # the points and the legend's
