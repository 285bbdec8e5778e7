"""The default learned critic: a small MLP over the feature vector plus a bucket embedding.

Inputs per response: the globally standardized features, the bucket-relative deviations
``[l_bj − z_j]₊ / s_bj`` and ``[z_j − u_bj]₊ / s_bj`` (clipped at 20) against the bucket's reference support,
and a learned embedding of the resolved reference bucket. Output: a non-negative score (softplus).
Trained with Theorem 4's loss (:func:`polyalign_lf.critic.train.critic_loss`).

Bundle (self-contained): ``critic_config.json`` (type ``mlp``, hyper-parameters, feature schema and
names), ``bucket_vocab.json``, ``references.json``, ``critic.pt`` (weights + normalization buffers) and
``training_report.json``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import polyalign_lf.options as opt
from polyalign_lf.core.devices import resolve_device
from polyalign_lf.critic.interface import CONFIG_NAME, load_torch_file
from polyalign_lf.critic.support_distance import REFERENCES_NAME, featurize
from polyalign_lf.critic.train import CriticData, collapse_check, critic_loss, evaluate_scores
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import atomic_write, progress, read_json, write_json
from polyalign_lf.options import option
from polyalign_lf.references.build import BucketReferences

UNKNOWN_BUCKET = "__unknown__"


@contextlib.contextmanager
def torch_threads(n: int):
    """Temporarily use ``n`` torch intra-op threads (``n <= 0``: leave the setting alone)."""
    import torch

    previous = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


DEVIATION_CLIP = 20.0


_COEFFICIENT = opt.number(0.0, 1e3)  # Theorem 4's are ~0.1 … 1: beyond 1,000 the loss is one term alone


@dataclass
class MLPCriticConfig:
    """Theorem 4's training settings (the MLP and the encoder head train alike); the ones marked as options are
    `polyalign critic train`'s."""

    hidden_dim: int = 128
    bucket_dim: int = 16
    dropout: float = 0.0
    epochs: int = option(5, type=opt.count, help="passes over the rows (default 5)")
    batch_size: int = option(2048, type=opt.count, help="rows per optimizer step (default 2048)")
    pair_batch_size: int = 1024
    learning_rate: float = option(
        3e-3, type=opt.number(0.0, 1.0, above=True), help="AdamW learning rate (default 0.003)"
    )
    weight_decay: float = 0.0
    kappa: float = option(0.1, type=_COEFFICIENT, help="ranking margin κ (Theorem 4)")
    lambda_reg: float = option(1.0, type=_COEFFICIENT, help="λ_reg (Theorem 4)")
    lambda_rank: float = option(1.0, type=_COEFFICIENT, help="λ_rank (Theorem 4)")
    grad_clip: float = 1.0
    min_steps: int = 300  # small data sets get more epochs so that at least this many optimizer steps run
    # torch intra-op threads while training: the net is tiny, and on a shared CPU more threads mostly spin
    # (measured: 2 threads were 10x slower than 1 under load)
    num_threads: int = option(
        1, flag="--threads", type=opt.non_negative_int, help="torch threads while training the MLP (0 = torch default)"
    )
    seed: int = option(42, type=opt.integer(), help="seed of the split and the init (default 42)")


def _module(n_features: int, n_buckets: int, cfg: MLPCriticConfig):
    import torch
    from torch import nn

    class CriticNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("feature_mean", torch.zeros(n_features))
            self.register_buffer("feature_std", torch.ones(n_features))
            self.bucket_embedding = nn.Embedding(n_buckets, cfg.bucket_dim)
            self.head = nn.Sequential(
                nn.Linear(3 * n_features + cfg.bucket_dim, cfg.hidden_dim),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden_dim, cfg.hidden_dim),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden_dim, 1),
            )

        def forward(self, z, lower, upper, scale, bucket):
            standardized = (z - self.feature_mean) / self.feature_std
            below = torch.clamp((lower - z) / scale, min=0.0, max=DEVIATION_CLIP)
            above = torch.clamp((z - upper) / scale, min=0.0, max=DEVIATION_CLIP)
            x = torch.cat([standardized, below, above, self.bucket_embedding(bucket)], dim=-1)
            return nn.functional.softplus(self.head(x).squeeze(-1))

    return CriticNet()


class MLPCritic:
    def __init__(
        self,
        references: BucketReferences,
        vocab: list[str],
        cfg: MLPCriticConfig,
        net=None,
        device: str | None = None,
        extra_config: dict | None = None,
    ):
        import torch

        self.references = references
        self.vocab = vocab
        self.index = {b: k for k, b in enumerate(vocab)}
        self.cfg = cfg
        self.device = resolve_device(device)
        self.net = (net or _module(len(references.feature_names), len(vocab), cfg)).to(self.device)
        self.extra_config = extra_config or {}
        self.report: dict = {}
        self._torch = torch

    # ------------------------------------------------------------------ inputs and scoring
    def _inputs(self, matrix: np.ndarray, bucket_ids: Sequence[str]):
        torch = self._torch
        keys = [self.references.resolve(b) for b in bucket_ids]
        L, U, S = self.references.support_matrices(bucket_ids)
        z = np.nan_to_num(np.asarray(matrix, np.float64))
        bucket = [self.index.get(k, 0) for k in keys]
        as_t = lambda a: torch.as_tensor(np.asarray(a, np.float32), device=self.device)  # noqa: E731
        return as_t(z), as_t(L), as_t(U), as_t(S), torch.as_tensor(bucket, dtype=torch.long, device=self.device)

    def score_features(self, matrix: np.ndarray, bucket_ids: Sequence[str], batch_size: int = 65536) -> np.ndarray:
        torch = self._torch
        self.net.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(bucket_ids), batch_size):
                sl = slice(start, start + batch_size)
                out.append(self.net(*self._inputs(matrix[sl], list(bucket_ids[sl]))).cpu().numpy())
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def score(self, texts: Sequence[str], bucket_ids: Sequence[str]) -> list[float]:
        texts, bucket_ids = list(texts), list(bucket_ids)
        if not texts:
            return []
        matrix = featurize(texts, bucket_ids, self.references.schema_version, self.extra_config, self.device)
        scores = self.score_features(matrix, bucket_ids)
        # An empty answer lies far outside anything the net was trained on, and an MLP extrapolates freely
        # there (it can score it as perfectly human); its exact support distance D_b — the quantity the net
        # regresses — is known, so use that.
        empty = np.array([not t.strip() for t in texts])
        if empty.any():
            keys = [b for b, e in zip(bucket_ids, empty) if e]
            scores[empty] = self.references.distance(np.nan_to_num(matrix[empty]), keys)
        return scores.tolist()

    # ------------------------------------------------------------------ training
    @classmethod
    def train(
        cls,
        references: BucketReferences,
        data: CriticData,
        cfg: MLPCriticConfig | None = None,
        *,
        device: str | None = None,
        show_progress: bool = False,
        extra_config: dict | None = None,
    ) -> MLPCritic:
        cfg = cfg or MLPCriticConfig()
        with torch_threads(cfg.num_threads):
            return cls._train(
                references, data, cfg, device=device, show_progress=show_progress, extra_config=extra_config
            )

    @classmethod
    def _train(cls, references, data, cfg, *, device, show_progress, extra_config) -> MLPCritic:
        import torch

        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        train_rows = np.flatnonzero(~data.heldout)
        if len(train_rows) == 0:
            raise ConfigError("no training rows (all rows are held out)")
        target_std = float(np.std(data.targets[train_rows]))
        if target_std < 1e-6:
            raise ConfigError(
                f"the critic targets D_b are constant (std {target_std:.1e}): a critic trained on them would collapse. "
                "Add model outputs (predictions or sampled candidates) to the training features."
            )
        vocab = [UNKNOWN_BUCKET] + sorted({references.resolve(b) for b in data.bucket_ids})
        critic = cls(references, vocab, cfg, device=device, extra_config=extra_config)
        net = critic.net
        tm = np.nan_to_num(data.matrix[train_rows].astype(np.float64))
        net.feature_mean.copy_(torch.as_tensor(tm.mean(0), dtype=torch.float32))
        net.feature_std.copy_(torch.as_tensor(np.maximum(tm.std(0), 1e-3), dtype=torch.float32))

        inputs = critic._inputs(data.matrix, data.bucket_ids)  # all rows, indexed below
        targets = torch.as_tensor(data.targets, dtype=torch.float32, device=critic.device)
        pairs = data.pairs(heldout=False)
        t0 = time.time()
        history = fit_theorem4_loss(net, inputs, targets, train_rows, pairs, cfg, rng, critic.device, show_progress)
        scores = critic.score_features(data.matrix, data.bucket_ids)
        critic.report = {
            "train_seconds": round(time.time() - t0, 3),
            "train_rows": int(len(train_rows)),
            "train_pairs": int(len(pairs)),
            "epoch_loss": [round(x, 6) for x in history],
            "train": evaluate_scores(scores, data, heldout=False),
            "heldout": evaluate_scores(scores, data, heldout=True) if data.heldout.any() else None,
            "config": asdict(cfg),
        }
        collapse_check(scores[data.heldout] if data.heldout.sum() >= 2 else scores)
        return critic

    # ------------------------------------------------------------------ bundle
    def save(self, bundle_dir: str | os.PathLike) -> Path:
        torch = self._torch

        bundle = Path(bundle_dir)
        bundle.mkdir(parents=True, exist_ok=True)
        self.references.save(bundle / REFERENCES_NAME)
        write_json(bundle / "bucket_vocab.json", self.vocab)
        with atomic_write(bundle / "critic.pt", "wb") as handle:
            torch.save({k: v.cpu() for k, v in self.net.state_dict().items()}, handle)
        if self.report:
            write_json(bundle / "training_report.json", self.report)
        write_json(
            bundle / CONFIG_NAME,
            {
                "type": "mlp",
                "feature_schema_version": self.references.schema_version,
                "feature_names": self.references.feature_names,
                "n_buckets": len(self.vocab),
                **asdict(self.cfg),
                **{k: v for k, v in self.extra_config.items() if k == "lm_model"},
            },
        )  # written last: a bundle without its config is never mistaken for a complete one
        return bundle

    @classmethod
    def load(cls, bundle_dir: Path, config: dict, device: str | None = None) -> MLPCritic:

        bundle = Path(bundle_dir)
        refs = BucketReferences.load(bundle / REFERENCES_NAME, expected_schema=config.get("feature_schema_version"))
        vocab = read_json(bundle / "bucket_vocab.json")
        fields = MLPCriticConfig.__dataclass_fields__
        cfg = MLPCriticConfig(**{k: v for k, v in config.items() if k in fields})
        critic = cls(
            refs,
            vocab,
            cfg,
            device=resolve_device(device),
            extra_config={k: v for k, v in config.items() if k == "lm_model"},
        )
        state = load_torch_file(bundle / "critic.pt", critic.device)
        try:
            critic.net.load_state_dict(state)
        except (RuntimeError, KeyError) as exc:
            raise InputError(
                f"the weights do not fit the critic described by {CONFIG_NAME} ({str(exc).splitlines()[0]})",
                where=str(bundle / "critic.pt"),
                hint="retrain the critic with `polyalign critic train`",
            ) from None
        critic.net.eval()
        return critic


def fit_theorem4_loss(
    net,
    inputs,
    targets,
    train_rows: np.ndarray,
    pairs: np.ndarray,
    cfg: MLPCriticConfig,
    rng,
    device,
    show_progress: bool = False,
) -> list[float]:
    """Minimize Theorem 4's loss: regression batches over ``train_rows`` plus a cycled batch of ranking pairs
    per step. ``inputs`` is a tuple of tensors indexed by row; ``net(*inputs[rows])`` gives scores."""
    import torch

    opt = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, int(np.ceil(len(train_rows) / cfg.batch_size)))
    n_epochs = max(cfg.epochs, int(np.ceil(cfg.min_steps / steps_per_epoch)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.learning_rate, total_steps=n_epochs * steps_per_epoch)
    epochs = range(n_epochs)
    if show_progress:
        epochs = progress(epochs, desc="critic epochs", unit="epoch")
    history = []
    for _epoch in epochs:
        net.train()
        order = rng.permutation(train_rows)
        pair_order = rng.permutation(len(pairs)) if len(pairs) else np.zeros(0, dtype=np.int64)
        total = 0.0
        for step in range(steps_per_epoch):
            rows = torch.as_tensor(order[step * cfg.batch_size : (step + 1) * cfg.batch_size], device=device)
            pred = net(*(t[rows] for t in inputs))
            if len(pairs):
                start = (step * cfg.pair_batch_size) % len(pairs)
                chunk = pairs[pair_order[start : start + cfg.pair_batch_size]]
                both = torch.as_tensor(chunk.reshape(-1), device=device)
                pair_pred = net(*(t[both] for t in inputs)).view(-1, 2)
                chosen, rejected = pair_pred[:, 0], pair_pred[:, 1]
            else:
                chosen = rejected = pred.new_zeros(0)
            loss = critic_loss(
                pred,
                targets[rows],
                chosen,
                rejected,
                kappa=cfg.kappa,
                lambda_reg=cfg.lambda_reg,
                lambda_rank=cfg.lambda_rank,
            )
            opt.zero_grad()
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            total += loss.item()
        history.append(total / steps_per_epoch)
    return history
