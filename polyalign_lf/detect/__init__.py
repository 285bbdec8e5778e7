"""The paper's AI-text detectors (Binoculars, Fast-DetectGPT, RADAR), H and the Joint score.

Torch is imported only by the scoring modules; importing this package stays light.
"""

from polyalign_lf.detect.joint import human_likeness, joint_score

__all__ = ["human_likeness", "joint_score"]
