"""How long one time step takes on a chip: the max-affine model (Timcheck et al., arXiv 2601.10035).

Cores run in parallel and meet at a barrier each step. Within a core the synaptic, neuron and output
stages are pipelined, so a step ends when the slowest *stage* of the busiest core is done, or when the
busiest mesh link has carried its traffic, whichever is later, plus the barrier::

    T_step = max( host, barrier + max( max_c N_c t_neuron, max_c S_c t_synop, max_c M_c t_send, max_link F t_hop ) )

N_c, S_c, M_c are the neuron updates, synaptic events and messages sent by core c in one step (a
layer's work is spread evenly over its cores); F is the busiest link's load: with the network's
messages placed uniformly on a square mesh of tiles, half of them cross the bisection, which has
``side`` links each way. Timcheck et al. give the form (a max of affine terms) and its fit to silicon
(Pearson r >= 0.97); their coefficients are not public, so the times per event come from the chip file.

``host`` (optional ``host_step`` in the chip file's [timing]) is one more affine piece of that max, a constant:
the per-step floor that the input/output processes (on Loihi 2's embedded cores or a host) and the step
synchronisation set whatever the neuron cores do. It is
a max, not a sum, because a lighter network on the same board took the same step (see the chip file's source).
"""

from __future__ import annotations

import math
from collections import defaultdict

from .catalogue import Chip
from .mapping import Mapping

STAGES = ("neuron", "synaptic", "send", "link")
_STAGE_OF = {"neuron_update": "neuron", "synop": "synaptic", "graded_synop": "synaptic", "route": "send"}
_TIME_KEY = {"neuron": "neuron_update_time", "synaptic": "synop_time", "send": "spike_out_time",
             "link": "hop_time"}


def _t(chip: Chip, stage: str) -> float:
    key = _TIME_KEY[stage]
    return chip.time_s(key) if chip.has("timing", key) else 0.0


def step_time(counts: dict, chip: Chip, mapping: Mapping, terms: list[dict]) -> dict | None:
    """Step time and what bounds it; None for chips without a step (conventional datapaths)."""
    if chip.step_model == "none":
        return None
    if chip.step_model == "fixed":
        s = chip.time_s("step_time")
        return {"step_time_s": s, "model": "fixed", "barrier_s": 0.0, "stages_s": {}, "bound": "fixed tick",
                "busiest_core": None}
    L = counts["timesteps"]
    per_layer: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(STAGES, 0.0))
    for t in terms:
        stage = _STAGE_OF.get(t["primitive"])
        if stage:
            per_layer[t["layer"]][stage] += t["events_per_inference"] * t["per_event"] / L
    stages = dict.fromkeys(STAGES, 0.0)
    busiest = {"layer": None, "stage": None, "time_s": 0.0, "cores_of_layer": 0}
    total_msgs = 0.0
    for lm in mapping.layers:
        work = per_layer[lm.name]
        total_msgs += work["send"]
        for stage in ("neuron", "synaptic", "send"):
            time = work[stage] / max(lm.cores, 1) * _t(chip, stage)
            if time > stages[stage]:
                stages[stage] = time
            if time > busiest["time_s"]:
                busiest = {"layer": lm.name, "stage": stage, "time_s": time, "cores_of_layer": lm.cores}
    side = mesh_side(chip, mapping.cores)
    if side > 1:
        stages["link"] = total_msgs * 0.5 / (2 * side) * _t(chip, "link")
    barrier = chip.time_s("barrier_sync")
    host = chip.time_s("host_step") if chip.has("timing", "host_step") else 0.0
    cores_s = barrier + max(stages.values())
    bound = max(stages, key=stages.get) if any(stages.values()) else "barrier"
    if host > cores_s:
        bound = "host"
    return {"step_time_s": max(host, cores_s), "model": "max-affine", "barrier_s": barrier, "host_s": host,
            "cores_s": cores_s, "stages_s": stages, "bound": bound, "busiest_core": busiest,
            "mesh_side_tiles": side}


def mesh_side(chip: Chip, cores: int) -> int:
    """Side of the square mesh of tiles that ``cores`` cores occupy (1: one tile)."""
    per_tile = chip.count("cores_per_tile") if chip.has("capacity", "cores_per_tile") else 1
    tiles = math.ceil(min(cores, chip.count("cores_per_chip")) / per_tile)
    return math.ceil(math.sqrt(tiles))
