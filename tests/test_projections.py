"""Connectivity builders and synaptic delays."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import eventsnn as esnn

DT = 0.1


def test_fixed_probability_has_the_expected_number_of_synapses():
    a, b = esnn.Population(400, esnn.LIF()), esnn.Population(500, esnn.LIF())
    proj = esnn.Sparse.fixed_probability(a, b, 0.05, weight=1.0, seed=3)
    expected, sd = 400 * 500 * 0.05, np.sqrt(400 * 500 * 0.05 * 0.95)
    assert abs(proj.n_synapses - expected) < 5 * sd
    i, j, w, d = proj.synapses()
    assert np.all(np.diff(i) >= 0)
    assert len(set(zip(i.tolist(), j.tolist()))) == i.size  # no repeated pair
    assert np.all(w == 1.0) and np.all(d == 0.0)


def test_fixed_probability_without_autapses_has_no_self_connections():
    pop = esnn.Population(50, esnn.LIF())
    i, j, _, _ = esnn.Sparse.fixed_probability(pop, pop, 1.0, weight=1.0, autapses=False).synapses()
    assert i.size == 50 * 49 and not np.any(i == j)
    i, j, _, _ = esnn.Sparse.fixed_probability(pop[:30], pop[10:], 1.0, weight=1.0, autapses=False).synapses()
    assert not np.any(i == j + 10 - 0)


def test_fixed_probability_draws_rows_and_columns_uniformly():
    a, b = esnn.Population(300, esnn.LIF()), esnn.Population(200, esnn.LIF())
    i, j, _, _ = esnn.Sparse.fixed_probability(a, b, 0.1, weight=1.0, seed=4).synapses()
    for index, n in ((i, 300), (j, 200)):  # chi-square over the bins, against its mean and s.d. (n - 1, sqrt(2 (n - 1)))
        counts = np.bincount(index, minlength=n)
        chi2 = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
        assert abs(chi2 - (n - 1)) < 5 * np.sqrt(2 * (n - 1))


def bernoulli_csr_twin(n_pre, n_post, p, shift, seed):
    """NumPy twin of kernels.connectivity.bernoulli_csr: all gaps at once from the same counter stream."""
    from eventsnn.kernels.random import uniform

    draws = np.arange(int(4 * n_pre * n_post * p) + 64, dtype=np.uint64)
    gaps = np.floor(np.log(1.0 - uniform(np.uint64(seed), draws, np.uint64(0))) / np.log1p(-p)) + 1
    positions = np.cumsum(gaps) - 1  # the first kept pair is at gap - 1
    positions = positions[positions < n_pre * n_post].astype(np.int64)
    i, j = np.divmod(positions, n_post)
    keep = j != i + shift
    return np.concatenate([[0], np.cumsum(np.bincount(i[keep], minlength=n_pre))]), j[keep]


@given(st.integers(1, 30), st.integers(1, 30), st.floats(0.01, 0.9), st.integers(-5, 5), st.integers(0, 2**32))
def test_bernoulli_kernel_agrees_with_its_numpy_twin(n_pre, n_post, p, shift, seed):
    from eventsnn.kernels.connectivity import bernoulli_csr

    counts, indices = bernoulli_csr(n_pre, n_post, p, shift, np.uint64(seed), n_pre * n_post)
    indptr, j = bernoulli_csr_twin(n_pre, n_post, p, shift, seed)
    np.testing.assert_array_equal(np.cumsum(counts), indptr)
    np.testing.assert_array_equal(indices, j)


def test_bernoulli_kernel_gives_the_same_synapses_whatever_its_capacity():
    from eventsnn.kernels.connectivity import bernoulli_csr

    seed = np.uint64(12345)
    counts, indices = bernoulli_csr(40, 30, 0.2, 30, seed, 10_000)
    assert counts.size == 41 and indices.dtype == np.int32
    short, _ = bernoulli_csr(40, 30, 0.2, 30, seed, indices.size - 1)
    assert short.size == 0  # too small: says so instead of dropping synapses
    again, same = bernoulli_csr(40, 30, 0.2, 30, seed, indices.size)
    assert np.array_equal(again, counts) and np.array_equal(same, indices)


@given(st.integers(1, 40), st.integers(1, 40), st.data())
def test_fixed_indegree_gives_each_target_k_distinct_sources(n_pre, n_post, data):
    k = data.draw(st.integers(0, n_pre))
    a, b = esnn.Population(n_pre, esnn.LIF()), esnn.Population(n_post, esnn.LIF())
    i, j, _, _ = esnn.Sparse.fixed_indegree(a, b, k, weight=0.5, seed=data.draw(st.integers(0, 99))).synapses()
    assert np.all(np.bincount(j, minlength=n_post) == k)
    assert len(set(zip(i.tolist(), j.tolist()))) == i.size


def test_from_arrays_keeps_each_synapse():
    a, b = esnn.Population(3, esnn.LIF()), esnn.Population(4, esnn.LIF())
    proj = esnn.Sparse.from_arrays(a, b, [2, 0, 2], [1, 3, 0], weight=[0.1, 0.2, 0.3], delay=[1.0, 0.0, 2.0])
    i, j, w, d = proj.synapses()
    assert sorted(zip(i, j, w, d)) == sorted([(2, 1, 0.1, 1.0), (0, 3, 0.2, 0.0), (2, 0, 0.3, 2.0)])


@given(st.integers(0, 30), st.integers(0, 20), st.floats(0.5, 5.0))
def test_delay_shifts_arrival_by_exactly_that_many_steps(delay_steps, spike_step, weight):
    src = esnn.Population(1, esnn.SpikeGenerator(indices=[0], times=[spike_step * DT]))
    dst = esnn.Population(1, esnn.IF(v_th=1e6, v_reset=0.0))
    proj = esnn.Sparse.from_arrays(src, dst, [0], [0], weight=weight, delay=delay_steps * DT, target="v")
    v = esnn.StateMonitor(dst, "v")
    esnn.Network(src, dst, proj, v, dt=DT).run((spike_step + delay_steps + 3) * DT)
    # Samples are taken at the start of each step: the jump shows from the step after arrival.
    arrival = np.flatnonzero(v.values[:, 0] != 0.0)[0] - 1
    assert arrival == spike_step + delay_steps
    assert v.values[-1, 0] == weight


def test_dense_projection_drives_every_target():
    src = esnn.Population(2, esnn.SpikeGenerator(indices=[1], times=[0.0]))
    dst = esnn.Population(3, esnn.IF(v_th=1e6, v_reset=0.0))
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    v = esnn.StateMonitor(dst, "v")
    esnn.Network(src, dst, esnn.Dense(src, dst, w, target="v"), v, dt=DT).run(0.3)
    np.testing.assert_array_equal(v.values[-1], [4.0, 5.0, 6.0])


@pytest.mark.parametrize("call, name", [
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 1.5, 1.0), "p"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, 1.0, delay=-1.0), "delay"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, float("nan")), "weight"),
    (lambda a, b: esnn.Sparse.fixed_indegree(a, b, 11, 1.0), "k"),
    (lambda a, b: esnn.Sparse.from_arrays(a, b, [0, 1], [0], 1.0), "j"),
    (lambda a, b: esnn.Sparse.from_arrays(a, b, [10], [0], 1.0), "i"),
    (lambda a, b: esnn.Dense(a, b, np.ones((3, 3))), "weights"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, 1.0, target="dopamine"), "target"),
    (lambda a, b: esnn.Sparse.fixed_probability("a", b, 0.1, 1.0), "pre"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, "0.1", 1.0), "p must be a real number, got '0.1'"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, True, 1.0), "p must be a real number, got True"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, "a"), "weight must be a number .*got 'a'"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, None), "weight must be a number .*got None"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, 1.0, target=["exc"]), r"target .*got \['exc'\]"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, a, 0.1, 1.0, autapses="no"), "autapses must be True or False"),
    (lambda a, b: esnn.Sparse.fixed_indegree(a, a, 1, 1.0, autapses=0), "autapses must be True or False"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, 1.0, seed="a"), "seed must be an integer, got 'a'"),
    (lambda a, b: esnn.Sparse.fixed_probability(a, b, 0.1, 1.0, seed=1.5), "seed must be an integer, got 1.5"),
    (lambda a, b: esnn.Sparse.fixed_indegree(a, b, 1, 1.0, seed=-1), "seed must be >= 0, got -1"),
    (lambda a, b: esnn.Sparse.from_arrays(a, b, [0], [1], 1.0, seed=2.0), "seed must be an integer"),
    (lambda a, b: esnn.Dense(a, b, np.ones((10, 10)), delay="a"), "delay must be a number .*got 'a'"),
    (lambda a, b: esnn.Sparse(a, b, [0, 1.5] + [2] * 9, [0, 1], [1.0, 1.0], [0.0, 0.0]), "indptr .*whole .*1.5"),
])
def test_bad_projection_arguments_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call(esnn.Population(10, esnn.LIF()), esnn.Population(10, esnn.LIF()))


def test_a_built_dense_projection_lists_its_synapses():
    import eventsnn as esnn
    a, b = esnn.Population(2, esnn.LIF()), esnn.Population(2, esnn.LIF())
    proj = esnn.Dense(a, b, np.array([[1.0, 2.0], [3.0, 4.0]]))
    esnn.Network(proj).build()
    pre, post, weight, delay = proj.synapses()
    np.testing.assert_array_equal(weight, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(pre, [0, 0, 1, 1])


def test_a_generator_as_seed_is_used_as_it_is():
    a, b = esnn.Population(10, esnn.LIF()), esnn.Population(10, esnn.LIF())
    rng = np.random.default_rng(3)
    first = esnn.Sparse.fixed_probability(a, b, 0.5, 1.0, seed=rng)
    again = esnn.Sparse.fixed_probability(a, b, 0.5, 1.0, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(first.indices, again.indices)
    assert not np.array_equal(esnn.Sparse.fixed_probability(a, b, 0.5, 1.0, seed=rng).indices, first.indices)
