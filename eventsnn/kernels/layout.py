"""The array layout shared by the models, the NumPy backend and the kernels.

Every neuron of a network is one column of a state matrix ``S`` of shape
``(N_ROWS, n_neurons)``. Each model documents which row holds which of its
variables; a model's parameters reach the backends as one coefficient vector
(precomputed propagators), whose indices are named here.
"""

# Rows of the state matrix.
ROW_V = 0  # membrane potential (mV)
ROW_E = 1  # excitatory synaptic variable: current (mV) or conductance (1, relative to leak)
ROW_I = 2  # inhibitory synaptic variable
ROW_A = 3  # adaptation (ALIF threshold adaptation, Izhikevich recovery u)
ROW_X = 4  # external drive: injected current (mV), or Poisson rate (Hz)
N_ROWS = 5
N_TARGET_ROWS = 3  # projections may drive rows V, E and I

# Model codes (one branch each in the kernels).
CODE_LIF = 0  # current-based LIF family: LIF, IF, ALIF
CODE_COBA = 1  # conductance-based LIF
CODE_IZHIKEVICH = 2
CODE_POISSON = 3
CODE_GENERATOR = 4

# Coefficient vector of CODE_LIF (exact propagators of the linear ODE).
LIF_CV, LIF_C0, LIF_CX, LIF_PE, LIF_PI, LIF_AE, LIF_AI, LIF_AA = range(8)
LIF_VTH, LIF_BETA, LIF_VRESET, LIF_NREF, LIF_SUBTRACT = range(8, 13)

# Coefficient vector of CODE_COBA (exponential Euler for v, exact decay for g).
COBA_DT_TAU, COBA_EL, COBA_EE, COBA_EI, COBA_AE, COBA_AI = range(6)
COBA_VTH, COBA_VRESET, COBA_NREF, COBA_SUBTRACT = range(6, 10)

# Coefficient vector of CODE_IZHIKEVICH (forward Euler, as in Izhikevich 2003).
IZH_DT, IZH_A, IZH_B, IZH_C, IZH_D, IZH_VPEAK, IZH_AE, IZH_AI = range(8)

# Coefficient vector of CODE_POISSON.
POISSON_DT_S = 0

N_COEF = 13
