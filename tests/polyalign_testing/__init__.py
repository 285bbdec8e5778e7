"""Helpers for the test suite and the benchmarks (nothing at run time imports this package): running a real
``llamafactory-cli train`` and reading its logs (``lf``). Test-only factories live under ``tests/``; the tiny
offline models the demo also uses are :mod:`polyalign_lf.core.tiny_models`."""
