"""Spike rasters: what is drawn matches what was recorded (simulator/raster.py, docs/raster.md)."""

import matplotlib
import numpy as np
import pytest
from conftest import make_net

import scenarios
from models import checkpoint
from models.errors import InputError
from simulator.cli import build_parser
from simulator.cli.options import Options
from simulator.engine import run
from simulator.raster import MINUS, PLUS, fig_axes, panel_mode, plot_raster, save_raster

matplotlib.use("Agg")


def _offsets(ax):
    """(t, neuron) of every scatter point in a panel, as a sorted list of tuples."""
    pts = [tuple(p) for c in ax.collections if hasattr(c, "get_offsets") for p in np.asarray(c.get_offsets())]
    return sorted((int(t), int(n)) for t, n in pts)


def _recorded(ev, sample, n0=0, n1=10**9):
    m = (ev.sample == sample) & (ev.neuron >= n0) & (ev.neuron < n1)
    return sorted(zip(ev.t[m].tolist(), ev.neuron[m].tolist()))


@pytest.fixture(scope="module")
def binary():
    net, _ = make_net(kind="binary_s4d", H=12, N=6, n_layers=2)
    x = np.random.default_rng(0).normal(size=(3, 200, 1))
    return net, x, run(net, x, trace_neurons=[3, 7])


@pytest.fixture(scope="module")
def gsu():
    net, _ = make_net(kind="gsu", H=16, N=8, n_layers=2)
    x = np.random.default_rng(1).normal(size=(2, 150, 1))
    return net, x, run(net, x, record_pre=True, trace_neurons=[2, 5])


def test_every_recorded_spike_is_one_dot(binary):
    net, x, res = binary
    fig = plot_raster(res, 1, x=x[1], net=net, mode="dots")
    axes = fig_axes(fig)
    for li in range(net.n_layers):
        drawn = _offsets(axes[f"raster {li}"])
        assert drawn == _recorded(res.spikes[li], 1)
        assert len(drawn) > 0


def test_auto_mode_uses_dots_for_short_sequences(binary):
    net, x, res = binary
    axes = fig_axes(plot_raster(res, 0, net=net))
    assert not axes["raster 0"].images
    assert len(_offsets(axes["raster 0"])) == len(_recorded(res.spikes[0], 0))


def test_time_axis_matches_sequence_length(binary):
    net, x, res = binary
    fig = plot_raster(res, 0, x=x[0], net=net)
    axes = fig_axes(fig)
    for name in ("input", "raster 0", "raster 1", "trace"):
        assert axes[name].get_xlim() == pytest.approx((-0.5, 199.5)), name
    assert axes["trace"].get_xlabel() == "time step"


def test_neuron_range_filters_dots_rates_and_axis(binary):
    net, x, res = binary
    fig = plot_raster(res, 2, neurons=(4, 9), net=net, mode="dots")
    axes = fig_axes(fig)
    drawn = _offsets(axes["raster 0"])
    assert drawn == _recorded(res.spikes[0], 2, 4, 9)
    assert {n for _, n in drawn} <= set(range(4, 9))
    assert axes["raster 0"].get_ylim() == pytest.approx((3.5, 8.5))
    bars = axes["rates 0"].patches
    assert len(bars) == 5
    ev = res.spikes[0].of_sample(2)
    for bar, n in zip(bars, range(4, 9)):
        assert bar.get_width() == pytest.approx(np.sum(ev.neuron == n) / 200)
    assert "showing neurons 4-8 of 12" in axes["raster 0"].get_title(loc="left")
    for bad in ((5, 5), (0, 13), (-1, 4)):
        with pytest.raises(InputError):
            plot_raster(res, 0, neurons=bad)


def test_layer_selection_and_mean_rate_title(binary):
    net, x, res = binary
    axes = fig_axes(plot_raster(res, 0, layers=[1], net=net))
    assert "raster 0" not in axes and "raster 1" in axes
    rate = np.sum(res.spikes[1].sample == 0) / (200 * 12)
    assert f"mean rate {rate:.3f}" in axes["raster 1"].get_title(loc="left")
    with pytest.raises(InputError, match="layer 5"):
        plot_raster(res, 0, layers=[5])


def test_title_has_prediction_label_and_name(binary):
    net, x, res = binary
    fig = plot_raster(res, 1, label=7, title="model.h5", net=net, sample_id=41)
    text = fig._suptitle.get_text()
    assert f"predicted {res.predictions[1]}" in text and "label 7" in text
    assert "model.h5" in text and "sample 41" in text
    assert "label" not in plot_raster(res, 1)._suptitle.get_text()


def test_ternary_spikes_get_two_colours_and_a_legend(gsu):
    net, x, res = gsu
    ax = fig_axes(plot_raster(res, 0, net=net, mode="dots"))["raster 0"]
    ev = res.spikes[0].of_sample(0)
    by_colour = {matplotlib.colors.to_hex(c.get_facecolor()[0]): len(c.get_offsets()) for c in ax.collections}
    assert by_colour[PLUS] == np.sum(ev.value == 1) > 0
    assert by_colour[MINUS] == np.sum(ev.value == -1) > 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["+1 spike", "-1 spike"]


def test_gsu_trace_draws_the_per_step_threshold_and_spike_ticks(gsu):
    net, x, res = gsu
    ax = fig_axes(plot_raster(res, 1, net=net, trace_layer=1))["trace"]
    pre = res.pre[1][1]
    delta = net.blocks[1].activation.ratio * np.abs(pre).max(axis=-1)
    curves = [ln.get_ydata() for ln in ax.lines]
    assert any(np.allclose(c, pre[:, 2]) for c in curves)
    assert any(np.allclose(c, delta) for c in curves) and any(np.allclose(c, -delta) for c in curves)
    ticks = sum(len(c.get_segments()) for c in ax.collections)
    ev = res.spikes[1].of_sample(1)
    assert ticks == np.sum(np.isin(ev.neuron, [2, 5])) > 0


def test_binary_trace_has_threshold_zero(binary):
    net, x, res = binary
    ax = fig_axes(plot_raster(res, 0, net=net))["trace"]
    assert any(np.all(np.asarray(ln.get_ydata()) == 0) for ln in ax.lines)
    assert "neuron 3" in [t.get_text() for t in fig_axes(ax.figure)["legend"].get_legend().get_texts()]
    with pytest.raises(InputError, match="not traced"):
        plot_raster(res, 0, trace_neurons=[4])


def test_long_sequences_switch_to_density_and_state_the_bin():
    net, _ = make_net(kind="binary_s4d", H=8, N=4, n_layers=1)
    L = 16384
    x = np.random.default_rng(2).normal(size=(1, L, 1))
    res = run(net, x)
    ax = fig_axes(plot_raster(res, 0, x=x[0], net=net))["raster 0"]
    assert not ax.collections and len(ax.images) == 1
    assert ax.get_xlim() == pytest.approx((-0.5, L - 0.5))
    how, bt, bn = panel_mode(L, 8, 1e3, 200)
    assert (how, bt, bn) == ("density", 20, 1)
    note = ax.get_title(loc="right")
    assert "density" in note and "bin 20 steps" in note
    # The image holds spikes per step in each bin: it sums back to the recorded spike count.
    grid = np.asarray(ax.images[0].get_array())
    sizes = np.full(grid.shape[1], 20)
    sizes[-1] = L - 20 * (grid.shape[1] - 1)
    assert np.sum(grid * sizes) == pytest.approx(len(res.spikes[0]))


def test_panel_mode_decides_from_steps_and_neurons_per_pixel():
    assert panel_mode(784, 48, 1000, 300) == ("dots", 1, 1)
    assert panel_mode(784, 512, 1000, 300) == ("density", 1, 2)
    assert panel_mode(4000, 16, 1000, 300) == ("density", 5, 1)
    assert panel_mode(16384, 16, 1000, 300, mode="dots") == ("dots", 1, 1)
    assert panel_mode(100, 16, 1000, 300, mode="density") == ("density", 1, 1)


def test_real_digit_is_shown_as_an_image_also_when_permuted():
    net, _ = make_net(kind="binary_s4d", H=8, N=4, n_layers=1)
    xs, ys = scenarios.get("smnist").load("test", 1)
    fig = plot_raster(run(net, xs), 0, x=xs[0], label=ys[0], net=net)
    img = np.asarray(fig_axes(fig)["image"].images[0].get_array())
    assert img.shape == (28, 28) and np.array_equal(img, xs[0, :, 0].reshape(28, 28))
    ps = scenarios.get("psmnist")
    xp, _ = ps.load("test", 1)
    fig = plot_raster(run(net, xp), 0, x=xp[0], net=net, permutation=ps.permutation)
    axes = fig_axes(fig)
    assert np.array_equal(np.asarray(axes["image"].images[0].get_array()), img)
    assert "undone" in axes["image"].get_title()
    assert "image" not in {a.get_label() for a in plot_raster(run(net, xs), 0, x=xs[0], image_shape=False).axes
                           if a.images}


def test_s4d_baseline_needs_pre_and_shows_it_as_heatmap():
    net, _ = make_net(kind="s4d", H=8, N=4, n_layers=1)
    x = np.random.default_rng(3).normal(size=(1, 100, 1))
    with pytest.raises(InputError, match="no spikes"):
        plot_raster(run(net, x), 0, net=net)
    res = run(net, x, record_pre=True)
    ax = fig_axes(plot_raster(res, 0, net=net))["raster 0"]
    assert np.allclose(np.asarray(ax.images[0].get_array()), res.pre[0][0].T)
    assert "no spikes" in ax.get_title(loc="left")


def test_many_input_channels_are_a_heatmap():
    net, _ = make_net(kind="binary_s4d", H=8, N=4, n_layers=1, d_input=10)
    x = np.random.default_rng(4).normal(size=(1, 80, 10))
    ax = fig_axes(plot_raster(run(net, x), 0, x=x[0], net=net))["input"]
    assert np.allclose(np.asarray(ax.images[0].get_array()), x[0].T)


def _cli(argv):
    """The raster command itself, without main's error handling (so errors can be asserted by type)."""
    parsed = build_parser().parse_args(["raster", *map(str, argv)])
    return parsed.func(Options(vars(parsed)))


def test_command_writes_the_figure(tmp_path, capsys):
    net, _ = make_net(kind="gsu", H=8, N=4, n_layers=2)
    ckpt = tmp_path / "tiny.h5"
    checkpoint.save(net, ckpt)
    x = np.random.default_rng(5).normal(size=(3, 90, 1))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([1, 2, 3]))
    for out in ("r.png", "r.svg", "r.pdf"):
        assert _cli([str(ckpt), "--input", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                     "--sample", "2", "--trace", "1,3", "--neurons", "0:6", "--out", str(tmp_path / out)]) == 0
        assert (tmp_path / out).stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "sample 2" in printed and "label 3" in printed
    with pytest.raises(InputError, match="--sample 5"):
        _cli([str(ckpt), "--input", str(tmp_path / "x.npy"), "--sample", "5", "--out", str(tmp_path / "a.png")])
    with pytest.raises(InputError, match=".png, .svg or .pdf"):
        _cli([str(ckpt), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "a.jpg")])
    with pytest.raises(InputError, match="START:STOP"):
        _cli([str(ckpt), "--input", str(tmp_path / "x.npy"), "--neurons", "a-b", "--out", str(tmp_path / "a.png")])


def test_save_raster_refuses_unknown_formats(binary, tmp_path):
    net, x, res = binary
    with pytest.raises(InputError):
        save_raster(tmp_path / "r.gif", res, 0)
    assert save_raster(tmp_path / "r.png", res, 0, net=net).stat().st_size > 1000


def test_command_on_psmnist_undoes_the_permutation(tmp_path, monkeypatch):
    import simulator.raster as raster     # the command imports save_raster from here when it draws
    net, _ = make_net(kind="binary_s4d", H=8, N=4, n_layers=1)
    checkpoint.save(net, tmp_path / "tiny.h5")
    seen = {}
    monkeypatch.setattr(raster, "save_raster", lambda path, result, sample, **kw: seen.update(kw, result=result)
                        or path)
    assert _cli([str(tmp_path / "tiny.h5"), "--scenario", "psmnist", "--sample", "2", "--out", "p.png"]) == 0
    xs, ys = scenarios.get("psmnist").load("test", 3)
    assert np.array_equal(seen["x"], xs[2]) and seen["label"] == ys[2] and seen["sample_id"] == 2
    assert np.array_equal(seen["permutation"], scenarios.get("psmnist").permutation)
    assert seen["result"].samples == 1 and seen["title"] == "tiny.h5"
