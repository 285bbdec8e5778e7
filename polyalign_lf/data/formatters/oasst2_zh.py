"""OASST2-zh (``OpenAssistant/oasst2``, Chinese trees): human-written assistant replies in conversation trees.

Columns: ``message_id, parent_id, message_tree_id, text, role (prompter|assistant), lang, review_result,
deleted, rank, tree_state, …``; the release's message-tree files (``2023-11-05_oasst2_ready.trees.jsonl.gz``:
one tree per line, replies nested) are flattened to the same rows. Only ``lang == "zh"`` messages of trees ``ready_for_export`` that are
not deleted and passed review are used. For each prompter message only its best-ranked assistant reply
(lowest ``rank``; unranked after ranked; ties by id) is a response — the reference kept every sibling —
and a reply is used only if every assistant message in its ancestry was best-ranked too. Question = the
parent prompter message, history = the rest of the ancestry. Split: train hashed by tree 90/10 into
train/val, validation → test (whole trees).
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import get_text
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split

ROLE = {"prompter": "user", "assistant": "assistant"}


def _usable(row) -> str | None:
    """None if usable, else the skip reason."""
    if get_text(row, "lang", default="").lower().split("-")[0] != "zh":
        return "not_chinese"
    if row.get("tree_state") not in (None, "ready_for_export"):
        return "tree_not_ready"
    if row.get("deleted"):
        return "deleted"
    if "review_result" in row and row.get("review_result") is False:
        return "failed_review"
    if get_text(row, "role") not in ROLE:
        return "unknown_role"
    if not get_text(row, "text").strip():
        return "empty_answer"
    return None


def _rank_key(message: dict):
    rank = message["rank"]
    return (not isinstance(rank, (int, float)), rank if isinstance(rank, (int, float)) else 0, message["id"])


def flat_messages(rows):
    """Message rows in the Hub's flat layout, from flat rows or from the release's ``*.trees.jsonl`` rows
    (``{message_tree_id, tree_state, prompt: {message…, replies: [message…, replies: […]]}}``)."""
    for row in rows:
        if "message_id" in row or "prompt" not in row:
            yield row
            continue
        tree_id, state = row.get("message_tree_id"), row.get("tree_state")
        stack = [(row["prompt"], None)]
        while stack:
            message, parent = stack.pop()
            if not isinstance(message, dict):
                continue
            flat = {k: v for k, v in message.items() if k != "replies"}
            flat.setdefault("parent_id", parent)
            flat.setdefault("message_tree_id", tree_id)
            flat.setdefault("tree_state", state)
            yield flat
            stack.extend((reply, message.get("message_id")) for reply in reversed(message.get("replies") or []))


def convert(rows, split, seed):
    messages: dict[str, dict] = {}
    for row in flat_messages(rows):
        reason = _usable(row)
        message_id = get_text(row, "message_id")
        if reason is not None:
            yield Skip(reason, message_id)
            continue
        messages[message_id] = {
            "id": message_id,
            "parent": row.get("parent_id"),
            "tree": get_text(row, "message_tree_id", default=""),
            "role": ROLE[get_text(row, "role")],
            "text": get_text(row, "text"),
            "rank": row.get("rank"),
        }
    best_reply: dict[str, str] = {}
    for message in sorted(messages.values(), key=lambda m: (m["parent"] or "", *_rank_key(m))):
        if message["role"] == "assistant" and message["parent"] and message["parent"] not in best_reply:
            best_reply[message["parent"]] = message["id"]
    for message in messages.values():
        if message["role"] != "assistant":
            continue
        if best_reply.get(message["parent"]) != message["id"]:
            yield Skip("lower_ranked_sibling", message["id"])
            continue
        chain, node, ok = [], message, True
        while node is not None:
            if node["role"] == "assistant" and node is not message and best_reply.get(node["parent"]) != node["id"]:
                ok = False  # an earlier reply in this branch was not the best-ranked one
            chain.append(node)
            parent = node["parent"]
            if parent and parent not in messages:
                ok = False  # an ancestor was unusable (deleted, failed review, another language)
                break
            node = messages.get(parent) if parent else None
        if not ok:
            yield Skip("unusable_ancestry", message["id"])
            continue
        chain.reverse()  # root … prompter, message
        if len(chain) < 2 or chain[-2]["role"] != "user":
            yield Skip("unusable_ancestry", message["id"])
            continue
        tree = message["tree"] or chain[0]["id"]
        assigned = hashed_split(tree, seed, (("train", 0.9), ("val", 0.1))) if split == "train" else "test"
        yield Draft(
            source_id=message["id"],
            question=chain[-2]["text"],
            human_answer=message["text"],
            dialogue_history=[{"role": m["role"], "text": m["text"]} for m in chain[:-2]],
            split=assigned,
            group_key=tree,
            meta={"message_tree_id": tree, "rank": message["rank"], "depth": len(chain) - 1},
        )


FORMATTER = FormatterSpec(
    name="oasst2_zh",
    language="zh",
    track="multi",
    family="dialogue",
    style_bucket="open_chat",
    hub_id="OpenAssistant/oasst2",
    source_splits=("train", "validation"),
    split_policy="train hashed by message tree 90/10 → train/val; validation → test; best-ranked reply per prompt only",
    convert=convert,
    required_columns=("message_id", "parent_id", "text", "role", "lang"),
    release_layouts=(("message_tree_id", "prompt"),),
    aliases=("oasst2", "oasst_zh"),
    description="OASST2 Chinese trees: best-ranked human assistant reply per prompt, with its ancestry",
)
