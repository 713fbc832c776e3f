"""NumPy transcriptions of the tensor-wise optimizers' documented updates (PyTorch's algorithms).

Each function takes one tensor's parameter, gradient and state as NumPy
arrays, the step number and the hyperparameters, and returns the new
parameter and state; the arithmetic is in the parameter's dtype, as
PyTorch's single-tensor implementations compute it.
"""

from __future__ import annotations

import numpy as np


def lerp(start, end, weight):
    """``torch.lerp`` with a scalar weight, in the arrays' dtype."""
    T = start.dtype.type
    w = T(weight)
    if abs(weight) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (T(1.0) - w)


def adafactor(p, g, state, step, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False):
    """``torch.optim.Adafactor``: ``state`` holds row_var and col_var (matrices) or variance (vectors)."""
    T = p.dtype.type
    eps1 = np.finfo(p.dtype).eps if eps[0] is None else eps[0]
    g = -g if maximize else g
    beta2_t = float(step) ** beta2_decay
    rho_t = min(lr, 1.0 / step**0.5)
    alpha = max(eps[1], float(T(np.sqrt(np.sum(p.astype(np.float64) ** 2)))) / p.size**0.5) * rho_t
    p = p * T(1.0 - lr * weight_decay) if weight_decay else p.copy()
    state = {k: v.copy() for k, v in state.items()}
    if g.ndim > 1:
        squares = g.astype(np.float64) ** 2
        row_mean = np.sqrt(squares.sum(axis=-1, keepdims=True)).astype(p.dtype)
        col_mean = np.sqrt(squares.sum(axis=-2, keepdims=True)).astype(p.dtype)
        state["row_var"] = lerp(state["row_var"], row_mean * row_mean / T(g.shape[-1]), beta2_t)
        state["col_var"] = lerp(state["col_var"], col_mean * col_mean / T(g.shape[-2]), beta2_t)
        scale = np.maximum((state["row_var"].astype(np.float64).sum(axis=-2, keepdims=True) / g.shape[-2]).astype(p.dtype), T(eps1))
        estimate = state["row_var"] * state["col_var"] / scale
    else:
        state["variance"] = lerp(state["variance"], g * g, beta2_t)
        estimate = state["variance"].copy()
    update = T(1.0) / np.sqrt(np.maximum(estimate, T(eps1 * eps1))) * g
    denom = max(1.0, float(T(np.sqrt(np.sum(update.astype(np.float64) ** 2)))) / (update.size**0.5 * d))
    return p + T(-alpha / denom) * update, state


def adafactor_state(p):
    if p.ndim > 1:
        return {"row_var": np.zeros(p.shape[:-1] + (1,), p.dtype), "col_var": np.zeros(p.shape[:-2] + (1, p.shape[-1]), p.dtype)}
    return {"variance": np.zeros_like(p)}


def newton_schulz(m, coefficients, steps, eps):
    """``torch.optim._muon._zeropower_via_newtonschulz`` without its cast to bfloat16."""
    T = m.dtype.type
    a, b, c = (T(x) for x in coefficients)
    x = m.T.copy() if m.shape[0] > m.shape[1] else m.copy()
    x = x / max(T(np.sqrt(np.sum(x.astype(np.float64) ** 2))), T(eps))
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T.copy() if m.shape[0] > m.shape[1] else x


def muon(p, g, state, step, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=(3.4445, -4.7750, 2.0315),
         eps=1e-7, ns_steps=5, adjust_lr_fn=None, matrix_layout="out_in"):
    """``torch.optim.Muon`` (its Newton-Schulz iteration in the parameter's dtype)."""
    T = p.dtype.type
    buf = lerp(state["momentum_buffer"], g, 1.0 - momentum)
    update = lerp(g, buf, momentum) if nesterov else buf
    ortho = newton_schulz(update, ns_coefficients, ns_steps, eps)
    rows, cols = p.shape if matrix_layout == "out_in" else p.shape[::-1]
    ratio = 0.2 * np.sqrt(max(rows, cols)) if adjust_lr_fn == "match_rms_adamw" else np.sqrt(max(1.0, rows / cols))
    p = p * T(1.0 - lr * weight_decay)
    return p + T(-(lr * ratio)) * ortho, {"momentum_buffer": buf}


def muon_state(p):
    return {"momentum_buffer": np.zeros_like(p)}
