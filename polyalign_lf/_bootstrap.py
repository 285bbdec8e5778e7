"""Entry point of ``polyalign_lf.pth`` (placeholder until the integration lands)."""


def install() -> None:
    return None
