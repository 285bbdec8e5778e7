"""Helpers for the test suite and the benchmarks only (nothing at run time imports this package): running
a real ``llamafactory-cli train`` and reading its logs (``lf``), schema-valid record factories (``records``).
The tiny offline models the demo also uses live in :mod:`polyalign_lf.core.tiny_models`."""
