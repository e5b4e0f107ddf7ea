"""Peer of `benches/benches/de.rs` (`ude_epoch/lv_2x32x32x2`): one training epoch of the
Lotka-Volterra UDE in diffrax + equinox + optax (jit, float64), the same workload.

    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
        taskset -c 1 /work/venv-de/bin/python benches/peers/de_lv_ude.py

Prints the compile time (first call) apart from the per-epoch time (the process's mean CPU
time over 30 epochs, and the median and minimum wall time; each epoch from the same
weights and optimiser state, like the Rust benchmark).
"""
import os
import statistics
import time

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import diffrax  # noqa: E402
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

Y0 = jnp.array([0.44249296, 4.6280594])
TS = jnp.arange(31) * 0.1
WINDOW = 10
STARTS = [0, 5, 10, 15, 20]


def lv(t, y, args):
    x, z = y[0], y[1]
    return jnp.stack([1.3 * x - 0.9 * x * z, 0.8 * x * z - 1.8 * z])


truth = diffrax.diffeqsolve(
    diffrax.ODETerm(lv), diffrax.Tsit5(), 0.0, 3.0, None, Y0,
    saveat=diffrax.SaveAt(ts=TS),
    stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12),
    max_steps=100_000,
)
DATA = truth.ys

mlp = eqx.nn.MLP(2, 2, 32, 2, activation=jnp.tanh, key=jax.random.PRNGKey(0))
# The Rust benchmark's weights: w_k = 0.05 sin(1.3 k + 0.2), layer by layer, W row-major
# (out, in) then b.
k = 0
for i, layer in enumerate(mlp.layers):
    nw = layer.weight.size
    w = 0.05 * jnp.sin(1.3 * jnp.arange(k, k + nw) + 0.2)
    b = 0.05 * jnp.sin(1.3 * jnp.arange(k + nw, k + nw + layer.bias.size) + 0.2)
    k += nw + layer.bias.size
    mlp = eqx.tree_at(lambda m: (m.layers[i].weight, m.layers[i].bias), mlp,
                      (w.reshape(layer.weight.shape), b))


def ude(t, y, net):
    return jnp.stack([1.3 * y[0], -1.8 * y[1]]) + net(y)


def window_loss(net, k0):
    tw = jax.lax.dynamic_slice(TS, (k0,), (WINDOW + 1,))
    obs = jax.lax.dynamic_slice(DATA, (k0, 0), (WINDOW + 1, 2))
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(ude), diffrax.Tsit5(), tw[0], tw[-1], None, obs[0], args=net,
        saveat=diffrax.SaveAt(ts=tw[1:]),
        stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-8),
        adjoint=diffrax.RecursiveCheckpointAdjoint(),
        max_steps=100_000,
    )
    return jnp.sum((sol.ys - obs[1:]) ** 2) / (WINDOW * 2)


opt = optax.adam(1e-2)


@eqx.filter_jit
def step(net, state, k0):
    loss, grads = eqx.filter_value_and_grad(window_loss)(net, k0)
    updates, state = opt.update(grads, state, net)
    return eqx.apply_updates(net, updates), state, loss


def epoch(net, state):
    total = 0.0
    for k0 in STARTS:
        net, state, loss = step(net, state, jnp.asarray(k0))
        total += loss
    return jax.block_until_ready(total)


state0 = opt.init(eqx.filter(mlp, eqx.is_array))
t = time.perf_counter()
first = epoch(mlp, state0)
compile_s = time.perf_counter() - t
times = []
cpu0 = time.process_time()
for _ in range(30):
    t = time.perf_counter()
    loss = epoch(mlp, state0)
    times.append(time.perf_counter() - t)
cpu = (time.process_time() - cpu0) / 30
print(f"diffrax+equinox: epoch loss {float(loss) / len(STARTS):.6e}")
print(f"first epoch (compile + run) {compile_s:.2f} s")
print(f"per epoch: CPU mean {1e3 * cpu:.3f} ms (process); wall median "
      f"{1e3 * statistics.median(times):.3f} ms, min {1e3 * min(times):.3f} ms")
