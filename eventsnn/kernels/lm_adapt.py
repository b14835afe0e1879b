"""Numba kernel of the language model's online R-STDP (:mod:`eventsnn.lm.adapt`): score, reward, run, learn.

One call streams T tokens through one generation stream of the event
engine (:func:`eventsnn.kernels.inference.token_steps`, one sub-step per
token) and, per token x_t, in this order:

1. scores it before learning from it: loss_t = logsumexp(z) - z[x_t] (nats)
   with z the logits the previous token left;
2. rewards it against the running baseline L (an exponential average of
   the loss over ``tau_b`` tokens): reward_t = L - loss_t, then
   L += (loss_t - L) / tau_b (L starts at the first loss);
3. feeds it, leaving its spikes in the state and the next logits in z;
4. steps R-STDP (:mod:`.nn_plasticity`, one rule step per token) on every
   plastic spike-to-spike projection with those spikes and reward_t.

Anchoring (fast weights on the trained, slow ones w0; Hinton & Plaut 1987,
Ba et al. 2016): with rate a = 1/tau_a > 0 (1/token), each rebase of the
clock (every synapse settled, :func:`settle_all`) also relaxes every
adapted weight towards its trained value,

    w <- w0 + (w - w0) e^{-a D}        (D tokens since the previous rebase),

and the clock rebases at least every :data:`ANCHOR_STEP` / a tokens: a
staircase of 1/ANCHOR_STEP steps per time constant for
d(w - w0)/dt = -a (w - w0), at no cost per synapse event. With no reward
every change decays to w0.

Plastic projections (``plastic`` [2L - 1]): block.0 -> memory, then
block.(l-1) -> block.l and memory -> block.l for l = 1..L-1; traces are
per population (as source: tau_plus; as target: tau_minus).
"""
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..plasticity import RATE_MINUS, RATE_PLUS
from .inference import active_indices, token_steps
from .nn_plasticity import T, T0, advance, decay_traces, depress_rows, due, move_origin, potentiate_columns, settle

NO_SPIKES = np.empty(0)
ANCHOR_STEP = 0.125  # anchored: rebase once (t - t_0) a reaches this (8 decay steps per tau_a)


class Learning(NamedTuple):
    """The online R-STDP's state and constants (per projection: in the order of ``plastic``)."""

    elig: tuple  # [n_pre, n_post] float64 each: scaled eligibility
    integral: tuple  # [n_pre, n_post] float64 each: F(s) as of each synapse's last event
    pre_trace: np.ndarray  # [L + 1, n]: each population's trace as a source (blocks, then the memory; padded)
    post_trace: np.ndarray  # [L + 1, n]: as a target
    clock: np.ndarray  # [4]: the shared dopamine clock (nn_plasticity)
    reward: np.ndarray  # [2]: tau_b and the baseline L (NaN before the first token)
    w0: tuple  # [n_pre, n_post] float32 each: the trained weights the anchor pulls towards
    anchor: np.ndarray  # [1]: the anchor's rate a = 1/tau_a (1/token; 0: no anchor)
    k: np.ndarray  # the rule's constants (eventsnn.plasticity.CONSTANTS, dt = 1 token)
    plastic: np.ndarray  # [2L - 1] bool: the projections that learn


@njit(cache=True)
def token_loss(z, token):
    """-log softmax(z)[token] in float64 (nats)."""
    m = -np.inf
    for v in z:
        m = max(m, np.float64(v))
    s = 0.0
    for v in z:
        s += math.exp(np.float64(v) - m)
    return m + math.log(s) - np.float64(z[token])


@njit(cache=True)
def settle_all(weights, learning):
    """Bring every synapse of every plastic projection to now, relax it towards w0 if anchored (module
    docstring), and move the clock's origin there."""
    memory_w, block_w, gate_w = weights[2], weights[4], weights[6]
    elig, integral, clock, k, plastic = learning.elig, learning.integral, learning.clock, learning.k, learning.plastic
    relax = math.exp(-(clock[T] - clock[T0]) * learning.anchor[0])
    for p in range(plastic.size):
        if plastic[p]:
            w = memory_w if p == 0 else (block_w[(p - 1) // 2] if p % 2 else gate_w[p // 2 - 1])
            settle(w, elig[p], integral[p], clock, k)
            if learning.anchor[0] > 0:
                anchor(w, learning.w0[p], relax)
    move_origin(clock)


@njit(cache=True)
def anchor(w, w0, relax):
    """w <- w0 + (w - w0) relax, in float64, rounded to w's dtype."""
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            w[i, j] = w0[i, j] + (np.float64(w[i, j]) - w0[i, j]) * relax


@njit(cache=True)
def rstdp_stream(tokens, logits, weights, block_state, memory_state, spike_count, learning, losses):
    """Stream ``tokens`` [T] (module docstring); losses[t] receives token t's nats.

    ``weights`` is the event engine's argument tuple (float32 weights,
    learned in place); block_state [L, 3, 1, H], memory_state [3, 1, M] the
    stream's neurons; logits [V] the logits the last token left;
    ``learning`` (:class:`Learning`) the rule's state, updated in place.
    """
    memory_w, block_w, gate_w = weights[2], weights[4], weights[6]
    elig, integral, clock, k, plastic = learning.elig, learning.integral, learning.clock, learning.k, learning.plastic
    pre_trace, post_trace, reward = learning.pre_trace, learning.post_trace, learning.reward
    n_layers, n_mem = block_state.shape[0], memory_state.shape[2]
    n_hidden = block_state.shape[3]
    for t in range(tokens.size):
        loss = token_loss(logits, tokens[t])
        losses[t] = loss
        if math.isnan(reward[1]):
            reward[1] = loss
        dopamine = reward[1] - loss
        reward[1] += (loss - reward[1]) / reward[0]
        logits[:] = token_steps(None, tokens[t:t + 1].reshape((1, 1)), 1, *weights, block_state, memory_state,
                                spike_count)[0, 0]
        advance(clock, dopamine, k)
        fired = []
        for l in range(n_layers):
            decay_traces(pre_trace[l, :n_hidden], block_state[l, 1, 0], k[RATE_PLUS])
            decay_traces(post_trace[l, :n_hidden], NO_SPIKES, k[RATE_MINUS])
            fired.append(active_indices(block_state[l, 1, 0]))
        decay_traces(pre_trace[n_layers, :n_mem], memory_state[1, 0], k[RATE_PLUS])
        decay_traces(post_trace[n_layers, :n_mem], NO_SPIKES, k[RATE_MINUS])
        fired_mem = active_indices(memory_state[1, 0])
        # presynaptic spikes (depression with the targets' traces before their own spikes) ...
        if plastic[0]:
            depress_rows(fired[0], memory_w, elig[0], integral[0], post_trace[n_layers, :n_mem], clock, k)
        for l in range(1, n_layers):
            if plastic[2 * l - 1]:
                depress_rows(fired[l - 1], block_w[l - 1], elig[2 * l - 1], integral[2 * l - 1],
                             post_trace[l, :n_hidden], clock, k)
            if plastic[2 * l]:
                depress_rows(fired_mem, gate_w[l - 1], elig[2 * l], integral[2 * l], post_trace[l, :n_hidden],
                             clock, k)
        for l in range(n_layers):
            post_trace[l, :n_hidden] += block_state[l, 1, 0]
        post_trace[n_layers, :n_mem] += memory_state[1, 0]
        # ... then postsynaptic spikes (potentiation with the sources' traces after theirs)
        if plastic[0]:
            potentiate_columns(fired_mem, memory_w, elig[0], integral[0], pre_trace[0, :n_hidden], clock, k)
        for l in range(1, n_layers):
            if plastic[2 * l - 1]:
                potentiate_columns(fired[l], block_w[l - 1], elig[2 * l - 1], integral[2 * l - 1],
                                   pre_trace[l - 1, :n_hidden], clock, k)
            if plastic[2 * l]:
                potentiate_columns(fired[l], gate_w[l - 1], elig[2 * l], integral[2 * l], pre_trace[n_layers, :n_mem],
                                   clock, k)
        if due(clock, k) or (clock[T] - clock[T0]) * learning.anchor[0] >= ANCHOR_STEP:
            settle_all(weights, learning)
