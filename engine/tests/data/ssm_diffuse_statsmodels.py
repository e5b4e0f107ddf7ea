# Reference values of engine/tests/ssm_diffuse.rs (agrees_with_statsmodels), computed with
# statsmodels 0.15.0 in a virtual environment outside the project:
#   python3 -m venv venv && venv/bin/pip install statsmodels && venv/bin/python ssm_diffuse_statsmodels.py
import numpy as np
from statsmodels.tsa.statespace.kalman_filter import KalmanFilter
from statsmodels.tsa.statespace.initialization import Initialization
np.set_printoptions(precision=17)
rng = np.random.default_rng(42)

def fmt(a):
    return "[" + ", ".join(repr(float(x)) for x in np.ravel(a)) + "]"

# 1. Local linear trend with an input on the level and a missing value, both states diffuse.
T = 12
y = np.round(0.3 * np.arange(T) + rng.uniform(-1, 1, T), 6)
y[1] = np.nan
u = np.round(rng.uniform(-1, 1, T), 6)
kf = KalmanFilter(k_endog=1, k_states=2, k_posdef=2)
kf.bind(y.reshape(1, -1))
kf['design'] = np.array([[1.0, 0.0]])
kf['obs_intercept'] = np.array([[0.1]])
kf['obs_cov'] = np.array([[0.4]])
kf['transition'] = np.array([[1.0, 1.0], [0.0, 1.0]])
kf['selection'] = np.eye(2)
kf['state_cov'] = np.array([[0.3, 0.02], [0.02, 0.05]])
c = np.zeros((2, T))
c[0, :] = 0.05 + 0.4 * u
c[1, :] = -0.02
kf['state_intercept'] = c
kf.initialize(Initialization(2, 'diffuse'))
res = kf.filter()
print("trend y", fmt(y))
print("trend u", fmt(u))
print("trend llf", repr(float(res.llf_obs.sum())), "nobs_diffuse", res.nobs_diffuse)

# 2. Three states: diffuse random walk, stationary AR(1) (known prior), diffuse constant;
#    two series with time-varying design and diagonal noise, one component missing.
T = 6
H = np.round(rng.uniform(-1, 1, (2, 3, T)), 6)
Rd = np.round(rng.uniform(0.2, 0.6, (2, T)), 6)
R = np.zeros((2, 2, T))
R[0, 0, :] = Rd[0]
R[1, 1, :] = Rd[1]
Y = np.round(rng.uniform(-2, 2, (2, T)), 6)
Y[1, 0] = np.nan
kf = KalmanFilter(k_endog=2, k_states=3, k_posdef=3)
kf.bind(np.ascontiguousarray(Y.T))
kf['design'] = H
kf['obs_intercept'] = np.array([[0.1], [-0.1]])
kf['obs_cov'] = R
kf['transition'] = np.diag([1.0, 0.7, 1.0])
kf['selection'] = np.eye(3)
kf['state_cov'] = np.diag([0.2, 0.5, 0.0])
init = Initialization(3)
init.set(0, 'diffuse')
init.set(1, 'known', constant=[0.0], stationary_cov=np.array([[0.5 / 0.51]]))
init.set(2, 'diffuse')
kf.initialize(init)
res = kf.filter()
print("part H (m x n per step, column-major)", fmt(np.concatenate([H[:, :, t].T.ravel() for t in range(T)])))
print("part R diag", fmt(Rd.T.ravel()))
print("part y", fmt(Y.T.ravel()))
print("part llf", repr(float(res.llf_obs.sum())), "nobs_diffuse", res.nobs_diffuse)
