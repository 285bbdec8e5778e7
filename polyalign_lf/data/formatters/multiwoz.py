"""MultiWOZ 2.2 (``pfb30/multi_woz_v22``): task-oriented dialogues between a user and a human "system" (wizard), English.

Hub columns: ``dialogue_id, services, turns{turn_id, speaker (0 user / 1 system), utterance, frames,
dialogue_acts}``; the GitHub JSON layout (``turns`` as a list of ``{speaker: "USER"|"SYSTEM", utterance,
…}``, files ``{train,dev,test}/dialogues_NNN.json``) is accepted too, and so is MultiWOZ 2.1's
``data.json`` (``{"ID.json": {goal, log: [{text, …}]}}``, turns alternating user/system; it holds every
split in one file). Each system turn is a response: question = the user turn before it, history = all
earlier turns. Official train/validation/test splits (whole dialogues).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polyalign_lf.data.formatters._util import get_list, get_text
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip
from polyalign_lf.errors import InputError

SPLITS = {"train": "train", "validation": "val", "test": "test"}


def _speaker(value: Any) -> str:
    if value in (0, "0", "USER", "user"):
        return "user"
    if value in (1, "1", "SYSTEM", "system"):
        return "assistant"
    raise InputError(f"turns.speaker must be 0/1 or USER/SYSTEM, got {value!r}")


def _intents(frames: Any) -> list[str]:
    """Active intents of a user turn's frames, in either layout (best effort; metadata only)."""
    states: list = []
    if isinstance(frames, Mapping):  # Hub: {"service": [...], "state": [{"active_intent": ...}, ...]}
        states = list(frames.get("state") or [])
    elif isinstance(frames, list):  # GitHub: [{"service": ..., "state": {"active_intent": ...}}]
        states = [f.get("state") for f in frames if isinstance(f, Mapping)]
    return sorted(
        {
            s.get("active_intent")
            for s in states
            if isinstance(s, Mapping) and s.get("active_intent") not in (None, "", "NONE")
        }
    )


def _acts(acts: Any) -> list[str]:
    if isinstance(acts, Mapping):
        dialog_act = acts.get("dialog_act") or {}
        return sorted(set(dialog_act.get("act_type") or [])) if isinstance(dialog_act, Mapping) else []
    return []


def turns_of(row: Mapping[str, Any]) -> list[dict]:
    if "turns" not in row and isinstance(row.get("log"), list):  # MultiWOZ 2.1 data.json: turns alternate user, system
        return [
            {
                "speaker": "user" if k % 2 == 0 else "assistant",
                "utterance": (t.get("text") or "") if isinstance(t, Mapping) else "",
                "turn_id": k,
                "frames": None,
                "acts": None,
            }
            for k, t in enumerate(row["log"])
        ]
    if "turns" not in row:
        raise InputError("missing column 'turns' (MultiWOZ 2.2) or 'log' (MultiWOZ 2.1)")
    turns = row["turns"]
    if isinstance(turns, Mapping):  # Hub layout: dict of lists
        speakers, utterances = list(turns.get("speaker") or []), list(turns.get("utterance") or [])
        if len(speakers) != len(utterances):
            raise InputError("turns.speaker and turns.utterance have different lengths")
        n = len(speakers)
        ids, frames, acts = (list(turns.get(k) or [None] * n) for k in ("turn_id", "frames", "dialogue_acts"))
        return [
            {
                "speaker": _speaker(speakers[k]),
                "utterance": utterances[k] or "",
                "turn_id": ids[k] if k < len(ids) else k,
                "frames": frames[k] if k < len(frames) else None,
                "acts": acts[k] if k < len(acts) else None,
            }
            for k in range(n)
        ]
    if isinstance(turns, list):
        return [
            {
                "speaker": _speaker(t.get("speaker")),
                "utterance": t.get("utterance") or "",
                "turn_id": t.get("turn_id", k),
                "frames": t.get("frames"),
                "acts": t.get("dialogue_acts"),
            }
            for k, t in enumerate(turns)
            if isinstance(t, Mapping)
        ]
    raise InputError(f"column 'turns' must be an object of lists or a list of turns, got {type(turns).__name__}")


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        dialogue_id = (
            get_text(row, "dialogue_id", default="")
            or get_text(row, "id", default="").removesuffix(".json")
            or f"{split}-{index:05d}"
        )
        turns = turns_of(row)
        services = [s for s in get_list(row, "services", default=[]) if isinstance(s, str)]
        for k, turn in enumerate(turns):
            if turn["speaker"] != "assistant" or k == 0 or turns[k - 1]["speaker"] != "user":
                continue
            source_id = f"{dialogue_id}-turn-{turn['turn_id']}"
            if not turn["utterance"].strip():
                yield Skip("empty_answer", source_id)
                continue
            history = [{"role": t["speaker"], "text": t["utterance"]} for t in turns[: k - 1]]
            yield Draft(
                source_id=source_id,
                question=turns[k - 1]["utterance"],
                human_answer=turn["utterance"],
                dialogue_history=history,
                split=SPLITS[split],
                group_key=dialogue_id,
                meta={
                    "dialogue_id": dialogue_id,
                    "turn_id": str(turn["turn_id"]),
                    "services": services,
                    "active_intents": _intents(turns[k - 1]["frames"]),
                    "dialogue_act_types": _acts(turn["acts"]),
                },
            )


FORMATTER = FormatterSpec(
    name="multiwoz",
    language="en",
    track="multi",
    family="dialogue",
    style_bucket="task_dialogue",
    hub_id="pfb30/multi_woz_v22",
    source_splits=tuple(SPLITS),
    split_policy="official train/validation/test (whole dialogues)",
    convert=convert,
    required_columns=("turns",),
    release_layouts=(("log",),),
    aliases=("multiwoz22", "multi_woz_v22", "multiwoz_2.2"),
    description="MultiWOZ 2.2: every system (wizard) turn with its dialogue history",
)
