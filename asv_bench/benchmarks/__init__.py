"""numbagrad's asv benchmarks, with PyTorch and JAX as optional peers in the same suite."""
