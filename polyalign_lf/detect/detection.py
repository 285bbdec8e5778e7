"""Score texts with the paper's three AI-text detectors, batched and device-aware: Binoculars and
Fast-DetectGPT over Hugging Face causal LMs, and RADAR (a sequence classifier)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from polyalign_lf.core.batching import length_sorted_batches
from polyalign_lf.core.devices import resolve_dtype
from polyalign_lf.detect.detectors import DETECTORS, LMPairDetector, get_detector
from polyalign_lf.errors import ConfigError
from polyalign_lf.io import progress

PAPER_DETECTORS = ("binoculars", "fast_detectgpt", "radar")  # §5: H averages these three detectors' AI rates
LM_DETECTORS = ("binoculars", "fast_detectgpt")
DETECTOR_ALIASES = {"classifier": "radar", "fast-detectgpt": "fast_detectgpt"}  # earlier spellings still work
MIN_TOKENS = 2  # one scored position needs two tokens
# The published RADAR detector (Hu et al., 2023): a RoBERTa-large sequence classifier whose logit 0 is the
# "AI-generated" class (its model card computes P(AI) = softmax(logits)[:, 0]).
RADAR_MODEL = "TrustSafeAI/RADAR-Vicuna-7B"
RADAR_AI_LABEL = 0


def parse_detectors(text: str) -> list[str]:
    """``--detectors`` as canonical names (aliases mapped, order kept, duplicates dropped)."""
    names = []
    for raw in text.split(","):
        name = raw.strip().lower().replace("-", "_")
        name = DETECTOR_ALIASES.get(name, name)
        if name and name not in names:
            names.append(name)
    unknown = [n for n in names if n not in DETECTORS]
    if unknown or not names:
        raise ConfigError(
            f"--detectors: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(DETECTORS.names())}"
        )
    return names


def h_label(detectors: Sequence[str]) -> str:
    """``H`` when the paper's three detectors ran, else ``H(2: binoculars, fast_detectgpt)``: an H over
    fewer detectors is a different quantity and is never shown unlabelled beside the paper's."""
    if sorted(detectors) == sorted(PAPER_DETECTORS):
        return "H"
    return f"H({len(detectors)}: {', '.join(detectors)})"


@dataclass
class DetectorModels:
    """Model paths per role. Binoculars: observer + performer; Fast-DetectGPT: sampling + scoring."""

    observer: str | None = None
    performer: str | None = None
    sampling: str | None = None
    scoring: str | None = None
    radar: str | None = RADAR_MODEL  # RADAR (or another AI-text sequence classifier): a Hub id or a local path
    radar_ai_label: int = RADAR_AI_LABEL  # the class index meaning "machine-written" (0 for RADAR)
    device: str | None = None  # None/auto: one model per visible GPU, else the CPU
    dtype: str = "auto"
    max_length: int = 512
    batch_size: int = 8
    _loaded: dict[str, Any] = field(default_factory=dict, repr=False)
    _tokenizers: dict[str, Any] = field(default_factory=dict, repr=False)
    tokenizer: Any = None

    def roles(self, detectors: Sequence[str]) -> dict[str, str]:
        """Model path per language-model role needed by ``detectors`` (the classifier is loaded separately)."""
        needed: dict[str, str | None] = {}
        if "binoculars" in detectors:
            needed.update(observer=self.observer, performer=self.performer)
        if "fast_detectgpt" in detectors:
            needed.update(sampling=self.sampling or self.observer, scoring=self.scoring or self.performer)
        missing = [role for role, path in needed.items() if not path]
        if missing:
            raise ConfigError(
                f"no model given for role(s) {', '.join(missing)}: "
                "binoculars needs --observer and --performer; fast_detectgpt needs --sampling "
                "and --scoring (defaults: observer and performer)"
            )
        return needed

    def resolve_devices(self, n_models: int) -> list[str]:
        import torch

        if self.device not in (None, "auto"):
            return [self.device] * n_models
        if torch.cuda.is_available():
            count = torch.cuda.device_count()
            return [f"cuda:{k % count}" for k in range(n_models)]
        return ["cpu"] * n_models

    def load(self, detectors: Sequence[str]) -> dict[str, Any]:
        """Load each distinct model once (a path used for two roles shares one model) and one tokenizer."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        roles = self.roles(detectors)
        if not roles:
            return {}
        paths = list(dict.fromkeys(roles.values()))
        devices = self.resolve_devices(len(paths))
        tokenizers = self._tokenizers
        for path, device in zip(paths, devices):
            if path in self._loaded:
                continue
            flags = ", ".join(f"--{role}" for role, p in roles.items() if p == path)
            users = ", ".join(
                sorted(
                    {
                        "binoculars" if r in ("observer", "performer") else "fast_detectgpt"
                        for r, p in roles.items()
                        if p == path
                    }
                )
            )
            fix = f"pass a local model directory with {flags}, or leave {users} out of --detectors"
            if not os.path.exists(path) and os.environ.get("HF_HUB_OFFLINE") == "1":
                raise ConfigError(f"{users}: model {path!r} is not a local directory and the Hub is offline; {fix}")
            try:
                model = AutoModelForCausalLM.from_pretrained(path, dtype=resolve_dtype(self.dtype, device))
                tokenizers[path] = AutoTokenizer.from_pretrained(path)
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"{users}: cannot load the causal LM {path!r} ({str(exc).splitlines()[0]}); {fix}"
                ) from None
            model.to(device).eval()
            self._loaded[path] = model
        vocabularies = {p: t.get_vocab() for p, t in tokenizers.items()}
        first = paths[0]
        for path in paths[1:]:
            if vocabularies[path] != vocabularies[first]:
                raise ConfigError(
                    f"models {first!r} and {path!r} have different tokenizers: "
                    "Binoculars and Fast-DetectGPT compare next-token distributions token by token: "
                    "use two models of one family (e.g. a base model and its instruct version)"
                )
        tokenizer = tokenizers[first]
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
        self.tokenizer = tokenizer
        return {role: self._loaded[path] for role, path in roles.items()}

    def load_radar(self) -> tuple[Any, Any]:
        """The RADAR sequence classifier and its tokenizer (a detector that cannot load is an error, never a
        silently smaller H)."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        fix = (
            "pass --radar-model PATH (a local copy of the RADAR checkpoint), or leave radar out of --detectors "
            "(H and Joint are then labelled with the detectors used)"
        )
        if not self.radar:
            raise ConfigError(f"the radar detector needs a model; {fix}")
        if "radar" not in self._loaded:
            if not os.path.exists(self.radar) and os.environ.get("HF_HUB_OFFLINE") == "1":
                raise ConfigError(
                    f"radar: model {self.radar!r} is not a local directory and the Hub is offline; {fix}"
                )
            device = self.resolve_devices(1)[0]
            try:
                model = AutoModelForSequenceClassification.from_pretrained(
                    self.radar, dtype=resolve_dtype(self.dtype, device)
                )
                tokenizer = AutoTokenizer.from_pretrained(self.radar)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"radar: cannot load {self.radar!r} ({str(exc).splitlines()[0]}); {fix}") from None
            model.to(device).eval()
            n_labels = int(model.config.num_labels)
            if not 0 <= self.radar_ai_label < n_labels:
                raise ConfigError(f"--radar-ai-label {self.radar_ai_label} but {self.radar!r} has {n_labels} labels")
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            if model.config.pad_token_id is None:
                model.config.pad_token_id = tokenizer.pad_token_id
            self._loaded["radar"] = model
            self._tokenizers["radar"] = tokenizer
        return self._loaded["radar"], self._tokenizers["radar"]


def score_texts(
    texts: Sequence[str], models: DetectorModels, detectors: Sequence[str] = LM_DETECTORS, desc: str = "detect"
) -> list[dict[str, Any]]:
    """Raw detector statistics per text: ``{"n_tokens", DETECTOR: value, ...}`` for each of ``detectors``.

    A text too short to score (fewer than two tokens; an empty answer) gets None, which the summary counts
    and reports as skipped. Detectors over two causal LMs share one forward pass per model and batch.
    """
    chosen = {name: get_detector(name) for name in detectors}  # unknown names are refused here
    results: list[dict[str, Any]] = [{d: None for d in detectors} for _ in texts]
    pairs = {name: d for name, d in chosen.items() if isinstance(d, LMPairDetector)}
    if pairs:
        _score_lm_pairs(texts, models, pairs, results, desc)
    for name, detector in chosen.items():
        if name not in pairs:
            for row, value in zip(results, detector.score(texts, models, desc)):
                row[name] = value
    return results


def _score_lm_pairs(
    texts: Sequence[str], models: DetectorModels, pairs: dict[str, LMPairDetector], results: list[dict], desc: str
) -> None:
    import torch

    by_role = models.load(list(pairs))
    tokenizer = models.tokenizer
    lengths = [
        len(tokenizer(t, add_special_tokens=True, truncation=True, max_length=models.max_length)["input_ids"])
        for t in texts
    ]
    for row, n in zip(results, lengths):
        row["n_tokens"] = n
    with torch.inference_mode():
        for batch in progress(
            length_sorted_batches(lengths, models.batch_size, minimum=MIN_TOKENS, longest_first=True),
            desc=desc,
            unit="batch",
        ):
            encoded = tokenizer(
                [texts[k] for k in batch],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=models.max_length,
                add_special_tokens=True,
            )
            cache: dict[int, torch.Tensor] = {}  # one forward pass per model and batch, shared by the detectors

            def logits_of(role: str, device: torch.device | None = None, encoded=encoded, cache=cache):
                # Bound to this batch's `encoded`/`cache` (defaults): a later batch never sees them.
                model = by_role[role]
                if id(model) not in cache:
                    own = next(model.parameters()).device
                    cache[id(model)] = model(
                        input_ids=encoded["input_ids"].to(own), attention_mask=encoded["attention_mask"].to(own)
                    ).logits
                return cache[id(model)] if device is None else cache[id(model)].to(device)

            for name, detector in pairs.items():
                first, second = detector.roles
                # Computed on the first model's device (GPU when there is one): no [B, T, V] copies to the CPU.
                a = logits_of(first)
                values = detector.statistic(
                    a,
                    logits_of(second, a.device),
                    encoded["input_ids"].to(a.device),
                    encoded["attention_mask"].to(a.device),
                ).tolist()
                for k, v in zip(batch, values):
                    results[k][name] = v


@dataclass
class DecisionRule:
    """How a raw statistic becomes an AI / human decision for one detector."""

    detector: str
    kind: str  # "binoculars_threshold" | "fast_detectgpt_gaussians" | "calibrated"
    threshold: float | None = None  # on score_ai (higher = more AI): AI when score_ai >= threshold
    params: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def score_ai(self, raw: float) -> float:
        # A common orientation: higher = more machine-like (Binoculars is low for machine text).
        return raw if DETECTORS.get(self.detector).higher_is_ai else -raw

    def is_ai(self, raw: float) -> bool:
        from polyalign_lf.detect.scores import fast_detectgpt_probability

        if self.kind == "fast_detectgpt_gaussians":
            return fast_detectgpt_probability(raw, **self.params) >= 0.5
        if self.kind == "classifier_probability":
            return raw >= 0.5
        return self.score_ai(raw) >= self.threshold

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "threshold_on_score_ai": self.threshold, "params": self.params, "note": self.note}


def default_rule(detector: str, binoculars_mode: str = "low-fpr") -> DecisionRule:
    """The detector's decision rule without calibration (its published threshold or constants)."""
    return get_detector(detector).default_rule(binoculars_mode)


def calibrated_rule(detector: str, human_raw: Sequence[float], target_fpr: float) -> DecisionRule:
    """A threshold that flags ``target_fpr`` of the human texts as AI (the detector's false-positive rate)."""
    import numpy as np

    if not 0.0 < target_fpr < 1.0:
        raise ConfigError(f"--calibrate-fpr must be in (0, 1), got {target_fpr}")
    if len(human_raw) < 20:
        raise ConfigError(f"calibration needs at least 20 scored human texts, got {len(human_raw)}")
    rule = DecisionRule(detector, "calibrated", note=f"threshold at FPR {target_fpr} on {len(human_raw)} human texts")
    human_ai = np.array([rule.score_ai(x) for x in human_raw])
    rule.threshold = float(np.quantile(human_ai, 1.0 - target_fpr, method="higher"))
    # Ties at the threshold count as AI; nudge just above so the FPR does not exceed the target.
    rule.threshold = float(np.nextafter(rule.threshold, np.inf))
    return rule


def summarize_detection(
    raw_by_method: Mapping[str, list[dict]], rules: Mapping[str, DecisionRule], human_method: str | None = "human"
) -> dict[str, Any]:
    """AI rate, mean score_ai and AUROC against the human texts, per method and detector."""
    import numpy as np

    summary: dict[str, Any] = {}
    for method, rows in raw_by_method.items():
        entry: dict[str, Any] = {"n": len(rows)}
        for detector, rule in rules.items():
            raws = [r[detector] for r in rows if r.get(detector) is not None]
            skipped = len(rows) - len(raws)
            if not raws:
                entry[detector] = {"skipped": True, "reason": "no text long enough to score", "n_skipped": skipped}
                continue
            flags = [rule.is_ai(x) for x in raws]
            det = {
                "ai_rate": float(np.mean(flags)),
                "n_scored": len(raws),
                "n_skipped": skipped,
                "mean_score_ai": float(np.mean([rule.score_ai(x) for x in raws])),
            }
            if skipped:
                det["skip_reason"] = f"{skipped} text(s) too short to score (empty, or fewer than {MIN_TOKENS} tokens)"
            if human_method and method != human_method and human_method in raw_by_method:
                det["auroc_vs_human"] = auroc_vs_human(raw_by_method[human_method], rows, detector, rule)
            entry[detector] = det
        summary[method] = entry
    return summary


def auroc_vs_human(human_rows: list[dict], method_rows: list[dict], detector: str, rule: DecisionRule) -> float | None:
    """AUROC of separating the method's texts (positives) from the human texts by score_ai."""
    from sklearn.metrics import roc_auc_score

    human = [rule.score_ai(r[detector]) for r in human_rows if r.get(detector) is not None]
    method = [rule.score_ai(r[detector]) for r in method_rows if r.get(detector) is not None]
    if not human or not method:
        return None
    return float(roc_auc_score([0] * len(human) + [1] * len(method), human + method))
