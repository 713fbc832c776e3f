"""``@njit`` kernels for CPUs, one module per family."""
