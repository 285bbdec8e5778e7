"""Critic training data, Theorem 4's loss, and held-out evaluation.

Training set (fixes the reference's collapsed critic): the responses are human answers **and**
model outputs for the same prompts, each with its target D_b(z) (Eq. 4) against the train references, so
the regression targets vary. Ranking pairs are formed inside each prompt: among its responses, the one
with the smaller D_b is y⁺ and the other y⁻ (pairs whose targets differ by ≤ ``tie_tolerance`` are
skipped). A deterministic hash of the record id puts whole prompts in the held-out set.

Loss (Theorem 4):  λ_reg · mean|D̂ − D| + λ_rank · mean [κ − D̂(y⁻) + D̂(y⁺)]₊
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from polyalign_lf.errors import ConfigError, InputError

DEFAULT_TIE_TOLERANCE = 0.05
"""Pairs whose targets D_b differ by at most this much are ties (no ranking signal): 0.05 is 5% of one
feature's support width averaged over the features."""


def critic_loss(
    pred, target, pred_chosen, pred_rejected, *, kappa: float = 0.1, lambda_reg: float = 1.0, lambda_rank: float = 1.0
):
    """Theorem 4's critic loss (torch tensors). An empty pair batch contributes 0 to the ranking term."""
    import torch

    reg = (pred - target).abs().mean() if pred.numel() else pred.new_zeros(())
    rank = torch.relu(kappa - pred_rejected + pred_chosen).mean() if pred_chosen.numel() else pred.new_zeros(())
    return lambda_reg * reg + lambda_rank * rank


def heldout_mask(ids: Sequence[str], fraction: float, seed: int = 0) -> np.ndarray:
    """Deterministic held-out membership by hashing the record id (all responses of a prompt go together)."""
    if not 0 <= fraction < 1:
        raise ConfigError("held-out fraction must be in [0, 1)")
    cut = int(fraction * 2**32)
    return np.array(
        [int.from_bytes(hashlib.sha1(f"{seed}:{i}".encode()).digest()[:4], "big") < cut for i in ids], dtype=bool
    )


def ranking_pairs(
    group_ids: Sequence[str],
    targets: np.ndarray,
    tie_tolerance: float = DEFAULT_TIE_TOLERANCE,
    max_per_group: int = 16,
) -> np.ndarray:
    """Index pairs ``[[chosen, rejected], ...]`` within each group, chosen = smaller target D_b."""
    groups: dict[str, list[int]] = {}
    for k, g in enumerate(group_ids):
        groups.setdefault(g, []).append(k)
    pairs: list[tuple[int, int]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        count = 0
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                if abs(targets[a] - targets[b]) <= tie_tolerance:
                    continue
                pairs.append((a, b) if targets[a] < targets[b] else (b, a))
                count += 1
                if count >= max_per_group:
                    break
            if count >= max_per_group:
                break
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def ranking_accuracy(scores: np.ndarray, pairs: np.ndarray) -> float:
    """Share of pairs whose chosen response scores strictly lower (closer) than the rejected one."""
    if len(pairs) == 0:
        return float("nan")
    return float(np.mean(scores[pairs[:, 0]] < scores[pairs[:, 1]]))


def collapse_check(scores: np.ndarray, min_std: float = 1e-4) -> None:
    """Refuse a near-constant critic (the reference's sample run scored every response 0.0313)."""
    std = float(np.std(scores)) if len(scores) else 0.0
    if std < min_std:
        raise ConfigError(
            f"the critic collapsed: its held-out scores are near-constant (std {std:.2e} < {min_std:g}); refusing to save it. "
            "Train on human answers AND model outputs (more --features files) so the targets vary, "
            "or train longer / with a higher learning rate."
        )


@dataclass
class CriticData:
    """Rows of all responses used to train/evaluate a critic."""

    matrix: np.ndarray  # [n, d] features
    bucket_ids: list[str]
    group_ids: list[str]  # record id (prompt) of each response
    targets: np.ndarray  # D_b(z)
    heldout: np.ndarray  # bool [n]
    texts: list[str] | None = None

    def pairs(self, heldout: bool, tie_tolerance: float | None = None) -> np.ndarray:
        idx = np.flatnonzero(self.heldout == heldout)
        local = ranking_pairs(
            [self.group_ids[i] for i in idx],
            self.targets[idx],
            DEFAULT_TIE_TOLERANCE if tie_tolerance is None else tie_tolerance,
        )
        return idx[local] if len(local) else local


def evaluate_scores(scores: np.ndarray, data: CriticData, heldout: bool = True) -> dict:
    """Spearman with D_b and chosen-vs-rejected ranking accuracy on the (held-out) rows."""
    mask = data.heldout == heldout
    pairs = data.pairs(heldout)
    return {
        "rows": int(mask.sum()),
        "pairs": int(len(pairs)),
        "spearman_with_target": spearman(scores[mask], data.targets[mask]),
        "ranking_accuracy": ranking_accuracy(scores, pairs),
        "score_mean": float(np.mean(scores[mask])) if mask.any() else float("nan"),
        "score_std": float(np.std(scores[mask])) if mask.any() else float("nan"),
        "target_std": float(np.std(data.targets[mask])) if mask.any() else float("nan"),
    }


def critic_data_from_tables(
    tables, references, *, split: str | None = "train", heldout_fraction: float = 0.1, seed: int = 0
) -> CriticData:
    """Stack feature tables (human answers, predictions, candidates …) into :class:`CriticData`.

    Rows of ``split`` only (None = all); targets are D_b against ``references``; held-out by record id.
    """

    mats, buckets, groups = [], [], []
    for table in tables:
        if table.feature_names != references.feature_names or table.schema_version != references.schema_version:
            raise InputError(
                f"feature table ({table.source}) uses schema {table.schema_version!r} with {len(table.feature_names)} "
                f"features; the references use {references.schema_version!r} with {len(references.feature_names)}",
                hint="extract all features with the same polyalign version and options",
            )
        keep = np.array([split is None or s == split for s in table.splits], dtype=bool)
        mats.append(table.matrix[keep])
        buckets += [b for b, k in zip(table.bucket_ids, keep) if k]
        groups += [i for i, k in zip(table.ids, keep) if k]
    if not groups:
        raise InputError(f"no rows of split {split!r} in the given feature files")
    matrix = np.concatenate(mats, axis=0)
    targets = references.distance(matrix, buckets)
    return CriticData(matrix, buckets, groups, targets, heldout_mask(groups, heldout_fraction, seed))


def encoder_training_texts(
    records_path: str, split: str, prediction_paths: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """The encoder critic's training texts: the split's human answers, then every predictions file's answers to
    the same records, with their bucket ids and groups (the record id: a record's answers never straddle the
    held-out split)."""
    from polyalign_lf.core.predictions import read_predictions
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.errors import ConfigError

    records = [r for r in read_records(records_path) if r["split"] == split]
    if not records:
        raise ConfigError(f"no records of split {split!r} in {records_path}")
    texts = [r["human_answer"] for r in records]
    buckets = [r["bucket_id"] for r in records]
    groups = [r["id"] for r in records]
    for path in prediction_paths:
        predictions = read_predictions(path, [r["id"] for r in records])
        texts += [predictions[r["id"]] for r in records]
        buckets += [r["bucket_id"] for r in records]
        groups += [r["id"] for r in records]
    return texts, buckets, groups
