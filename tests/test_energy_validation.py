"""The validation command runs from a clean checkout and writes its page, data and figure (reduced size);
the Loihi 2 file is the calibration it claims; predictions move with the quantities they depend on."""
import json

import pytest

from energy import estimate, load_chip
from energy.baselines import flops_per_token, regimes
from energy.validation import WORKLOADS, every_step, rows


@pytest.fixture(scope="module")
def counts():
    from simulator.cli.energy_workloads import all_counts
    return all_counts(WORKLOADS, reduced=True)


def test_validate_command_writes_page_json_and_figure(tmp_path):
    from simulator.cli import main
    assert main(["energy", "--validate", "--reduced", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "energy-validation.json").read_text())
    keys = {"workload", "quantity", "unit", "measured", "predicted_low", "predicted", "predicted_high", "source"}
    assert data["rows"] and all(keys <= set(r) for r in data["rows"])
    assert all(r["predicted_low"] <= r["predicted"] <= r["predicted_high"] for r in data["rows"])
    assert {r["calibration"] for r in data["rows"]} == {True, False}      # calibration rows are named
    page = (tmp_path / "energy-validation.md").read_text()
    assert "Reduced run" in page and "images/energy_validation.png" in page
    assert (tmp_path / "images" / "energy_validation.png").stat().st_size > 10_000


def test_loihi2_is_calibrated_on_the_torch_row(counts):
    """The shipped Loihi 2 factors reproduce the calibration run's 31.0 us and 0.651 uJ dynamic per step
    (full size: docs/energy-validation.json; the reduced run has other activity, so only within 10 %)."""
    cal = [r for r in rows(counts) if r["calibration"]]
    assert {r["quantity"] for r in cal} == {"time per step", "energy per step, total", "energy per step, dynamic"}
    for r in cal:
        assert r["predicted"] == pytest.approx(r["measured"], rel=0.1), r


def test_every_step_sends_every_value(counts):
    c = counts["l2_s4d"]
    d = every_step(c)
    layer = next(x for x in d["layers"] if x["modes"])
    steps = c["timesteps"] * c["n_samples"]
    assert layer["counts"]["messages"] == 2 * 128 * steps
    assert layer["counts"]["graded_macs"] == 128 * 128 * steps + 512 * steps      # mixing + b*u per mode
    assert estimate(d, "loihi2", 6)["dynamic_energy_pj"] > estimate(c, "loihi2", 6)["dynamic_energy_pj"]


def test_streaming_is_launch_bound_and_batched_is_flop_bound(counts):
    c = counts["meyer"]
    f = flops_per_token(c)
    assert f["operators"] == 4 * 8 + 2
    # by hand, 16 steps: dense MACs per token = encoder 128 + 4 x 128 x 128 mixing + decoder 10 x 128 / 16 = 65744;
    # recurrent: + 4 blocks x (512 real modes x 4 + 128 channels x 4 (D skip, activation));
    # FFT form: + 4 x (512 x 2 (summed kernel) + 128 x 4 + 128 channels x 3 FFTs x 5 x log2 32)
    assert f["recurrent"] == pytest.approx(2 * 65744 + 4 * (512 * 4 + 128 * 4))
    assert f["convolution"] == pytest.approx(2 * 65744 + 4 * (512 * 2 + 128 * 4 + 128 * 3 * 5 * 5))
    r = regimes(c, ["jetson-orin-nano"])["jetson-orin-nano"]
    s = r["streaming"]["central"]
    # 34 launches x 20 us = 680 us, the FLOPs add well under 1 %
    assert s["latency_s"] == pytest.approx(34 * 20e-6, rel=0.01)
    assert s["energy_pj"] == pytest.approx(7.0 * s["latency_s"] * 1e12)
    b = r["batched"]["central"]
    assert b["time_per_token_s"] == pytest.approx(176032 / (1.28e12 * 0.3))
    assert r["streaming"]["low"]["latency_s"] < s["latency_s"] < r["streaming"]["high"]["latency_s"]


def test_mapping_option_is_checked_before_simulating():
    from cli_helpers import assert_one_line_error, call
    assert_one_line_error(call("energy", "--mapping", "tight", "--samples", "1"), "--mapping", "tight")
    assert_one_line_error(call("energy", "--mapping", "0", "--samples", "1"), "--mapping")


def test_too_few_cores_is_one_line(tmp_path):
    from cli_helpers import assert_one_line_error, call
    assert_one_line_error(call("energy", "--mapping", "2", "--samples", "1", "--chips", "loihi2",
                               "--out", tmp_path / "e"), "needs at least 6 cores", "loihi2")


def test_decoder_every_step_prices_the_decoder_each_step(counts):
    from energy.validation import decoder_every_step
    c = counts["pierro"]
    d = decoder_every_step(c)
    before = next(x for x in c["layers"] if x["name"] == "decoder")["counts"]
    after = next(x for x in d["layers"] if x["name"] == "decoder")["counts"]
    L, n = c["timesteps"], c["n_samples"]
    assert after["messages"] == 96 * L * n                       # every input, every step (upper bound)
    assert after["graded_macs"] == before["graded_macs"] * L     # its non-zero weights, every step
    assert before["graded_macs"] < 0.2 * 96 * 257 * n            # the decoder is pruned (~90 % zeros)
    assert all(x["counts"] == y["counts"] for x, y in zip(c["layers"][:-1], d["layers"][:-1]))


def test_pierro_workload_is_sparserrnns_size(counts):
    """SparseRNNs' README pipeline at --dim_scale=0.5: recipe d_model 192 and ssm_size_base 256 with blocks
    16 -> 8 give d_model 96 and ssm_size_base 128, i.e. 64 complex modes per layer (conj_sym halves it),
    shared by all 96 channels; each block ends in the half1 gate x * sigmoid(W x) and a residual add."""
    layers = [x for x in counts["pierro"]["layers"] if x["modes"]]
    assert [x["modes"] for x in layers] == [64] * 3
    assert [x["neurons"] for x in layers] == [96] * 3
    assert all(x["needs"]["modes"] == "shared" and x["needs"]["state"] == "complex" for x in layers)
    steps = counts["pierro"]["timesteps"] * counts["pierro"]["n_samples"]
    for x in layers:   # one sigmoid, one product and one residual add per channel and step
        assert x["counts"]["sigmoid"] == x["counts"]["multiply"] == x["counts"]["residual_adds"] == 96 * steps
    enc = counts["pierro"]["layers"][0]["counts"]
    # the encoder is pruned too: its graded MACs per changed input are about 10 % of its 96 targets
    assert enc["graded_macs"] < 0.2 * 96 * enc["messages"]


def test_streaming_operators_follow_the_block_stages(counts):
    """Per block: the benchmark loop's 8 operators, plus one launch each for the gate's sigmoid, the product and
    the residual add (Pierro's S5 blocks); Meyer's blocks (ReLU, linear mixing, no residual) have none."""
    assert flops_per_token(counts["pierro"])["operators"] == 3 * (8 + 3) + 2
    assert flops_per_token(counts["meyer"])["operators"] == 4 * 8 + 2


def test_place_labels_keeps_labels_apart_inside_and_off_obstacles():
    """Six labels anchored at one point, next to an obstacle and near the axes' right edge: every box lies
    inside the bounds, clear of the obstacle and of every other box."""
    from energy.validation import place_labels
    bounds = (0.0, 0.0, 200.0, 200.0)
    obstacle = (150.0, 90.0, 160.0, 110.0)
    points = [(180.0, 100.0)] * 6
    sizes = [(15.0, 10.0)] * 6
    corners = place_labels(points, sizes, bounds, [obstacle])
    boxes = [(x, y, x + w, y + h) for (x, y), (w, h) in zip(corners, sizes)]

    def overlap(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    for i, b in enumerate(boxes):
        assert bounds[0] <= b[0] and b[2] <= bounds[2] and bounds[1] <= b[1] and b[3] <= bounds[3], b
        assert not overlap(b, obstacle), b
        assert not any(overlap(b, c) for c in boxes[i + 1:]), (b, boxes)


def test_figure_numbers_match_the_page(tmp_path):
    """The page numbers exactly the measured rows 1..n (the figure's key uses the same order)."""
    from simulator.cli import main
    assert main(["energy", "--validate", "--reduced", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "energy-validation.json").read_text())
    page = (tmp_path / "energy-validation.md").read_text().splitlines()
    table = [line for line in page if line.startswith("| ") and "| # |" not in line and "---" not in line
             and line.count("|") >= 10]
    nums = [line.split("|")[1].strip() for line in table]
    measured = [bool(r["measured"]) for r in data["rows"]]
    assert len(nums) == len(measured)
    assert [x for x, m in zip(nums, measured) if m] == [str(i) for i in range(1, sum(measured) + 1)]
    assert all(x == "" for x, m in zip(nums, measured) if not m)


def test_implied_launch_latency_reproduces_the_measured_latency_ratio(counts, monkeypatch):
    """Put the implied per-operator latency back into the Jetson's figures: the latency-ratio row then reads
    the measured ratio; and the implied power is the measured energy ratio / latency ratio x Loihi's power."""
    import energy.baselines as b
    from energy.validation import implied
    diag = {d["workload"]: d for d in implied(counts)}
    original = b.load_platforms
    for key, label in (("meyer", "Meyer (sMNIST"), ("pierro", "Pierro")):
        d = diag[key]

        def patched(path=b.PLATFORMS_FILE, _lat=d["implied_launch_latency_us"] * 1e-6):
            p = original(path)
            p["jetson-orin-nano"]["launch_latency"] = dict.fromkeys(("low", "central", "high"), _lat)
            return p
        monkeypatch.setattr(b, "load_platforms", patched)
        row = next(r for r in rows(counts) if r["workload"].startswith(label)
                   and r["quantity"] == "latency ratio, streaming batch 1")
        assert row["predicted"] == pytest.approx(d["measured_latency_ratio"], rel=1e-9)
        assert d["implied_jetson_power_w"] == pytest.approx(
            d["measured_energy_ratio"] / d["measured_latency_ratio"] * d["loihi_power_w"])
        monkeypatch.setattr(b, "load_platforms", original)
