"""DailyDialog (``li2017dailydialog/daily_dialog``): open-domain chit-chat between two humans, English.

Columns: ``dialog`` (list of utterances), ``act``, ``emotion``. The authors' text release
(``ijcnlp_dailydialog/{train,validation,test}/dialogues_{split}.txt``, one dialogue per line, utterances
ended by `` __eou__``) is read too. Speakers alternate; the second speaker's
turns are the responses: for each odd turn k, question = turn k-1, history = turns before k-1, answer =
turn k. Official train/validation/test splits (conversation level by construction).

Fixes the reference's ``.strip("__eou__")`` bug (which stripped the *letters* _, e, o, u from both ends
of a line): the end-of-utterance marker is removed as a whole token only, and a raw ``__eou__``
separated string is split on the marker.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import get_list, short_hash
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip

SPLITS = {"train": "train", "validation": "val", "test": "test"}
EOU = "__eou__"


def clean_utterance(text: str) -> str:
    """Remove the ``__eou__`` marker token (only the marker: letters around it are kept)."""
    text = text.strip()
    while text.endswith(EOU):
        text = text[: -len(EOU)].rstrip()
    return text


def utterances(row) -> list[str]:
    dialog = row.get("dialog", row.get("text"))  # "text": one line of the text release (dialogues_train.txt)
    if isinstance(dialog, str):  # raw text layout: "utt __eou__ utt __eou__"
        return [u.strip() for u in dialog.split(EOU) if u.strip()]
    return [clean_utterance(u) if isinstance(u, str) else "" for u in get_list(row, "dialog")]


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        turns = utterances(row)
        acts, emotions = get_list(row, "act", default=[]), get_list(row, "emotion", default=[])
        dialogue_id = f"{split}-{index:05d}-{short_hash(*turns[:2])}"
        for k in range(1, len(turns), 2):
            source_id = f"{dialogue_id}-turn-{k:02d}"
            if not turns[k]:
                yield Skip("empty_answer", source_id)
                continue
            history = [{"role": "user" if j % 2 == 0 else "assistant", "text": turns[j]} for j in range(k - 1)]
            yield Draft(
                source_id=source_id,
                question=turns[k - 1],
                human_answer=turns[k],
                dialogue_history=history,
                split=SPLITS[split],
                group_key=dialogue_id,
                meta={
                    "dialogue_id": dialogue_id,
                    "turn_index": k,
                    "target_act": acts[k] if k < len(acts) else None,
                    "target_emotion": emotions[k] if k < len(emotions) else None,
                },
            )


FORMATTER = FormatterSpec(
    name="dailydialog",
    language="en",
    track="multi",
    family="dialogue",
    style_bucket="open_chat",
    hub_id="li2017dailydialog/daily_dialog",
    source_splits=tuple(SPLITS),
    split_policy="official train/validation/test (whole dialogues)",
    convert=convert,
    required_columns=("dialog",),
    aliases=("daily_dialog",),
    release_layouts=(("text",),),
    text_release=r"^dialogues_(train|validation|test)\.txt$",
    description="DailyDialog: every second-speaker turn with its dialogue history",
)
