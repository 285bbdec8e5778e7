"""Bucket-SFT and HDPO trainers: thin subclasses of LLaMA-Factory's, loss math in :mod:`polyalign_lf.objectives`.

How a step's loss is formed (one place, :meth:`StepWeightMixin._pa_reduce`): ``model_accepts_loss_kwargs``
is False, so the HF Trainer divides every micro-batch loss by the number of micro-batches of the step;
:meth:`StepWeightMixin.get_batch_samples` counts the examples m_step and sums the weights of ALL
micro-batches of the coming optimizer step and all-reduces both over ranks; each micro-batch then returns
Σ_mb c_i x_i · (n_micro · world) with c_i from :func:`~polyalign_lf.objectives.weighting.step_coefficients`.
After the Trainer's division and DDP's gradient averaging, gradient and logged loss are exactly those of
Σ_{i∈step} c_i x_i: with the default ``weight_normalization: dataset``, Σ_step w x / (m_step · w̄), an
unbiased estimate of the dataset objective Σ w x / Σ w. Under ``bucket_sampling`` the sampler applies the
weights and the loss is the plain example mean.

Setting ``POLYALIGN_LOG_COEFFICIENTS=<prefix>`` writes every training micro-batch's coefficients, bucket
and row indices to ``<prefix>.rank<r>.jsonl`` (what the tests check epoch masses and sampling against).
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.integration.lf_v0.columns import BATCH_KEYS, STALE_CACHE_HINT

_CLASSES: dict[str, type] = {}
COEFFICIENT_LOG_ENV = "POLYALIGN_LOG_COEFFICIENTS"


def _pop_batch_extras(inputs: dict[str, Any]) -> dict[str, Any] | None:
    if "pa_weight" not in inputs:
        return None
    return {key: inputs.pop(key) for key in BATCH_KEYS if key in inputs}


def _check_dataset_columns(dataset: Any) -> None:
    names = getattr(dataset, "column_names", None)
    if isinstance(names, dict):  # DatasetDict
        names = next(iter(names.values()), [])
    if names is not None and not set(BATCH_KEYS) <= set(names):
        raise ConfigError(STALE_CACHE_HINT)


def _training_buckets(dataset: Any) -> list[int]:
    if dataset is None or "pa_bucket" not in (getattr(dataset, "column_names", None) or []):
        return []
    return [int(b) for b in dataset["pa_bucket"]]


def _training_weights(dataset: Any) -> list[float] | None:
    if dataset is None or "pa_weight" not in (getattr(dataset, "column_names", None) or []):
        return None
    return [float(w) for w in dataset["pa_weight"]]


def _sampler_epoch_callback_class():
    """A Trainer callback that tells the bucket sampler which epoch begins.

    The Trainer's ``set_epoch`` reaches the sampler through accelerate's dataloader, except after a resume in
    the middle of an epoch on 2+ ranks: ``skip_first_batches`` wraps the sharded batch sampler once more and
    ``set_epoch`` stops one level short, so the resumed epoch would replay epoch 0's draws. The epoch is
    read from the Trainer state instead (``state.epoch`` is e + the fraction done, restored on resume).
    """
    if "sampler_epoch" in _CLASSES:
        return _CLASSES["sampler_epoch"]
    from transformers import TrainerCallback

    class SamplerEpochCallback(TrainerCallback):
        def __init__(self, sampler):
            self.sampler = sampler

        def on_epoch_begin(self, args, state, control, **kwargs):
            self.sampler.set_epoch(int(math.floor((state.epoch or 0.0) + 1e-9)))

    _CLASSES["sampler_epoch"] = SamplerEpochCallback
    return SamplerEpochCallback


class StepWeightMixin:
    """The step estimator and balanced sampling shared by the Bucket-SFT and HDPO trainers."""

    _pa_stage = "sft"  # which PolyAlign stage the trainer runs (its model card names it)

    def create_model_card(self, *args, **kwargs):
        """``push_to_hub`` writes the card here before the upload: add the PolyAlign tags and settings."""
        from polyalign_lf.integration.model_card import add_to_model_card, card_settings

        settings = card_settings(self._pa_stage, self.finetuning_args)
        tags = kwargs.get("tags") or []
        kwargs["tags"] = [*([tags] if isinstance(tags, str) else tags), "polyalign", settings["method"]]
        result = super().create_model_card(*args, **kwargs)
        if self.is_world_process_zero():
            add_to_model_card(os.path.join(self.args.output_dir, "README.md"), settings)
        return result

    def _pa_setup(self, pa_args: Any) -> None:
        self.pa_args = pa_args
        self.model_accepts_loss_kwargs = False  # the Trainer divides by the micro-batch count; see module doc
        self._pa_step: tuple[Any, Any, int, int] | None = None
        self._pa_eval_extras: dict[str, Any] | None = None
        for dataset in (getattr(self, "train_dataset", None), getattr(self, "eval_dataset", None)):
            if dataset is not None:
                if isinstance(dataset, dict):
                    for part in dataset.values():
                        _check_dataset_columns(part)
                else:
                    _check_dataset_columns(dataset)
        weights = _training_weights(getattr(self, "train_dataset", None))
        self._pa_train_weights = weights
        # w̄ of the training set as it trains (after LLaMA-Factory's filtering); 1 when the sampler applies w.
        self._pa_mean_weight = 1.0
        if weights and not pa_args.bucket_sampling:
            self._pa_mean_weight = math.fsum(weights) / len(weights)
        # Bucket mass before and after gradient clipping (row 0 / row 1; column b+1 is bucket b, column 0
        # rows without a bucket), accumulated per optimizer step on this rank and summed at the end of training.
        buckets = _training_buckets(getattr(self, "train_dataset", None))
        self._pa_mass = [[0.0] * (max(buckets, default=-1) + 2) for _ in range(2)]
        self._pa_step_mass: Any = None
        self._pa_step_heavy = 0.0
        self._pa_clipping = {"steps": 0, "clipped_steps": 0, "clipped_weighted_steps": 0, "unknown_norm_steps": 0}
        self._pa_eval_rows: list[Any] = []
        self._pa_log_path = None
        prefix = os.environ.get(COEFFICIENT_LOG_ENV)
        if prefix:
            self._pa_log_path = f"{prefix}.rank{self.args.process_index}.jsonl"
            if os.path.exists(self._pa_log_path):
                os.remove(self._pa_log_path)  # one run per log: never append to an earlier run's rows
        if weights and self.args.should_log:
            mode = (
                "bucket_sampling (draws ∝ weight, unweighted mean)"
                if pa_args.bucket_sampling
                else f"weight_normalization={pa_args.weight_normalization}"
            )
            sys.stderr.write(
                f"polyalign-lf: {mode}; {len(weights)} training examples, mean weight "
                f"{math.fsum(weights) / len(weights):.6g}, max {max(weights):.6g}\n"
            )

    def _get_train_sampler(self, *args, **kwargs):
        if not self.pa_args.bucket_sampling:
            return super()._get_train_sampler(*args, **kwargs)
        from polyalign_lf.objectives.sampling import BucketBalancedSampler

        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        sampler = BucketBalancedSampler(self._pa_train_weights, seed=seed)
        callback = _sampler_epoch_callback_class()
        self.pop_callback(callback)  # a sampler built again (e.g. auto_find_batch_size) replaces the old one
        self.add_callback(callback(sampler))
        return sampler

    def _pa_effective_weights(self, batch: dict[str, Any]):
        """Weights that enter the step sum (Bucket-SFT zeroes examples without any label token)."""
        return batch["pa_weight"].double()

    def get_batch_samples(self, *args, **kwargs):
        import torch

        batch_samples, num_items_in_batch = super().get_batch_samples(*args, **kwargs)
        # (m_step, Σ_step w, examples weighted above the training set's mean weight)
        local = torch.zeros(3, dtype=torch.float64, device=self.args.device)
        step_weights = []
        for batch in batch_samples:
            if "pa_weight" not in batch:
                raise ConfigError(STALE_CACHE_HINT)
            weights = self._pa_effective_weights(batch).to(local.device)
            if self.pa_args.bucket_sampling:
                weights = weights.gt(0).double()
            step_weights.append((weights, batch["pa_bucket"].to(local.device)))
            local[0] += weights.numel()
            local[1] += weights.sum()
            local[2] += weights.gt(self._pa_mean_weight * (1 + 1e-9)).sum()
        world = self.accelerator.num_processes
        total = self.accelerator.reduce(local, "sum") if world > 1 else local
        self._pa_step = (total[0], total[1], max(len(batch_samples), 1), world)
        self._pa_step_heavy = float(total[2])
        self._pa_step_mass = self._pa_bucket_masses(step_weights)
        return batch_samples, num_items_in_batch

    def _pa_bucket_masses(self, step_weights):
        """This rank's mass m_step · c_i of the coming step, summed per bucket (column b+1; 0 = no bucket)."""
        import torch

        from polyalign_lf.objectives.weighting import step_coefficients

        count, weight_sum, num_micro, world = self._pa_step
        normalization = "dataset" if self.pa_args.bucket_sampling else self.pa_args.weight_normalization
        mass = torch.zeros(len(self._pa_mass[0]), dtype=torch.float64)
        for weights, buckets in step_weights:
            coefficients = step_coefficients(
                weights,
                normalization,
                step_count=count,
                mean_weight=self._pa_mean_weight,
                step_weight_sum=weight_sum,
                num_micro_batches=num_micro,
                world_size=world,
            )
            index = (buckets.long() + 1).clamp(0, len(mass) - 1).cpu()
            mass.index_add_(0, index, (coefficients * count).cpu())
        return mass

    def _clip_grad_norm(self, model):
        """The Trainer's clipping, plus the record of how much of this step's bucket mass it removed."""
        norm = super()._clip_grad_norm(model)
        self._pa_record_clipping(norm)
        return norm

    def _pa_record_clipping(self, norm) -> None:
        if self._pa_step_mass is None:
            return
        mass, self._pa_step_mass = self._pa_step_mass, None
        record = self._pa_clipping
        record["steps"] += 1
        factor = 1.0
        if norm is None:
            record["unknown_norm_steps"] += 1  # e.g. DeepSpeed clips inside its engine
        else:
            value = float(norm)
            max_norm = float(self.args.max_grad_norm)
            if math.isfinite(value) and value > max_norm > 0:
                factor = max_norm / value
                record["clipped_steps"] += 1
                if self._pa_step_heavy > 0:
                    record["clipped_weighted_steps"] += 1
        for k, value in enumerate(mass.tolist()):
            self._pa_mass[0][k] += value
            self._pa_mass[1][k] += factor * value

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs:  # a training log: how often clipping hit a weighted step
            logs["pa/clipped_weighted_steps"] = self._pa_clipping["clipped_weighted_steps"]
        return super().log(logs, *args, **kwargs)

    def train(self, *args, **kwargs):
        result = super().train(*args, **kwargs)
        self._pa_mass_summary()
        return result

    def _pa_mass_summary(self) -> None:
        """How much bucket mass clipping removed over the run: stderr and ``polyalign_mass.json``."""
        import torch

        from polyalign_lf.objectives.weighting import clipping_summary

        if not self._pa_clipping["steps"]:
            return
        masses = torch.tensor(self._pa_mass, dtype=torch.float64, device=self.args.device)
        if self.accelerator.num_processes > 1:
            masses = self.accelerator.reduce(masses, "sum")
        masses = masses.cpu().tolist()
        context = getattr(self.finetuning_args, "polyalign_context", None)
        names = {index: name for name, index in getattr(context, "bucket_index", {}).items()}
        labels = ["(no bucket)"] + [names.get(k, f"bucket {k}") for k in range(len(masses[0]) - 1)]
        summary = clipping_summary(dict(zip(labels, masses[0])), dict(zip(labels, masses[1])))
        record = self._pa_clipping
        summary.update(record, max_grad_norm=float(self.args.max_grad_norm))
        summary["message"] = (
            f"max_grad_norm {self.args.max_grad_norm} clipped {record['clipped_steps']} of {record['steps']} "
            f"optimizer steps ({record['clipped_weighted_steps']} of them held an example weighted above the mean); "
            + summary["message"]
            + (
                f"; {record['unknown_norm_steps']} step(s) reported no gradient norm"
                if record["unknown_norm_steps"]
                else ""
            )
        )
        if self.args.should_save and self.args.output_dir:
            from polyalign_lf.io import write_json

            os.makedirs(self.args.output_dir, exist_ok=True)
            write_json(os.path.join(self.args.output_dir, "polyalign_mass.json"), summary)
        if self.args.should_log:
            sys.stderr.write("polyalign-lf: " + summary["message"] + "\n")

    def _pa_reduce(self, values, weights, training: bool, extras: dict[str, Any] | None = None):
        """THE reduction: the step estimator while training (module doc), else the micro-batch's weighted mean
        (evaluation reports Σw x/Σw per batch)."""
        import torch

        from polyalign_lf.objectives.weighting import step_coefficients, trainer_share, weighted_mean

        if not training:
            if extras is not None and "pa_index" in extras:
                with torch.no_grad():
                    self._pa_eval_rows.append(
                        torch.stack(
                            [
                                extras["pa_index"].to(values.device, torch.float64),
                                weights.to(torch.float64) * values.detach().to(torch.float64),
                                extras["pa_weight"].to(values.device, torch.float64),
                                values.detach().to(torch.float64),
                            ],
                            dim=1,
                        )
                    )
            return weighted_mean(values, weights.to(values.dtype))
        if self._pa_step is None:
            raise RuntimeError("polyalign-lf: step totals missing (get_batch_samples was not called)")
        count, weight_sum, num_micro, world = self._pa_step
        normalization = self.pa_args.weight_normalization
        if self.pa_args.bucket_sampling:  # the sampler applied the weights: plain mean over the step
            weights, normalization = weights.gt(0).to(weights.dtype), "dataset"
        coefficients = step_coefficients(
            weights,
            normalization,
            step_count=count.to(weights.device),
            mean_weight=self._pa_mean_weight,
            step_weight_sum=weight_sum.to(weights.device),
            num_micro_batches=num_micro,
            world_size=world,
        )
        if self._pa_log_path and extras is not None:
            with torch.no_grad():
                self._pa_log_coefficients(extras, coefficients, float(count))
        return trainer_share(values, coefficients.to(values.device), num_micro, world)

    def evaluation_loop(self, *args, **kwargs):
        """The Trainer's loop, with ``<prefix>_loss`` replaced by the training objective on the evaluation set.

        The Trainer averages per-batch losses (each repeated ``eval_batch_size`` times), so a weighted mean per
        batch cancels the weights at batch size 1 and depends on the batch size otherwise. Every example's
        (w_i ℓ_i, w_i, ℓ_i) is collected instead, gathered from all ranks, de-duplicated by row (distributed
        evaluation repeats rows to even out the last batch) and reduced once: ``<prefix>_loss`` = Σ w ℓ / (n · w̄)
        = Σ w ℓ / Σ w (the dataset estimator; w̄ the evaluation set's mean weight), ``<prefix>_plain_loss`` =
        the unweighted per-example mean.
        """
        import numpy as np
        import torch

        self._pa_eval_rows = []
        output = super().evaluation_loop(*args, **kwargs)
        prefix = kwargs.get("metric_key_prefix", args[4] if len(args) > 4 else "eval")
        rows = torch.cat(self._pa_eval_rows) if self._pa_eval_rows else torch.zeros((0, 4), dtype=torch.float64)
        self._pa_eval_rows = []
        rows = rows.to(self.args.device)
        if self.accelerator.num_processes > 1:
            rows = self.accelerator.gather(self.accelerator.pad_across_processes(rows, dim=0, pad_index=-1))
        rows = rows.cpu().numpy()
        rows = rows[rows[:, 0] >= 0]
        if len(rows):
            rows = rows[np.unique(rows[:, 0], return_index=True)[1]]
            total_weight = rows[:, 2].sum()
            if total_weight > 0:
                output.metrics[f"{prefix}_loss"] = float(rows[:, 1].sum() / total_weight)
            output.metrics[f"{prefix}_plain_loss"] = float(rows[:, 3].mean())
        return output

    def _pa_log_coefficients(self, extras: dict[str, Any], coefficients, step_count: float) -> None:
        row = {
            "step": int(self.state.global_step) + 1,
            "rank": int(self.args.process_index),
            "m_step": step_count,
            "index": extras["pa_index"].tolist(),
            "bucket": extras["pa_bucket"].tolist(),
            "weight": extras["pa_weight"].double().tolist(),
            "coefficient": coefficients.double().tolist(),
        }
        with open(self._pa_log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")


def bucket_sft_trainer_class():
    if "sft" in _CLASSES:
        return _CLASSES["sft"]
    from llamafactory.train.sft.trainer import CustomSeq2SeqTrainer

    class BucketSFTTrainer(StepWeightMixin, CustomSeq2SeqTrainer):
        """LLaMA-Factory's SFT trainer with the Bucket-SFT loss Σ w_i ℓ_i / Σ w_i (Eq. 1, Theorem 1)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pa_setup(self.finetuning_args.polyalign_args)

        def _pa_effective_weights(self, batch):
            labels = batch["labels"]
            has_tokens = labels[:, 1:].ne(-100).any(-1)
            return batch["pa_weight"].double() * has_tokens.to(batch["pa_weight"].device).double()

        def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
            from polyalign_lf.objectives.losses import token_mean_losses

            extras = _pop_batch_extras(inputs) or self._pa_eval_extras
            if extras is None:
                raise ConfigError(STALE_CACHE_HINT)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
            losses, counts = token_mean_losses(logits, labels)
            weights = extras["pa_weight"].to(losses.device, losses.dtype) * counts.gt(0).to(losses.dtype)
            loss = self._pa_reduce(losses, weights, training=model.training, extras=extras)
            return (loss, outputs) if return_outputs else loss

        def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None, **gen_kwargs):
            self._pa_eval_extras = _pop_batch_extras(inputs)
            try:
                return super().prediction_step(
                    model, inputs, prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs
                )
            finally:
                self._pa_eval_extras = None

    _CLASSES["sft"] = BucketSFTTrainer
    return BucketSFTTrainer


HDPO_METRICS = ("weight_mean", "score_gap", "regularizer", "accuracy", "dpo_loss", "probability", "regularizer_active")


def hdpo_trainer_class():
    if "hdpo" in _CLASSES:
        return _CLASSES["hdpo"]
    from llamafactory.train.dpo.trainer import CustomDPOTrainer

    class HDPOTrainer(StepWeightMixin, CustomDPOTrainer):
        """LLaMA-Factory's DPO trainer with the HDPO loss Σ w_i (ℓ_i + λ R_i) / Σ w_i (Eqs. 6–10).

        The sigmoid DPO term is computed here (not with trl's ``dpo_loss``, whose signature drifted between
        trl versions), from LLaMA-Factory's own summed log-probs of policy and reference.
        """

        _pa_stage = "hdpo"

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pa_setup(self.finetuning_args.polyalign_args)

        def get_batch_loss_metrics(self, model, batch, train_eval="train"):
            import torch

            from polyalign_lf.objectives.losses import hdpo_losses, regularizer_active

            extras = _pop_batch_extras(batch)
            if extras is None:
                raise ConfigError(STALE_CACHE_HINT)
            pa = self.pa_args
            labels = batch["labels"]
            lengths = labels[:, 1:].ne(-100).sum(-1).clamp_min(1)
            output = self.concatenated_forward(model, batch)
            policy_chosen, policy_rejected = output["chosen_logps"], output["rejected_logps"]
            reference_chosen, reference_rejected = self.compute_reference_log_probs(model, batch)
            half = policy_chosen.size(0)
            device = policy_chosen.device
            chosen_scores = extras["pa_score_chosen"].to(device, policy_chosen.dtype)
            rejected_scores = extras["pa_score_rejected"].to(device, policy_chosen.dtype)
            weights = extras["pa_weight"].to(device, policy_chosen.dtype)
            probability_margin = None
            if pa.hdpo_probability_margin == "reference_adjusted":
                probability_margin = (policy_chosen - policy_rejected) - (reference_chosen - reference_rejected)
            elif pa.hdpo_probability_margin == "length_normalized":
                chosen_len, rejected_len = lengths.to(device).split(half, dim=0)
                probability_margin = policy_chosen / chosen_len - policy_rejected / rejected_len
            terms = hdpo_losses(
                policy_chosen,
                policy_rejected,
                reference_chosen,
                reference_rejected,
                chosen_scores,
                rejected_scores,
                beta=self.beta,
                hdpo_lambda=pa.hdpo_lambda,
                label_smoothing=self.label_smoothing,
                probability_margin=probability_margin,
            )
            per_pair = terms["loss"]
            if self.ftx_gamma > 1e-6:
                per_pair = per_pair + self.ftx_gamma * (-output["chosen_logps_avg"])
            loss = self._pa_reduce(
                per_pair, weights, training=(train_eval == "train" and model.training), extras=extras
            )

            chosen_rewards = (self.beta * (policy_chosen - reference_chosen)).detach()
            rejected_rewards = (self.beta * (policy_rejected - reference_rejected)).detach()
            prefix = "eval_" if train_eval == "eval" else ""
            metrics = {
                f"{prefix}rewards/chosen": chosen_rewards.mean().item(),
                f"{prefix}rewards/rejected": rejected_rewards.mean().item(),
                f"{prefix}rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
                f"{prefix}rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
                f"{prefix}logps/chosen": policy_chosen.detach().mean().item(),
                f"{prefix}logps/rejected": policy_rejected.detach().mean().item(),
                f"{prefix}logits/chosen": output["chosen_logits"].detach().mean().item(),
                f"{prefix}logits/rejected": output["rejected_logits"].detach().mean().item(),
            }
            # One fixed key set on every rank: LLaMA-Factory all-reduces the metric list positionally.
            with torch.no_grad():
                hdpo = {
                    "weight_mean": weights.mean().item(),
                    "score_gap": (rejected_scores - chosen_scores).mean().item(),
                    "regularizer": terms["regularizer"].mean().item(),
                    "accuracy": terms["policy_margin"].gt(0).float().mean().item(),
                    "dpo_loss": terms["dpo"].mean().item(),
                    "probability": terms["probability"].mean().item(),
                    # fraction of pairs whose regularizer still has a gradient (p not saturated)
                    "regularizer_active": regularizer_active(terms["probability"]).float().mean().item(),
                }
            for name in HDPO_METRICS:
                metrics[f"{prefix}hdpo/{name}"] = hdpo[name]
            return loss, metrics

    _CLASSES["hdpo"] = HDPOTrainer
    return HDPOTrainer
