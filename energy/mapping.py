"""How a network maps onto a chip: cores, chips, and what each counted event costs there.

For every count key the mapping gives a *recipe*: the chip primitives one counted event
turns into (``Term(primitive, per_event, category, native)``). A recipe is also where a
chip's missing features are handled, and each such handling is listed as a
``Limitation`` so the report can show it. Nothing is dropped without a line saying so.

Primitives: neuromorphic ``synop``, ``graded_synop``, ``neuron_update``, ``route`` (one
spike or message through the mesh), ``host_op`` (an operation handed to a host
processor); conventional ``add``, ``mult``, ``mac`` and the SRAM accesses
``mem_weight``, ``mem_acc``, ``mem_state``, ``mem_out``, ``mem_drive`` (a B entry; Lemaire et al. 2022).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass, field

from .catalogue import Chip
from .counts import fan_in, get, is_ssm, need, totals

CATEGORIES = ("synaptic", "neuron", "routing", "elementwise", "memory", "host", "static")
# On a conventional datapath sigmoid/GELU cost this many MACs: a degree-4 polynomial or
# rational approximation. Assumed; no source prices a transcendental at 45 nm.
NONLINEAR_MACS = 4
# A complex mode update on real arithmetic: Ab*s (4 mult + 2 add = 2 MAC + 2 mult) and the
# readout Re(C*s) accumulated into the channel sum (2 mult + 2 add = 2 MAC): 4 MAC + 2 mult.
# The input drive Bb*u is NOT in it: the engines count it as graded_macs, one MAC per mode
# each time the channel's input changes (a complex-by-real product, priced as one MAC as
# counted). The dense ANN has no such count, so its mode update carries that MAC too:
# 5 MAC + 2 mult, the same pricing, so SNN/ANN ratios are not biased by it.
MODE_MACS, MODE_MULTS, DENSE_MODE_MACS = 4, 2, 5
# Emulating a complex mode with two real compartments on a fixed-function chip: 4
# cross-coupling weights (the 2x2 rotation) + readout C = 5 synaptic events and re/im
# exchange + readout = 3 messages per update (input B arrives through graded_macs).
EMULATED_MODE_SYNAPSES, EMULATED_MODE_MESSAGES = 5, 3
# A real mode update (layers whose needs say state: real): a*s is 1 mult and the readout c*s into the
# channel sum 1 MAC; the drive b*u is again counted as graded_macs, so the dense ANN's carries 1 MAC more.
REAL_MODE_MACS, REAL_MODE_MULTS, DENSE_REAL_MODE_MACS = 1, 1, 2


@dataclass(frozen=True)
class Term:
    primitive: str
    per_event: float
    category: str
    native: bool = True


@dataclass(frozen=True)
class Limitation:
    feature: str
    native: bool | None      # None: a caveat of the estimate, not a missing chip feature
    treatment: str
    count_keys: tuple[str, ...] = ()


@dataclass
class LayerMap:
    name: str
    compartments: int
    synapse_entries: int
    synaptic_bits: int
    fan_in_axons: int
    cores: int
    min_cores: int = 0          # what the capacities need (the packed mapping)


@dataclass
class Mapping:
    chip: str
    family: str
    layers: list[LayerMap] = field(default_factory=list)
    cores: int = 1
    chips: int = 1
    avg_hops: float = 0.0
    strategy: str = "packed"
    route_pj: float = 0.0
    recipes: dict[str, list[Term]] = field(default_factory=dict)
    dense_recipes: dict[str, list[Term]] = field(default_factory=dict)
    # per-layer overrides of the recipes above (Mapping.recipes_for): a layer whose modes are shared by all
    # channels (needs modes: shared, S5) updates a mode without the readout, which the engines count in
    # graded_macs; on a datapath with memory, a spiking SSM layer's drive MAC reads B only
    layer_recipes: dict[str, dict[str, list[Term]]] = field(default_factory=dict)
    dense_layer_recipes: dict[str, dict[str, list[Term]]] = field(default_factory=dict)
    limitations: list[Limitation] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["recipes"] = {k: [asdict(t) for t in v] for k, v in self.recipes.items()}
        d["dense_recipes"] = {k: [asdict(t) for t in v] for k, v in self.dense_recipes.items()}
        for name in ("layer_recipes", "dense_layer_recipes"):
            d[name] = {layer: {k: [asdict(t) for t in v] for k, v in rec.items()}
                       for layer, rec in getattr(self, name).items()}
        return d

    def recipes_for(self, layer: dict, dense: bool = False) -> dict[str, list[Term]]:
        """The recipes that price ``layer``'s counts (the shared-mode override where it applies)."""
        base = self.dense_recipes if dense else self.recipes
        extra = (self.dense_layer_recipes if dense else self.layer_recipes).get(layer["name"], {})
        return {**base, **extra} if extra else base


MAPPINGS = ("packed", "spread")


class MappingError(ValueError):
    """A mapping the chip cannot take (fewer cores than the network needs); the message says why."""


def map_network(counts: dict, chip: Chip, cores: str | int = "packed") -> Mapping:
    """Map the network described by ``counts`` onto ``chip`` (counts must be validated).

    ``cores``: "packed" (the fewest cores the capacities allow), "spread" (every core of the chips the
    network needs, handed out to the layers that bound the step time: the lowest latency), or a total
    core count (at least the packed one)."""
    if not (cores in MAPPINGS or (isinstance(cores, int) and not isinstance(cores, bool) and cores > 0)):
        raise MappingError(f"mapping must be 'packed', 'spread' or a positive core count, found {cores!r}")
    m = Mapping(chip=chip.name, family=chip.family)
    if chip.neuromorphic:
        _neuromorphic(counts, chip, m, cores)
    else:
        _conventional(counts, chip, m)
    _common_limitations(counts, chip, m)
    return m


# -- neuromorphic -----------------------------------------------------------------------

def _neuromorphic(counts: dict, chip: Chip, m: Mapping, cores: str | int = "packed") -> None:
    net, tot = counts["network"], totals(counts)
    G = chip.flag("graded_spikes")
    P = chip.flag("programmable_neurons")
    b = chip.count("emulation_bits")
    # a binary-weight crossbar (TrueNorth) bit-slices arbitrary real weights into b planes
    ws = b if chip.count("weight_bits") == 1 else 1
    lim = m.limitations.append

    def msg(n: float) -> list[Term]:  # n graded values sent
        return [Term("route", n, "routing")] if G else [Term("route", n * b, "routing", False)]

    def gsyn(n: float, cat: str, sliced: bool) -> list[Term]:  # n graded synaptic events
        if G:
            return [Term("graded_synop", n, cat)]
        return [Term("synop", n * b * (ws if sliced else 1), cat, False)]

    def host(n: float) -> list[Term]:
        return [Term("host_op", n, "host", False)]

    nu = lambda n, cat="neuron", native=True: [Term("neuron_update", n, cat, native)]  # noqa: E731
    layer_norm = _normalises(counts)
    r = m.recipes
    C = chip.flag("complex_state")   # a complex mode is one native (programmable) neuron update
    if P:
        r["mode_updates"] = nu(1 if C else 2) + gsyn(1, "neuron", False) + msg(1)
    else:
        r["mode_updates"] = (nu(2, native=False) + gsyn(EMULATED_MODE_SYNAPSES, "neuron", False)
                             + msg(EMULATED_MODE_MESSAGES))
    for layer in counts["layers"]:
        if need(layer, "modes") == "shared":   # the readout synapses (C) are counted in graded_macs
            m.layer_recipes[layer["name"]] = {"mode_updates": (
                nu(1 if C else 2) + msg(1) if P else
                nu(2, native=False) + gsyn(EMULATED_MODE_SYNAPSES - 1, "neuron", False) + msg(EMULATED_MODE_MESSAGES))}
    # A real decay is a leaky compartment, native on every neuromorphic chip: 1 neuron update; its
    # readout into the channel neuron costs what a complex mode's does (1 graded synop + 1 message).
    r["real_mode_updates"] = nu(1) + gsyn(1, "neuron", False) + msg(1)
    r["channel_updates"] = nu(1)
    r["spikes"] = [Term("route", 1, "routing")]
    r["spike_acs"] = [Term("synop", ws, "synaptic", ws == 1)]
    r["messages"] = msg(1)
    r["graded_macs"] = gsyn(1, "synaptic", True)
    r["graded_acs"] = gsyn(1, "synaptic", False)
    r["sigmoid"] = nu(1, "elementwise") if P else host(NONLINEAR_MACS)
    r["gelu"] = nu(1, "elementwise") if P else host(NONLINEAR_MACS)
    r["multiply"] = nu(1, "elementwise") if P else host(1)
    if layer_norm:
        r["norm_elements"] = nu(2, "elementwise") if P else host(2)
    else:
        r["norm_elements"] = nu(1, "elementwise")
    r["norm_reductions"] = (msg(1) + gsyn(2, "elementwise", False)) if P else host(2)
    r["max_reductions"] = (msg(1) + nu(1, "elementwise")) if P else host(1)
    r["residual_adds"] = msg(1) + gsyn(1, "elementwise", False)

    # -- what the chip cannot do natively, and how the recipes above treat it ------------
    if tot["mode_updates"]:
        if P and C:
            lim(Limitation("complex SSM state", True,
                           "Programmable neuron running the complex (resonate) update natively: one neuron per "
                           "complex mode holding re and im as two state variables; each mode update is charged "
                           "1 neuron update, 1 graded synaptic event and 1 message for the readout C into the "
                           "channel neuron (the input drive B is counted as graded_macs).",
                           ("mode_updates",)))
        elif P:
            lim(Limitation("complex SSM state", True,
                           "Programmable neuron: one neuron per complex mode holding re and im as two "
                           "state variables; each mode update is charged 2 neuron updates, 1 graded "
                           "synaptic event and 1 message for the readout C into the channel neuron "
                           "(the input drive B is counted as graded_macs).",
                           ("mode_updates",)))
        else:
            lim(Limitation("complex SSM state", False,
                           f"Not native (real decays only). Emulated as two compartments (re, im) "
                           f"coupled through synapses: per mode update 2 neuron updates + "
                           f"{EMULATED_MODE_SYNAPSES}x{b if not G else 1} synops + "
                           f"{EMULATED_MODE_MESSAGES}x{b if not G else 1} spike routes "
                           f"(real values exchanged bit-serially with {b} bits). "
                           "Approximate: binary spikes cannot carry the state exactly.",
                           ("mode_updates",)))
    if tot["real_mode_updates"]:
        lim(Limitation("real SSM state", True,
                       "One leaky neuron (compartment) per real mode: 1 neuron update per mode update, "
                       "plus 1 graded synaptic event and 1 message for the readout C into the channel "
                       "neuron (the input drive B is counted as graded_macs).", ("real_mode_updates",)))
    if not G and (tot["messages"] or tot["graded_macs"] or tot["graded_acs"] or tot["residual_adds"]):
        lim(Limitation("graded (multi-bit) messages", False,
                       f"Binary spikes only. Each real value is sent as {b} binary spikes "
                       f"(bit-serial, weights scaled by 2^k): {b} routes per message and {b} synops "
                       f"per synaptic event; needs {b} copies of the weights.",
                       ("messages", "graded_macs", "graded_acs", "residual_adds")))
    if any(need(layer, "message") == "ternary" for layer in counts["layers"]) and tot["spikes"] and not G:
        lim(Limitation("ternary spikes", False,
                       "Two binary neurons per channel (positive and negative spike); "
                       "doubles the channel neurons, each event still one route.", ("spikes",)))
    if ws > 1 and (tot["spike_acs"] or tot["graded_macs"]):
        lim(Limitation("real-valued weights", False,
                       f"Binary crossbar (4 weights per neuron by axon type): each real mixing weight "
                       f"is bit-sliced into {ws} binary synapses, so each synaptic event costs {ws} "
                       "synops. Ternary GSU weights fit natively (two axon types).",
                       ("spike_acs", "graded_macs")))
    ops = [("sigmoid", "sigmoid (GLU)"), ("gelu", "GELU"), ("multiply", "elementwise products")]
    for key, label in ops:
        if tot[key]:
            if P:
                lim(Limitation(label, True, "Microcode/software on the programmable neuron: charged "
                               "1 neuron update per element (an assumption; likely a lower bound for "
                               "sigmoid/GELU).", (key,)))
            else:
                n = NONLINEAR_MACS if key in ("sigmoid", "gelu") else 1
                lim(Limitation(label, False, f"Not possible on the fixed neuron model: done on a host "
                               f"processor, {n} host op(s) per element.", (key,)))
    if tot["norm_elements"]:
        if layer_norm and not P:
            lim(Limitation("LayerNorm (normalise + affine)", False,
                           "Needs division by a per-step standard deviation: on the host, 2 host ops "
                           "per element.", ("norm_elements",)))
        else:
            lim(Limitation("normalisation affine", True,
                           f"Per-element affine in a neuron: {2 if layer_norm else 1} neuron update(s) "
                           "per element (BatchNorm in eval mode is an affine map).", ("norm_elements",)))
    if tot["norm_reductions"]:
        lim(Limitation("LayerNorm mean/variance reductions", P,
                       ("Each element sent as a graded message to reduction neurons: 1 message + 2 "
                        "graded synaptic events per element (sum and sum of squares).") if P else
                       "All-to-one reduction over channels each step: on the host, 2 host ops per "
                       "element.", ("norm_reductions",)))
    if tot["max_reductions"]:
        lim(Limitation("GSU per-step max over channels", P,
                       ("Max tree in programmable neurons: 1 message + 1 neuron update per element.")
                       if P else "On the host: 1 host op (compare) per element.", ("max_reductions",)))

    _place(counts, chip, m, G, P, b, ws)
    allocate(counts, chip, m, cores)
    # route cost: spike within a tile plus expected hops over the mesh the network occupies
    if chip.has("energy", "spike_route"):
        m.route_pj = chip.energy_pj("spike_route")
    else:
        per_tile = chip.count("cores_per_tile") if chip.has("capacity", "cores_per_tile") else 1
        tiles = math.ceil(min(m.cores, chip.count("cores_per_chip")) / per_tile)
        side = math.ceil(math.sqrt(tiles))
        # mean Manhattan distance between two random tiles of a side x side mesh
        m.avg_hops = 2 * (side * side - 1) / (3 * side)
        m.route_pj = chip.energy_pj("spike_within_tile") + m.avg_hops * chip.energy_pj("tile_hop")


_STAGE_TIMES = {"neuron_update": "neuron_update_time", "synop": "synop_time", "graded_synop": "synop_time",
                "route": "spike_out_time"}


def layer_stage_work(counts: dict, chip: Chip, m: "Mapping") -> dict[str, dict[str, float]]:
    """Per layer, seconds of work per step of each pipelined stage if the layer had one core."""
    L = counts["timesteps"] * counts["n_samples"]
    out = {}
    for layer in counts["layers"]:
        work: dict[str, float] = {}
        for key, terms in m.recipes_for(layer).items():
            events = get(layer, key) / L
            for t in terms:
                tkey = _STAGE_TIMES.get(t.primitive)
                if tkey and events and chip.has("timing", tkey):
                    work[tkey] = work.get(tkey, 0.0) + events * t.per_event * chip.time_s(tkey)
        out[layer["name"]] = work
    return out


def allocate(counts: dict, chip: Chip, m: Mapping, cores: str | int) -> None:
    """Hand cores beyond the packed ones, one at a time, to the layer whose busiest stage is slowest
    per core (water filling: this minimises the busiest core for a given total)."""
    packed = sum(lm.cores for lm in m.layers)
    m.strategy = str(cores)
    if cores == "packed" or chip.step_model != "loihi":
        return
    per_chip = chip.count("cores_per_chip")
    target = math.ceil(packed / per_chip) * per_chip if cores == "spread" else int(cores)
    if target < packed:
        raise MappingError(f"--mapping {target}: {chip.name} needs at least {packed} cores for this network "
                           "(the packed mapping)")
    work = layer_stage_work(counts, chip, m)
    peak = {lm.name: max(work[lm.name].values(), default=0.0) for lm in m.layers}
    cap = {lm.name: max(lm.compartments, lm.cores) for lm in m.layers}   # at least one compartment per core
    heap = [(-peak[lm.name] / lm.cores, i) for i, lm in enumerate(m.layers) if lm.cores < cap[lm.name]]
    heapq.heapify(heap)
    spare = target - packed
    while spare > 0 and heap:
        load, i = heapq.heappop(heap)
        if load == 0:
            break
        lm = m.layers[i]
        lm.cores += 1
        spare -= 1
        if lm.cores < cap[lm.name]:
            heapq.heappush(heap, (-peak[lm.name] / lm.cores, i))
    m.cores = sum(lm.cores for lm in m.layers)
    m.chips = math.ceil(m.cores / per_chip)


def _place(counts: dict, chip: Chip, m: Mapping, G: bool, P: bool, b: int, ws: int) -> None:
    """Cores per layer: the largest of the neuron, synaptic-memory and fan-in demands."""
    net = counts["network"]
    dirs = net["directions"]
    npc = chip.count("neurons_per_core")
    mem = chip.count("synaptic_memory_per_core")
    wbits = chip.count("weight_bits")
    fin_limit = chip.count("fan_in_per_core") if chip.has("capacity", "fan_in_per_core") else None
    for layer in counts["layers"]:
        graded_in = get(layer, "graded_macs") or get(layer, "graded_acs") or get(layer, "messages")
        copies = b if (graded_in and not G) else 1   # bit-serial inputs need scaled weight copies
        # (a GSU layer's synapses already count both its matrices: GSU weights and ternary gate)
        entries = layer["synapses"] * ws * copies
        fin = fan_in(layer) * copies
        if is_ssm(layer):
            real = need(layer, "state") == "real"     # a real mode is one native leaky compartment
            per_mode = 2 if (P or real) else 1 + EMULATED_MODE_SYNAPSES   # (B, C) or (B, C + 4 couplings)
            if need(layer, "modes") == "shared":
                # B (P x H) and C (H x P) are matrices, reserved whole as the mixing's are (the counts carry
                # matrix sizes, not non-zeros); + the 4 couplings per emulated mode
                per_mode = 2 * layer["neurons"] + (0 if (P or real) else EMULATED_MODE_SYNAPSES - 1)
            entries += layer["modes"] * dirs * per_mode * (1 if G else b)
            split = 2 if (need(layer, "message") == "ternary" and not G) else 1
            comps = (layer["modes"] * dirs * (1 if (P or real) else 2) + layer["neurons"] * split
                     + layer["fan_out"])
        else:
            comps = layer["neurons"]
        bits = entries * wbits
        cores = max(math.ceil(comps / npc), math.ceil(bits / mem), 1)
        if fin_limit:
            cores = max(cores, math.ceil(fin / fin_limit))
            if fin > fin_limit:
                m.limitations.append(Limitation(
                    f"fan-in of {layer['name']}", False,
                    f"{fin} input axons exceed the {fin_limit} per core: inputs split over "
                    f"{math.ceil(fin / fin_limit)} cores and partial sums merged (merge relays not "
                    "counted).", ()))
        m.layers.append(LayerMap(layer["name"], comps, entries, bits, fin, cores, cores))
    m.cores = sum(lm.cores for lm in m.layers)   # layers do not share cores (conservative)
    m.chips = math.ceil(m.cores / chip.count("cores_per_chip"))
    if wbits == 1:
        m.limitations.append(Limitation(
            "fan-out", False, "Each neuron targets one axon of one core: fan-out to more cores needs "
            "splitter neurons (not counted).", ()))


# -- conventional -----------------------------------------------------------------------

def _conventional(counts: dict, chip: Chip, m: Mapping) -> None:
    mem = chip.has("memory", "access_slope")
    syn_mem = [Term("mem_weight", 1, "memory"), Term("mem_acc", 2, "memory")] if mem else []
    r = m.recipes
    r["spike_acs"] = [Term("add", 1, "synaptic")] + syn_mem
    r["graded_macs"] = [Term("mac", 1, "synaptic")] + syn_mem
    r["graded_acs"] = [Term("add", 1, "synaptic")] + syn_mem
    r["mode_updates"] = ([Term("mac", MODE_MACS, "neuron"), Term("mult", MODE_MULTS, "neuron")]
                         + ([Term("mem_state", 4, "memory")] if mem else []))
    r["real_mode_updates"] = ([Term("mac", REAL_MODE_MACS, "neuron"), Term("mult", REAL_MODE_MULTS, "neuron")]
                              + ([Term("mem_state", 2, "memory")] if mem else []))
    r["channel_updates"] = ([Term("mac", 1, "neuron"), Term("add", 1, "neuron")]
                            + ([Term("mem_out", 1, "memory")] if mem else []))
    r["spikes"] = []
    r["messages"] = []
    r["sigmoid"] = [Term("mac", NONLINEAR_MACS, "elementwise")]
    r["gelu"] = [Term("mac", NONLINEAR_MACS, "elementwise")]
    r["multiply"] = [Term("mult", 1, "elementwise")]
    r["norm_elements"] = [Term("mac", 2 if _normalises(counts) else 1, "elementwise")]
    r["norm_reductions"] = [Term("mac", 1, "elementwise"), Term("add", 1, "elementwise")]
    r["max_reductions"] = [Term("add", 1, "elementwise")]
    r["residual_adds"] = [Term("add", 1, "elementwise")]
    # the same network as a dense ANN: every synapse every step, state updated every step
    d = m.dense_recipes
    d["dense_macs"] = [Term("mac", 1, "synaptic")] + ([Term("mem_weight", 1, "memory")] if mem else [])
    d["mode_updates"] = ([Term("mac", DENSE_MODE_MACS, "neuron"), Term("mult", MODE_MULTS, "neuron")]
                         + ([Term("mem_state", 4, "memory")] if mem else []))
    d["real_mode_updates"] = ([Term("mac", DENSE_REAL_MODE_MACS, "neuron"), Term("mult", REAL_MODE_MULTS, "neuron")]
                              + ([Term("mem_state", 2, "memory")] if mem else []))
    for key in ("channel_updates", "sigmoid", "gelu", "multiply", "norm_elements",
                "norm_reductions", "max_reductions", "residual_adds"):
        d[key] = r[key]
    state = [Term("mem_state", 4, "memory")] if mem else []
    for layer in counts["layers"]:
        if mem and layer["modes"] and need(layer, "message") in ("binary", "ternary") \
                and need(layer, "modes") != "shared":
            # Here graded_macs are the input drive Bb*u alone (the mixing's events are spike_acs / graded_acs).
            # Its sum lands in the mode state, which the mode update reads and writes once per step (mem_state):
            # an accumulator read and write per drive MAC counted those state accesses a second time. A drive
            # MAC reads its B entry only.
            m.layer_recipes[layer["name"]] = {"graded_macs": [Term("mac", 1, "synaptic"),
                                                               Term("mem_drive", 1, "memory")]}
        if need(layer, "modes") == "shared":
            # Ab*s only (2 MAC + 2 mult): the readout is counted in graded_macs. The dense ANN also drives
            # each mode from all H inputs and reads it into all H channels (B, C dense, as counted: one MAC
            # each), which its dense_macs (the mixing) do not hold.
            H = layer["neurons"]
            r_mode = [Term("mac", MODE_MACS - 2, "neuron"), Term("mult", MODE_MULTS, "neuron")] + state
            d_mode = ([Term("mac", MODE_MACS - 2 + 2 * H, "neuron"), Term("mult", MODE_MULTS, "neuron")] + state
                      + ([Term("mem_weight", 2 * H, "memory")] if mem else []))
            m.layer_recipes[layer["name"]] = {"mode_updates": r_mode}
            m.dense_layer_recipes[layer["name"]] = {"mode_updates": d_mode}
    tot = totals(counts)
    if tot["spikes"] or tot["messages"]:
        m.limitations.append(Limitation(
            "event bookkeeping", None, "On a conventional datapath the event-driven (SNN) estimate "
            "charges no cost for spike/message queues or the sigma-delta change test; only the "
            "arithmetic and memory accesses they trigger.", ("spikes", "messages")))
    if mem:
        m.limitations.append(Limitation(
            "memory accesses", None, "SRAM access per Lemaire et al. 2022: weight read per synaptic "
            "op; accumulator read+write per event-driven synaptic op (dense ANN accumulates in "
            "registers), except the SSM input drive of spiking layers, whose sum lands in the state "
            "(a B read only); 2 reads + 2 writes per complex state update; 1 output write per channel "
            "update. Elementwise operands are assumed in registers. Where the drive and a graded mixing "
            "share graded_macs (graded layers) they cannot be told apart and both are charged the "
            "accumulator.", ()))
    else:
        m.limitations.append(Limitation(
            "memory accesses", None, "Inside the per-operation device figure; not charged apart.", ()))
    m.layers = [LayerMap(layer["name"], 0, layer["synapses"], 0, fan_in(layer), 0, 0)
                for layer in counts["layers"]]


# -- both -------------------------------------------------------------------------------

def _normalises(counts: dict) -> bool:
    """Some block norm divides by a per-step deviation (LayerNorm), rather than an affine map (BatchNorm)."""
    return any(need(layer, "norm") == "normalise" for layer in counts["layers"])


def _common_limitations(counts: dict, chip: Chip, m: Mapping) -> None:
    lim = m.limitations.append
    if counts["network"]["directions"] == 2:
        lim(Limitation("bidirectional layers", False,
                       "The backward recurrence needs the whole sequence: the estimate assumes the "
                       "input is buffered and replayed in reverse; buffer energy is not charged and "
                       "the network cannot stream.", ("mode_updates",)))
    lim(Limitation("input and output transfer", None,
                   "Moving input samples onto the chip and logits off it is not charged.", ()))
    if any(t.primitive == "host_op" for ts in m.recipes.values() for t in ts):
        lim(Limitation("host round trips", None,
                       "Values sent to the host and back: transfer energy and latency not charged; "
                       "only the host arithmetic (host_op) is.", ()))
    if m.chips > 1:
        lim(Limitation("multi-chip", None, f"The network needs {m.chips} chips; inter-chip links "
                       "are charged as on-chip hops.", ()))
    if chip.power_mw("static_per_chip") == 0:
        lim(Limitation("static power", None, "Set to 0 in the chip file: "
                       + chip.q("power", "static_per_chip").source, ()))
    elif chip.neuromorphic and m.cores < m.chips * chip.count("cores_per_chip"):
        lim(Limitation("static power", None, f"Charged for {m.chips} whole chip(s) although the "
                       f"network uses {m.cores} of {m.chips * chip.count('cores_per_chip')} cores "
                       "(unused cores are assumed not power-gated).", ()))
    if chip.step_model == "fixed":
        lim(Limitation("real-time step", None, f"A fixed {chip.time_s('step_time') * 1e3:g} ms step "
                       "is assumed; whether each core's work fits in it is not checked.", ()))
    # name the assumed energies this estimate actually uses
    used = {t.primitive for ts in m.recipes.values() for t in ts}
    if "route" in used and not chip.has("energy", "spike_route"):
        used |= {"spike_within_tile", "tile_hop"}
    elif "route" in used:
        used.add("spike_route")
    assumed = [k for s, k, q in chip.quantities() if s == "energy" and q.kind == "assumed"
               and float(q.canonical) > 0 and k in used]
    if assumed:
        lim(Limitation("assumed energies", None, "These per-operation energies are assumptions, "
                       f"not published figures: {', '.join(assumed)}.", ()))
    if chip.name.endswith("int8"):
        lim(Limitation("quantisation", None, "The accuracy effect of running the network in 8 bits "
                       "is not modelled; the counts come from the float64 simulation.", ()))
