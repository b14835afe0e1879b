"""Numba kernel of the language model's online R-STDP (:mod:`eventsnn.lm.adapt`): score, reward, run, learn.

One call streams T tokens through one generation stream of the event
engine (:func:`eventsnn.kernels.inference.token_step`, one sub-step per
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
per population (as source: tau_plus; as target: tau_minus). A row of a
projection is written at its source neuron's spikes, after the engine has
propagated them, so a spike transmits the weight its synapse had at its
previous spike or at the last rebase (:mod:`.nn_plasticity`).
"""
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..plasticity import RATE_MINUS, RATE_PLUS
from .inference import token_scratch, token_step
from .nn_plasticity import T, T0, advance, decay_traces, due, flush_rows, move_origin, record_columns, settle

NO_SPIKES = np.empty(0)
ANCHOR_STEP = 0.125  # anchored: rebase once (t - t_0) a reaches this (8 decay steps per tau_a)


class Learning(NamedTuple):
    """The online R-STDP's state and constants (per projection: in the order of ``plastic``)."""

    synapses: tuple  # nn_plasticity.Synapses each: eligibility, lazy rows, column history (empty: does not learn)
    pre_trace: np.ndarray  # [L + 1, n]: each population's trace as a source (blocks, then the memory; padded)
    post_trace: np.ndarray  # [L + 1, n]: as a target
    clock: np.ndarray  # [4]: the shared dopamine clock (nn_plasticity)
    reward: np.ndarray  # [2]: tau_b and the baseline L (NaN before the first token)
    w0: tuple  # [n_pre, n_post] float32 each: the trained weights the anchor pulls towards (empty: not anchored)
    anchor: np.ndarray  # [1]: the anchor's rate a = 1/tau_a (1/token; 0: no anchor)
    k: np.ndarray  # the rule's constants (eventsnn.plasticity.CONSTANTS, dt = 1 token)
    plastic: np.ndarray  # [2L - 1] bool: the projections that learn


@njit(cache=True)
def token_loss(z, token):
    """-log softmax(z)[token] (nats) of float32 logits z: summed and logged in float64, each exp(z_i - max z) in
    float32 (libm's expf: a quarter of a token's learning time went to float64 exp; ~1e-7 nats)."""
    m = z[0]
    for v in z:
        m = max(m, v)
    s = 0.0
    for v in z:
        s += math.exp(v - m)
    return np.float64(m) + math.log(s) - np.float64(z[token])


@njit(cache=True)
def projection(p, weights, n_layers):
    """Projection p's weights [n_pre, n_post] and its source and target populations (rows of the traces:
    blocks 0..L-1, then the memory L)."""
    if p == 0:
        return weights[2], 0, n_layers
    l = (p + 1) // 2
    return (weights[4][l - 1], l - 1, l) if p % 2 else (weights[6][l - 1], n_layers, l)


@njit(cache=True)
def settle_all(weights, learning):
    """Bring every synapse of every plastic projection to now, relax it towards w0 if anchored (module
    docstring), and move the clock's origin there."""
    clock, k, rate = learning.clock, learning.k, learning.anchor[0]
    relax = math.exp(-(clock[T] - clock[T0]) * rate)
    for p in range(learning.plastic.size):
        if learning.plastic[p]:
            w, source, _ = projection(p, weights, learning.pre_trace.shape[0] - 1)
            settle(w, learning.synapses[p], learning.pre_trace[source, :w.shape[0]], clock, k)
            if rate > 0:
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
    clock, k, plastic, reward = learning.clock, learning.k, learning.plastic, learning.reward
    pre_trace, post_trace = learning.pre_trace, learning.post_trace
    n_layers = block_state.shape[0]
    sizes = np.full(n_layers + 1, block_state.shape[3])
    sizes[n_layers] = memory_state.shape[2]
    spikes = np.zeros((n_layers + 1, pre_trace.shape[1]))
    fired = np.empty((n_layers + 1, pre_trace.shape[1]), np.int64)  # each population's event list ...
    n_fired = np.zeros(n_layers + 1, np.int64)  # ... and its length
    scratch, z = token_scratch(1, weights[0], weights[1], weights[8]), np.empty((1, logits.size), np.float32)
    is_source, is_target = np.zeros(n_layers + 1, np.bool_), np.zeros(n_layers + 1, np.bool_)
    for p in range(plastic.size):  # only their traces and events are needed
        if plastic[p]:
            _, source, target = projection(p, weights, n_layers)
            is_source[source], is_target[target] = True, True
    for t in range(tokens.size):
        loss = token_loss(logits, tokens[t])
        losses[t] = loss
        if math.isnan(reward[1]):
            reward[1] = loss
        dopamine = reward[1] - loss
        reward[1] += (loss - reward[1]) / reward[0]
        token_step(None, tokens[t:t + 1], 1, *weights, block_state, memory_state, spike_count, scratch, z)
        logits[:] = z[0]
        advance(clock, dopamine, k)
        for l in range(n_layers):
            spikes[l, :sizes[l]] = block_state[l, 1, 0]
        spikes[n_layers, :sizes[n_layers]] = memory_state[1, 0]
        for pop in range(n_layers + 1):
            if is_source[pop]:
                decay_traces(pre_trace[pop, :sizes[pop]], spikes[pop, :sizes[pop]], k[RATE_PLUS])
            if is_target[pop]:
                decay_traces(post_trace[pop, :sizes[pop]], NO_SPIKES, k[RATE_MINUS])
            n_fired[pop] = 0
            for i in range(sizes[pop]):  # branch-free compaction, as inference.active_indices, into one buffer
                fired[pop, n_fired[pop]] = i
                n_fired[pop] += spikes[pop, i] != 0
        for p in range(plastic.size):
            if plastic[p]:
                w, source, target = projection(p, weights, n_layers)
                syn = learning.synapses[p]
                # presynaptic spikes (depression with the targets' traces before their own spikes), then
                # postsynaptic ones (their potentiation reads the sources' traces after theirs: lazily, at a row's
                # next write; and it does not read the targets' traces, bumped below)
                flush_rows(fired[source, :n_fired[source]], w, syn, pre_trace[source, :sizes[source]],
                           post_trace[target, :sizes[target]], clock, k, 1)
                record_columns(fired[target, :n_fired[target]], syn, clock, k)
        for pop in range(n_layers + 1):
            if is_target[pop]:
                post_trace[pop] += spikes[pop]
        if due(clock, k) or (clock[T] - clock[T0]) * learning.anchor[0] >= ANCHOR_STEP:
            settle_all(weights, learning)
