"""polyalign-lf: PolyAlign (conditional human-distribution alignment) as a LLaMA-Factory plugin.

Pipeline stages, one subpackage each, data flowing one way:
data → features → references → critic → pairs → integration (LLaMA-Factory) → inference → metrics → report.
Only :mod:`polyalign_lf.integration` touches LLaMA-Factory internals.
"""

__version__ = "0.1.0"


def activate() -> None:
    """Install the LLaMA-Factory hook by hand (for ``python -S``, embedded or frozen interpreters,
    where the shipped ``polyalign_lf.pth`` is not processed)."""
    from polyalign_lf import _bootstrap

    _bootstrap.install()
