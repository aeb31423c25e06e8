"""Reports render from a realistic fixture; the figures show exactly the numbers in energy.json."""

import json
import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from synthetic_counts import synthetic_counts
from energy.report import (fig_energy_per_chip, fig_energy_per_layer, fig_firing_rate,
                           fig_snn_vs_ann, write_reports)

CHIPS = ["loihi", "loihi2", "truenorth", "spinnaker2", "cmos45-fp32", "cpu"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("energy")
    counts = synthetic_counts()  # 3-layer H=48 Binary S4D, 784 steps, trained firing rates (docs/semantics.md)
    data = write_reports(counts, CHIPS, out, title="Binary S4D on sMNIST (synthetic counts)")
    loaded = json.loads((out / "energy.json").read_text(encoding="utf-8"))
    return out, counts, data, loaded


def test_files_written(report):
    out, _, data, loaded = report
    for name in ("energy.json", "energy.md", "energy.html", "energy_per_chip.png",
                 "energy_per_layer.png", "firing_rate.png", "snn_vs_ann.png"):
        assert (out / name).stat().st_size > 500, name
    assert set(loaded["chips"]) == set(CHIPS)
    assert loaded["title"] == "Binary S4D on sMNIST (synthetic counts)"
    assert loaded["chips"]["loihi"]["energy_pj"] == pytest.approx(data["chips"]["loihi"]["energy_pj"])


def test_json_is_self_consistent(report):
    _, counts, _, d = report
    for name, r in d["chips"].items():
        assert sum(r["by_category_pj"].values()) == pytest.approx(r["energy_pj"], rel=1e-9), name
        assert (sum(v["energy_pj"] for v in r["by_layer"].values()) + r["static_energy_pj"]
                == pytest.approx(r["energy_pj"], rel=1e-9)), name
        assert r["energy_per_timestep_pj"] == pytest.approx(r["energy_pj"] / counts["timesteps"])
        for base, e in d["ann_energy_pj"].items():
            assert d["snn_over_ann"][name][base] == pytest.approx(r["energy_pj"] / e)
    assert set(d["ann_energy_pj"]) == {"cmos45-fp32", "cpu"}
    assert d["firing_rates"]["layer0"] == pytest.approx(0.59, abs=1e-4)
    assert d["firing_rates"]["encoder"] is None
    kinds = {s["kind"] for s in d["sources"]}
    assert kinds <= {"measured", "simulated", "derived", "assumed"}
    assert any(s["chip"] == "loihi2" and s["kind"] == "assumed" for s in d["sources"])


def test_energy_per_chip_figure_matches_json(report):
    _, _, data, d = report
    fig = fig_energy_per_chip(data)
    ax_total, ax_share = fig.axes[:2]
    widths = [p.get_width() for p in ax_total.patches]
    expected = [d["chips"][c]["energy_pj"] * 1e-12 for c in CHIPS]
    assert widths == pytest.approx(expected, rel=1e-12)
    labels = [t.get_text() for t in ax_total.get_yticklabels()]
    assert labels == [d["chips"][c]["chip"]["display_name"] for c in CHIPS]
    # stacked shares: each chip's segments add to 100 % and equal its category shares
    n = len(CHIPS)
    segs = [p.get_width() for p in ax_share.patches]
    assert len(segs) % n == 0
    per_chip = np.array(segs).reshape(-1, n).sum(axis=0)
    assert per_chip == pytest.approx([100.0] * n)
    legend = [t.get_text() for t in ax_share.get_legend().get_texts()]
    for k, cat in enumerate(legend):
        for i, c in enumerate(CHIPS):
            r = d["chips"][c]
            assert segs[k * n + i] == pytest.approx(100 * r["by_category_pj"][cat] / r["energy_pj"])
    plt.close(fig)


def test_energy_per_layer_figure_matches_json(report):
    _, _, data, d = report
    fig = fig_energy_per_layer(data)
    ax = fig.axes[0]
    img = np.asarray(ax.images[0].get_array())
    expected = np.array([[d["chips"][c]["by_layer"][name]["energy_pj"] for c in CHIPS]
                         for name in d["layers"]])
    assert img.shape == expected.shape
    assert img == pytest.approx(expected, rel=1e-12)
    assert [t.get_text() for t in ax.get_yticklabels()] == d["layers"]
    plt.close(fig)


def test_firing_rate_figure_matches_json(report):
    _, _, data, d = report
    fig = fig_firing_rate(data)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    spiking = [k for k, v in d["firing_rates"].items() if v is not None]
    assert heights == pytest.approx([d["firing_rates"][k] for k in spiking], rel=1e-12)
    assert [t.get_text() for t in ax.get_xticklabels()] == spiking
    plt.close(fig)


def test_snn_vs_ann_figure_matches_json(report):
    _, _, data, d = report
    fig = fig_snn_vs_ann(data)
    ax = fig.axes[0]
    widths = [p.get_width() for p in ax.patches]
    expected = []
    for c in CHIPS:
        expected.append(d["chips"][c]["energy_pj"] * 1e-12)
        if d["chips"][c]["ann"]:
            expected.append(d["ann_energy_pj"][c] * 1e-12)
    assert widths == pytest.approx(expected, rel=1e-12)
    plt.close(fig)


def test_html_is_self_contained(report):
    out, _, _, d = report
    page = (out / "energy.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5
    assert not re.search(r"src=['\"](?!data:)", page)          # nothing fetched from elsewhere
    assert "Davies et al. 2018" in page and "assumed" in page
    assert "cannot do natively" in page
    for c in CHIPS:
        assert d["chips"][c]["chip"]["display_name"] in page


def test_markdown_links_existing_pngs_and_uses_si_units(report):
    out, _, _, d = report
    md = (out / "energy.md").read_text(encoding="utf-8")
    for png in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / png).exists(), png
    assert re.search(r"\d (µJ|mJ|nJ|pJ)", md)
    assert "## Sources" in md and "## Model assumptions" in md


def test_json_has_no_nan(report):
    out, _, _, _ = report
    text = (out / "energy.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text


def test_all_chips_by_default(tmp_path):
    counts = synthetic_counts(kind="gsu", L=16, H=8, N=4, n_layers=2, n_samples=2)
    data = write_reports(counts, None, tmp_path, title="GSU tiny")
    assert len(data["chips"]) == 9
    assert all(math.isfinite(r["energy_pj"]) for r in data["chips"].values())
