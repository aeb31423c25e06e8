"""Honest pictures: a log axis says so, a cost nobody priced is not drawn or written as 0 J, a network
without spikes gets a sentence instead of an empty firing-rate axis."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import make_net
from matplotlib.colors import LogNorm

from synthetic_counts import synthetic_counts
from energy.report import _FIG_FUNCS, build_data, write_reports
from simulator.counting import counts_report
from simulator.engine import run
from simulator.raster import plot_raster

CHIPS = ["loihi", "loihi2", "truenorth", "spinnaker", "cmos45-fp32", "cpu", "gpu"]


def assert_log_axes_say_so(fig):
    for ax in fig.axes:
        for scale, label in ((ax.get_xscale(), ax.get_xlabel()), (ax.get_yscale(), ax.get_ylabel())):
            if scale == "log":
                assert "log" in label, (ax.get_title(), label)
        for image in ax.images + ax.collections:
            if isinstance(image.norm, LogNorm) and image.colorbar is not None:
                cb = image.colorbar.ax
                assert "log" in cb.get_ylabel() + cb.get_xlabel(), ax.get_title()


def texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.fixture(scope="module")
def spiking():
    return build_data(synthetic_counts(), CHIPS, title="t")


@pytest.fixture(scope="module")
def baseline():
    net, _ = make_net(kind="s4d", H=8, N=4)
    result = run(net, np.random.default_rng(0).normal(size=(2, 30, 1)))
    return build_data(counts_report(net, result), CHIPS, title="t")


@pytest.mark.parametrize("which", ["spiking", "baseline"])
def test_every_log_axis_is_labelled_log(which, request):
    data = request.getfixturevalue(which)
    for name, make in _FIG_FUNCS.items():
        fig = make(data)
        assert_log_axes_say_so(fig)
        plt.close(fig)


def test_unpriced_static_power_is_never_shown_as_zero(spiking, tmp_path):
    without = [n for n, r in spiking["chips"].items() if r["static_power_mw"] == 0]
    assert {"truenorth", "cpu"} <= set(without)          # the catalogue has no static figure for these
    for name in without:
        assert "static" in spiking["chips"][name]["unpriced_categories"]
    write_reports(synthetic_counts(), CHIPS, tmp_path, title="t")
    md = (tmp_path / "energy.md").read_text()
    static_row = next(line for line in md.splitlines() if line.startswith("| static (whole chip)"))
    assert " 0 J" not in static_row and static_row.count("not modelled") == len(without)
    category_table = md[md.index("## Energy by category"):md.index("## Firing rate")]
    assert " 0 J " not in category_table
    fig = _FIG_FUNCS["energy_per_chip"](spiking)
    assert texts(fig).count("static not modelled") == len(without)
    plt.close(fig)


def test_a_priced_category_with_no_work_is_a_true_zero():
    """'n/a' means no price; a priced cost with zero events stays 0 J (here: no host work on Loihi 2)."""
    counts = synthetic_counts()
    data = build_data(counts, ["loihi"], title="t")
    r = data["chips"]["loihi"]
    assert "synaptic" not in r["unpriced_categories"] and r["by_category_pj"]["synaptic"] > 0
    for layer in counts["layers"]:
        layer["counts"] = {k: 0 for k in layer["counts"]}
    zero = build_data(counts, ["loihi"], title="t")["chips"]["loihi"]
    assert "synaptic" not in zero["unpriced_categories"] and zero["by_category_pj"]["synaptic"] == 0


def test_a_network_without_spikes_gets_a_sentence_not_an_empty_axis(baseline, spiking):
    fig = _FIG_FUNCS["firing_rate"](baseline)
    assert not any(ax.axison for ax in fig.axes)
    assert "does not spike" in texts(fig)
    plt.close(fig)
    fig = _FIG_FUNCS["firing_rate"](spiking)
    assert all(ax.axison for ax in fig.axes) and "does not spike" not in texts(fig)
    plt.close(fig)


@pytest.mark.parametrize("kind", ["binary_s4d", "s4d"])
@pytest.mark.parametrize("mode", ["dots", "density"])
def test_raster_log_axes_say_so(kind, mode):
    net, _ = make_net(kind=kind, H=8, N=4)
    x = np.random.default_rng(0).normal(size=(1, 40, 1))
    fig = plot_raster(run(net, x, record_pre=True), 0, x=x[0], net=net, mode=mode)
    assert_log_axes_say_so(fig)
    plt.close(fig)
