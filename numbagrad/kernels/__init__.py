"""Numba kernels: functions over arrays and scalars, no Python objects.

``kernels.cpu`` holds the ``@njit`` kernels; ``kernels.cuda`` their
``@cuda.jit`` twins under the same names. ``kernels.signatures`` declares the
typed contracts that let compiled code call any kernel, a plugin's included.
"""
