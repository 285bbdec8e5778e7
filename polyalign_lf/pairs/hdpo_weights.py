"""HDPO per-pair weights, exactly Theorem 5 (paper Appendix G.5).

    r_b = max{0, N / (|B| n_b) − 1},   g_b = r_b / max_b' r_b'  (0 if max r = 0)          scarcity
    h_ℓ = the same normalized inverse frequency over languages                            language rarity
    δ_i = [s_i⁻ − s_i⁺]₊                                                                  critic gap
    ρ_t = pair-type bias: global 0, local 0.5, distribution 1
    w_i = clip(1 + α g_b + β δ_i + γ h_ℓ + η ρ_t, w_min, w_max)

Defaults α, β, γ, η = 0.5, 1.0, 0.25, 0.25 and [w_min, w_max] = [0.5, 3.0]. N, n_b and n_ℓ count the pairs
of the file being weighted (the training pairs).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError
from polyalign_lf.objectives.weighting import bucket_weights
from polyalign_lf.options import check_number, option

GROUP = "HDPO weights (Theorem 5)"

PAIR_TYPE_BIAS: dict[str, float] = {"global": 0.0, "local": 0.5, "distribution": 1.0}


@dataclass(frozen=True)
class WeightConfig:
    """Theorem 5's weight coefficients and clip; the options are named after what they weigh, so that --beta stays
    DPO's β everywhere (the old names still work, with a warning)."""

    alpha: float = option(
        0.5, flag="--scarcity", deprecated=("--alpha",), type=opt.non_negative, group=GROUP,
        help="bucket-scarcity coefficient α (default 0.5)",
    )  # fmt: skip
    beta: float = option(
        1.0, flag="--gap", deprecated=("--beta",), type=opt.non_negative, group=GROUP,
        help="critic-gap coefficient β (default 1.0)",
    )  # fmt: skip
    gamma: float = option(
        0.25, flag="--rarity", deprecated=("--gamma",), type=opt.non_negative, group=GROUP,
        help="language-rarity coefficient γ (default 0.25)",
    )  # fmt: skip
    eta: float = option(
        0.25, flag="--type-bias", deprecated=("--eta",), type=opt.non_negative, group=GROUP,
        help="pair-type coefficient η (default 0.25)",
    )  # fmt: skip
    w_min: float = option(0.5, type=opt.positive, group=GROUP, help="lower clip of the HDPO weight (Theorem 5)")
    w_max: float = option(3.0, type=opt.positive, group=GROUP, help="upper clip of the HDPO weight (Theorem 5)")

    def validate(self) -> WeightConfig:
        from polyalign_lf.objectives.weighting import MAX_WEIGHT

        for name in ("alpha", "beta", "gamma", "eta"):  # the paper's are 0.25 … 1: 1,000 is a mistake
            check_number(f"HDPO weight coefficient {name} (Theorem 5)", getattr(self, name), 0.0, 1e3)
        check_number("w_min", self.w_min, 0.0, MAX_WEIGHT, above=True)
        check_number("w_max", self.w_max, 0.0, MAX_WEIGHT, above=True)
        if not 0 < self.w_min <= self.w_max:
            raise ConfigError(f"HDPO clip bounds need 0 < w_min <= w_max, got [{self.w_min}, {self.w_max}]")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


def normalized_scarcity(keys: Sequence[Hashable]) -> dict[Hashable, float]:
    """{key: g} with r_k = max(0, N/(|K| n_k) − 1) and g_k = r_k / max r (0 when max r = 0)."""
    # r_k = max(0, w_k − 1) with w_k = N / (|K| n_k), Eq. 1's bucket weight: one formula for both.
    raw = {k: max(0.0, w - 1.0) for k, w in bucket_weights(list(keys)).items()}
    if not raw:
        return {}
    top = max(raw.values())
    return {k: (r / top if top > 0 else 0.0) for k, r in raw.items()}


def critic_gap(chosen_scores: np.ndarray, rejected_scores: np.ndarray) -> np.ndarray:
    """δ_i = [s⁻ − s⁺]₊."""
    return np.maximum(np.asarray(rejected_scores, np.float64) - np.asarray(chosen_scores, np.float64), 0.0)


def pair_type_bias(pair_types: Sequence[str]) -> np.ndarray:
    unknown = sorted(set(pair_types) - set(PAIR_TYPE_BIAS))
    if unknown:
        raise ConfigError(f"unknown pair type(s) {unknown}; expected one of {sorted(PAIR_TYPE_BIAS)}")
    return np.array([PAIR_TYPE_BIAS[t] for t in pair_types], dtype=np.float64)


def combine_weight(
    g: np.ndarray, delta: np.ndarray, h: np.ndarray, rho: np.ndarray, cfg: WeightConfig = WeightConfig()
) -> np.ndarray:
    """w̃ = clip(1 + α g + β δ + γ h + η ρ, w_min, w_max) (elementwise)."""
    cfg.validate()
    raw = (
        1.0
        + cfg.alpha * np.asarray(g)
        + cfg.beta * np.asarray(delta)
        + cfg.gamma * np.asarray(h)
        + cfg.eta * np.asarray(rho)
    )
    return np.clip(raw, cfg.w_min, cfg.w_max)


def hdpo_weights(
    bucket_ids: Sequence[str],
    languages: Sequence[str],
    chosen_scores: Sequence[float],
    rejected_scores: Sequence[float],
    pair_types: Sequence[str],
    cfg: WeightConfig = WeightConfig(),
) -> dict[str, np.ndarray]:
    """All Theorem-5 terms and the weight for a set of training pairs."""
    n = len(bucket_ids)
    if not (len(languages) == len(chosen_scores) == len(rejected_scores) == len(pair_types) == n):
        raise ValueError("hdpo_weights: all inputs must have one entry per pair")
    g_map, h_map = normalized_scarcity(bucket_ids), normalized_scarcity(languages)
    g = np.array([g_map[b] for b in bucket_ids], dtype=np.float64)
    h = np.array([h_map[lang] for lang in languages], dtype=np.float64)
    delta = critic_gap(np.asarray(chosen_scores, np.float64), np.asarray(rejected_scores, np.float64))
    rho = pair_type_bias(pair_types)
    return {"g": g, "delta": delta, "h": h, "rho": rho, "weight": combine_weight(g, delta, h, rho, cfg)}
