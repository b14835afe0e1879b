"""Independent check: the same 2-layer LIF network in snnTorch gives the same spikes and gradients.

Runs only where torch and snntorch are installed (e.g. the bench venv):
    PYTHONPATH=. /work/venv-bench/bin/python -m pytest tests/test_snntorch_peer.py
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
from snntorch import surrogate as snn_surrogate  # noqa: E402

import eventsnn.autodiff as ad  # noqa: E402
from eventsnn.autodiff import Tensor  # noqa: E402

T, B, N_IN, N_HID, N_OUT = 12, 3, 6, 5, 4
SURROGATES = [(ad.FastSigmoid(5.0), snn_surrogate.fast_sigmoid(slope=5.0)),
              (ad.ATan(2.0), snn_surrogate.atan(alpha=2.0)),
              (ad.Sigmoid(4.0), snn_surrogate.sigmoid(slope=4.0))]


def ours(x, w1, b1, w2, b2, beta, thr, readout, sur, reset):
    params = [Tensor(a, requires_grad=True) for a in (w1, b1, w2, b2, beta, thr)]
    W1, B1, W2, B2, beta_t, thr_t = params
    s1 = ad.lif_sequence(ad.linear(Tensor(x), W1, B1), beta_t, thr_t, sur, reset)
    s2 = ad.lif_sequence(ad.linear(s1, W2, B2), beta_t, thr_t, sur, reset)
    (s2 * readout).sum().backward()
    return s1.data, s2.data, [p.grad for p in params]


def theirs(x, w1, b1, w2, b2, beta, thr, readout, spike_grad, reset):
    fc1, fc2 = torch.nn.Linear(N_IN, N_HID).double(), torch.nn.Linear(N_HID, N_OUT).double()
    with torch.no_grad():  # torch stores W as [out, in]; ours is [in, out]
        fc1.weight.copy_(torch.from_numpy(w1.T)), fc1.bias.copy_(torch.from_numpy(b1))
        fc2.weight.copy_(torch.from_numpy(w2.T)), fc2.bias.copy_(torch.from_numpy(b2))
    beta_t, thr_t = torch.nn.Parameter(torch.tensor(beta)), torch.nn.Parameter(torch.tensor(thr))
    kw = dict(spike_grad=spike_grad, reset_mechanism=reset, learn_beta=True, learn_threshold=True)
    lif1, lif2 = snn.Leaky(beta=beta_t, threshold=thr_t, **kw), snn.Leaky(beta=beta_t, threshold=thr_t, **kw)
    # share one beta / threshold tensor between layers, like ours
    lif1.beta = lif2.beta = beta_t
    lif1.threshold = lif2.threshold = thr_t
    mem1, mem2 = lif1.reset_mem(), lif2.reset_mem()
    s1, s2 = [], []
    xt = torch.from_numpy(x)
    for t in range(T):
        spk1, mem1 = lif1(fc1(xt[t]), mem1)
        spk1 = spk1.double()  # snnTorch emits float32 spikes
        spk2, mem2 = lif2(fc2(spk1), mem2)
        s1.append(spk1), s2.append(spk2)
    s1, s2 = torch.stack(s1), torch.stack(s2)
    (s2 * torch.from_numpy(readout)).sum().backward()
    grads = [fc1.weight.grad.numpy().T, fc1.bias.grad.numpy(), fc2.weight.grad.numpy().T, fc2.bias.grad.numpy(),
             beta_t.grad.numpy(), thr_t.grad.numpy()]
    return s1.detach().numpy(), s2.detach().numpy(), grads


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("sur, spike_grad", SURROGATES)
def test_same_spikes_and_gradients_as_snntorch(sur, spike_grad, reset):
    rng = np.random.default_rng(7)
    x = (rng.random((T, B, N_IN)) < 0.5).astype(np.float64)
    w1, b1 = rng.normal(0.3, 0.6, (N_IN, N_HID)), rng.normal(0, 0.1, N_HID)
    w2, b2 = rng.normal(0.4, 0.6, (N_HID, N_OUT)), rng.normal(0, 0.1, N_OUT)
    readout = rng.standard_normal((T, B, N_OUT))
    args = (x, w1, b1, w2, b2, np.array(0.8), np.array(0.9), readout)
    s1, s2, g_ours = ours(*args, sur, reset)
    t1, t2, g_theirs = theirs(*args, spike_grad, reset)
    assert 0.05 < s1.mean() < 0.95 and s2.sum() > 0  # the test exercises spiking, not silence
    np.testing.assert_array_equal(s1, t1)
    np.testing.assert_array_equal(s2, t2)
    for name, a, b in zip(["w1", "b1", "w2", "b2", "beta", "threshold"], g_ours, g_theirs):
        # snnTorch's spike op returns float32, so gradients crossing a spike are float32-rounded
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
