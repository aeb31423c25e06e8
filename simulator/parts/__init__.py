"""How each part kind RUNS: compiled arrays, per-batch state, dense and event kernels, counting facts.

A runner is registered for a part class of models/parts and an arithmetic ('float', or 'fixed' for the integer
forms in fixed_*.py, built from a precision and calibrated scales); `block_runners` builds one per part of a block.
The engine's walker (simulator/engine.py) drives them in data-flow order and never learns a kind's name.
Runner interface, by role:

  norm:       apply(x) -> x';  add_and_norm(h, out, residual) -> h';  count(c, slots)
  ssm:        new_state(batch);  run(u, state, event) -> (y, work);  count(c, Lc, slots, work);
              modes_per_layer(H) (for the counts document)
  activation: new_state(batch) (None when it keeps nothing);  run(y, state) -> (sent, spikes or None);
              count(c, slots, spikes, state)
  mixing:     new_state(batch);  run(sent, y, state, event) -> out;  count(c, Lc, slots, sent, y, events, state);
              synapses, fan_out (for the counts document)
"""
from simulator.parts import activation, lif, linear, mixing, norm, s4d, s4d_real, s5, sigma_delta  # noqa: F401
from simulator.parts import fixed_activation, fixed_mixing, fixed_norm, fixed_s5, fixed_ssm  # noqa: F401
from simulator.parts.base import BlockRunners, Context, block_runners, changed, runner, runs

__all__ = ["BlockRunners", "Context", "block_runners", "changed", "runner", "runs"]
