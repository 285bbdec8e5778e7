"""The detector family: one class per AI-text detector, registered under its name in :data:`DETECTORS`.

A detector says how it scores texts (``score``: one raw statistic per text, None for a text it cannot
score), which way its statistic points (``higher_is_ai``), how a raw value becomes a decision by default
(``default_rule``) and what Table 4 calls it (``label``); ``check`` refuses missing models before any scoring.
Adding one is one class here or in another package (entry-point group ``polyalign_lf.detectors``);
``polyalign detect --detectors NAME`` and the report's Table 4 then use it unchanged.

Binoculars and Fast-DetectGPT compare two causal LMs' next-token distributions over the same tokens; they
share one batched forward pass per model (:func:`polyalign_lf.detect.detection.score_texts`), so they are
:class:`LMPairDetector` s that contribute only their statistic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from polyalign_lf.core.registry import Registry

if TYPE_CHECKING:
    from polyalign_lf.detect.detection import DecisionRule, DetectorModels


class Detector:
    """One AI-text detector (subclass, set ``name`` and decorate with :func:`register_detector`)."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # Table 4's column, e.g. "Binoc. AI%"
    higher_is_ai: ClassVar[bool] = True  # the raw statistic's direction (Binoculars is low for machine text)

    def check(self, models: DetectorModels) -> None:
        """Refuse, before any scoring, what would make scoring fail (a missing or unloadable model)."""

    def score(self, texts: Sequence[str], models: DetectorModels, desc: str) -> list[float | None]:
        """One raw statistic per text (None: the text cannot be scored, e.g. it is empty)."""
        raise NotImplementedError

    def default_rule(self, binoculars_mode: str = "low-fpr") -> DecisionRule:
        """The decision rule without calibration: AI when the probability-like score is at least 0.5."""
        from polyalign_lf.detect.detection import DecisionRule

        return DecisionRule(self.name, "classifier_probability", threshold=0.5, note="AI when the score is ≥ 0.5")


class LMPairDetector(Detector):
    """A statistic of two causal LMs' logits over the same tokens (scored in the shared LM pass)."""

    roles: ClassVar[tuple[str, str]] = ("", "")  # DetectorModels roles: (first, second)

    def statistic(self, first_logits: Any, second_logits: Any, input_ids: Any, attention_mask: Any) -> Any:
        raise NotImplementedError

    def check(self, models: DetectorModels) -> None:
        models.roles([self.name])


DETECTORS: Registry[type[Detector]] = Registry(
    "detector", builtins=("polyalign_lf.detect.detectors",), entry_point_group="polyalign_lf.detectors"
)


def register_detector(cls: type[Detector]) -> type[Detector]:
    """Class decorator: register a detector under its ``name``."""
    return DETECTORS.register(cls.name, cls)


def get_detector(name: str) -> Detector:
    return DETECTORS.get(name)()


@register_detector
class Binoculars(LMPairDetector):
    name = "binoculars"
    label = "Binoc. AI%"
    higher_is_ai = False
    roles = ("observer", "performer")

    def statistic(self, first_logits, second_logits, input_ids, attention_mask):
        from polyalign_lf.detect.scores import binoculars_score

        return binoculars_score(first_logits, second_logits, input_ids, attention_mask)

    def default_rule(self, binoculars_mode: str = "low-fpr") -> DecisionRule:
        from polyalign_lf.detect.detection import DecisionRule
        from polyalign_lf.detect.scores import BINOCULARS_THRESHOLDS

        return DecisionRule(
            self.name,
            "binoculars_threshold",
            threshold=-BINOCULARS_THRESHOLDS[binoculars_mode],
            note=f"published {binoculars_mode} threshold for Falcon-7B/-instruct; not calibrated for "
            "other model pairs",
        )


@register_detector
class FastDetectGPT(LMPairDetector):
    name = "fast_detectgpt"
    label = "Fast-DGPT AI%"
    roles = ("sampling", "scoring")

    def statistic(self, first_logits, second_logits, input_ids, attention_mask):
        from polyalign_lf.detect.scores import fast_detectgpt_criterion

        return fast_detectgpt_criterion(first_logits, second_logits, input_ids, attention_mask)

    def default_rule(self, binoculars_mode: str = "low-fpr") -> DecisionRule:
        from polyalign_lf.detect.detection import DecisionRule
        from polyalign_lf.detect.scores import FAST_DETECTGPT_GAUSSIANS

        return DecisionRule(
            self.name,
            "fast_detectgpt_gaussians",
            params=dict(FAST_DETECTGPT_GAUSSIANS),
            note="reference two-Gaussian constants; not calibrated for this model pair",
        )


@register_detector
class Radar(Detector):
    """RADAR (Hu et al., 2023): a sequence classifier's probability of its AI label."""

    name = "radar"
    label = "RADAR AI%"

    def check(self, models: DetectorModels) -> None:
        models.load_radar()

    def score(self, texts: Sequence[str], models: DetectorModels, desc: str) -> list[float | None]:
        import torch

        from polyalign_lf.core.batching import length_sorted_batches
        from polyalign_lf.io import progress

        model, tokenizer = models.load_radar()
        lengths = [
            len(tokenizer(t, truncation=True, max_length=models.max_length)["input_ids"]) if t.strip() else 0
            for t in texts
        ]
        values: list[float | None] = [None] * len(texts)
        device = next(model.parameters()).device
        with torch.inference_mode():
            for batch in progress(
                length_sorted_batches(lengths, models.batch_size, minimum=1, longest_first=True),
                desc=f"{desc} (radar)",
                unit="batch",
            ):
                encoded = tokenizer(
                    [texts[k] for k in batch],
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=models.max_length,
                ).to(device)
                probs = torch.softmax(model(**encoded).logits.float(), dim=-1)[:, models.radar_ai_label]
                for k, v in zip(batch, probs.tolist()):
                    values[k] = v
        return values

    def default_rule(self, binoculars_mode: str = "low-fpr") -> DecisionRule:
        from polyalign_lf.detect.detection import DecisionRule

        return DecisionRule(
            self.name,
            "classifier_probability",
            threshold=0.5,
            note="AI when RADAR's probability of the AI label is at least 0.5",
        )
