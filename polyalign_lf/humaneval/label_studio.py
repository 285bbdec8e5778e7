"""The blinded sample as a Label Studio project, and Label Studio's JSON export read back as ratings.

``human-eval build --format label-studio`` writes ``label_config.xml`` (paste it into the project's
*Labeling Interface*) and ``tasks.json`` (import it as the project's data): one task per item, with the
question, context, dialogue history, the reference and the candidate, rated on the three 1–5 dimensions
plus a comment — the same items and sample id as the static page, and like it holding no method name.
``human-eval summarize`` reads the project's JSON export (*Export → JSON*) next to the page's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyalign_lf.errors import InputError
from polyalign_lf.humaneval.summarize import DIMENSIONS
from polyalign_lf.io import write_json

LABEL_CONFIG = """<View>
  <Header value="Question"/>
  <Text name="question" value="$question"/>
  <Header value="Context"/>
  <Text name="context" value="$context"/>
  <Header value="Conversation so far"/>
  <Text name="history" value="$history"/>
  <Header value="A human answer (for reference)"/>
  <Text name="reference" value="$reference"/>
  <Header value="Answer to rate"/>
  <Text name="candidate" value="$candidate"/>
  <Header value="Usefulness: does it help the person who asked? (1-5)"/>
  <Rating name="usefulness" toName="candidate" maxRating="5" required="true"/>
  <Header value="Answerability: does it answer what was asked? (1-5)"/>
  <Rating name="answerability" toName="candidate" maxRating="5" required="true"/>
  <Header value="Naturalness: is it what a person would write here? (1-5)"/>
  <Rating name="naturalness" toName="candidate" maxRating="5" required="true"/>
  <TextArea name="comment" toName="candidate" placeholder="optional comment"/>
</View>
"""


def write_project(out_dir: Path, items: list[dict], sample_id: str) -> None:
    """``label_config.xml`` and ``tasks.json`` for ``items`` (the blinded sample of ``human-eval build``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "label_config.xml").write_text(LABEL_CONFIG, encoding="utf-8")
    tasks = []
    for item in items:
        history = "\n".join(f"{turn['role']}: {turn['text']}" for turn in item.get("dialogue_history") or [])
        tasks.append(
            {
                "data": {
                    "item_id": item["item_id"],
                    "sample_id": sample_id,
                    "language": item["language"],
                    "question": item["question"],
                    "context": item.get("context") or "(none)",
                    "history": history or "(none)",
                    "reference": item["reference"],
                    "candidate": item["candidate"],
                }
            }
        )
    write_json(out_dir / "tasks.json", tasks)


def is_export(data: Any) -> bool:
    """Whether a JSON document is a Label Studio task export (a list of tasks with ``data``)."""
    return isinstance(data, list) and all(isinstance(t, dict) and "data" in t for t in data)


def _annotator(annotation: dict) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"label-studio:{who}" if who not in (None, "") else "label-studio:unknown"


def export_ratings(data: list, where: str, sample_id: str) -> dict[str, list[dict]]:
    """``{rater: [rating rows as the page writes them]}`` from a Label Studio export; cancelled annotations and
    tasks of another sample are errors or skips as for the page (another sample is an error)."""
    raters: dict[str, list[dict]] = {}
    for k, task in enumerate(data, start=1):
        task_data = task.get("data") or {}
        if task_data.get("sample_id") != sample_id:
            raise InputError(
                f"task #{k} is from sample {task_data.get('sample_id')!r}, the key is for {sample_id!r}",
                where=where,
                hint="export the project that was created from this key's tasks.json",
            )
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            row: dict[str, Any] = {"item_id": task_data.get("item_id"), **{d: None for d in DIMENSIONS}, "comment": ""}
            for result in annotation.get("result") or []:
                value = result.get("value") or {}
                if result.get("from_name") in DIMENSIONS:
                    row[result["from_name"]] = value.get("rating")
                elif result.get("from_name") == "comment":
                    row["comment"] = " ".join(value.get("text") or [])
            raters.setdefault(_annotator(annotation), []).append(row)
    return raters
