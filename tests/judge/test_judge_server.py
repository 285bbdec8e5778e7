"""`polyalign judge` end to end against a small fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from polyalign_lf.cli import main
from polyalign_lf.errors import InputError
from polyalign_lf.judge.rubric import DIMENSIONS

MAX_REQUESTS = 200  # the fake server refuses anything beyond this: a runaway client cannot loop forever


class FakeJudgeServer:
    """Scores = 5 when the candidate equals the reference, else 2; answers badly on the first try for 'RETRY'."""

    def __init__(self, offset: int = 0, garbage_always: bool = False):
        self.requests: list[dict] = []
        self.offset = offset
        self.garbage_always = garbage_always
        self.lock = threading.Lock()
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server_self.lock:
                    server_self.requests.append(body)
                    count = len(server_self.requests)
                if count > MAX_REQUESTS or self.path != "/v1/chat/completions":
                    self.send_response(404 if count <= MAX_REQUESTS else 503)
                    self.end_headers()
                    return
                content = server_self.answer(body)
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 64  # the default backlog (5) makes simultaneous connects wait for a SYN retry
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, body: dict) -> str:
        user = body["messages"][1]["content"]
        reference = re.search(r"HUMAN REFERENCE ANSWER:\n(.*?)\n\nCANDIDATE RESPONSE:\n(.*?)\n\nReply", user, re.S)
        ref, cand = reference.group(1), reference.group(2)
        if self.garbage_always:
            return "I cannot answer in JSON."
        if "RETRY" in cand and len(body["messages"]) == 2:
            return "Here are my thoughts, no JSON."
        base = 5 if cand == ref else 2
        score = max(1, min(5, base - self.offset))
        return json.dumps({"scores": {d: score for d in DIMENSIONS}, "major_errors": [], "rationale": "fake"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def judge_inputs(tmp_path, toy_records, write_rows):
    records = write_rows(tmp_path / "test.jsonl", toy_records)
    human = [{"id": r["id"], "prediction": r["human_answer"]} for r in toy_records]
    bad = [
        {"id": r["id"], "prediction": "RETRY something else" if k == 0 else ("" if k == 1 else "wrong")}
        for k, r in enumerate(toy_records)
    ]
    return records, write_rows(tmp_path / "copy.jsonl", human), write_rows(tmp_path / "weak.jsonl", bad)


def test_judge_two_judges_end_to_end(tmp_path, judge_inputs):
    records, good, weak = judge_inputs
    out = tmp_path / "judge"
    with FakeJudgeServer() as a, FakeJudgeServer(offset=1) as b:
        code = main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                f"weak={weak}",
                "--judge",
                f"alpha=fake-model@{a.url}",
                "--judge",
                f"beta=fake-model@{b.url}",
                "--out",
                str(out),
                "--concurrency",
                "2",
                "--model-key",
                "tiny_qwen",
            ]
        )
        assert code in (0, None)
        users = [r["messages"][1]["content"] for r in a.requests]
        # Appendix H's metadata reaches the judge: the method as stage, the model key, the source id
        assert any('"model_key": "tiny_qwen", "stage": "weak"' in u for u in users)
        assert all('"source_id": ' in u for u in users)
        n = 12
        # 12 + 11 non-empty weak candidates, +1 retry for the 'RETRY' row; the empty one never reaches a judge.
        assert len(a.requests) == n + (n - 1) + 1
        assert a.requests[0]["temperature"] == 0.0 and "response_format" in a.requests[0]
    summary = json.loads((out / "summary.json").read_text())
    alpha = summary["per_judge"]["alpha"]
    assert alpha["copy"]["composites"]["overall"]["mean"] == pytest.approx(100.0)
    # weak: 11 rows scored 2 everywhere (25 on the 0-100 scale) + 1 empty row (capped: safety 5, rest 1).
    empty_overall = 0.05 * 100
    assert alpha["weak"]["composites"]["overall"]["mean"] == pytest.approx((11 * 25 + empty_overall) / 12)
    assert alpha["weak"]["n_valid"] == 12 and alpha["weak"]["n_errors"] == 0
    assert alpha["copy"]["by_language"]["zh"]["overall"]["mean"] == pytest.approx(100.0)
    assert alpha["copy"]["by_language"]["en"]["overall"]["n"] == 6
    beta = summary["per_judge"]["beta"]
    assert beta["copy"]["composites"]["overall"]["mean"] == pytest.approx(75.0)
    avg = summary["average"]["copy"]["overall"]
    assert avg == pytest.approx((100 + 75) / 2)
    agreement = summary["agreement"]["alpha__vs__beta"]
    assert agreement["n_items"] == 23  # empty rows have no raw judge scores
    assert agreement["overall_mean_abs_diff"] == pytest.approx(25.0)
    assert agreement["overall_pearson"] == pytest.approx(1.0)
    assert agreement["dimensions"]["task_success"]["exact_agreement"] == 0.0
    rows = [json.loads(line) for line in (out / "judgments" / "alpha" / "weak.jsonl").read_text().splitlines()]
    assert rows[0]["attempts"] == 2 and rows[1]["caps"] == ["empty_candidate"]
    assert "| copy | 100.0" in (out / "summary.md").read_text()


def test_judge_is_resumable_and_reports_invalid_answers(tmp_path, judge_inputs):
    records, good, _ = judge_inputs
    out = tmp_path / "judge"
    with FakeJudgeServer(garbage_always=True) as bad:
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judge",
                f"x=m@{bad.url}",
                "--out",
                str(out),
                "--max-retries",
                "1",
                "--sample",
                "4",
            ]
        )
        assert len(bad.requests) == 4 * 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_judge"]["x"]["copy"]["n_errors"] == 4
    assert summary["per_judge"]["x"]["copy"]["n_parse_errors"] == 4  # counted as parse errors, with their ids
    assert len(summary["per_judge"]["x"]["copy"]["parse_error_ids"]) == 4
    assert summary["per_judge"]["x"]["copy"]["composites"]["overall"]["mean"] is None
    with FakeJudgeServer() as good_server:  # the re-run only asks for the rows that failed
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judge",
                f"x=m@{good_server.url}",
                "--out",
                str(out),
                "--sample",
                "4",
            ]
        )
        assert len(good_server.requests) == 4
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judge",
                f"x=m@{good_server.url}",
                "--out",
                str(out),
                "--sample",
                "4",
            ]
        )
        assert len(good_server.requests) == 4  # everything already judged
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_judge"]["x"]["copy"]["n_valid"] == 4


def test_misaligned_predictions_are_an_error(tmp_path, toy_records, write_rows):
    from polyalign_lf.core.predictions import read_predictions

    def load_predictions(path, by_id):  # the judge's reading: every record optional, questions must match
        return read_predictions(path, by_id.values(), require_all=False, check_question=True)

    by_id = {r["id"]: r for r in toy_records}
    unknown = write_rows(tmp_path / "u.jsonl", [{"id": "nope", "prediction": "x"}])
    with pytest.raises(InputError, match="u.jsonl:1.*not in the records"):
        load_predictions(unknown, by_id)
    wrong_question = write_rows(tmp_path / "q.jsonl", [{"id": "en-0", "prediction": "x", "question": "Other?"}])
    with pytest.raises(InputError, match="misaligned"):
        load_predictions(wrong_question, by_id)
    dup = write_rows(tmp_path / "d.jsonl", [{"id": "en-0", "prediction": "x"}, {"id": "en-0", "prediction": "y"}])
    with pytest.raises(InputError, match="d.jsonl:2.*duplicate"):
        load_predictions(dup, by_id)


def test_unreachable_server_is_a_counted_error(tmp_path, judge_inputs):
    from polyalign_lf.judge.client import JudgeEndpoint
    from polyalign_lf.judge.runner import judge_one

    endpoint = JudgeEndpoint(
        name="dead", model="m", base_url="http://127.0.0.1:9/v1", transport_retries=1, backoff_s=0.01, timeout_s=2
    )
    record = {"id": "en-0", "question": "q?", "human_answer": "a", "language": "en", "bucket_id": "b"}
    row = judge_one(endpoint, record, "an answer")
    assert row["status"] == "error" and "transport" in row["error"]


def test_judges_config_file(tmp_path, judge_inputs):
    records, good, _ = judge_inputs
    config = tmp_path / "judges.yaml"
    with FakeJudgeServer() as server:
        config.write_text(
            f"- name: qwen3\n  model: fake\n  base_url: {server.url}\n  json_schema: false\n"
            "  extra_body: {chat_template_kwargs: {enable_thinking: false}}\n"
        )
        assert main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judges-config",
                str(config),
                "--out",
                str(tmp_path / "o"),
                "--sample",
                "2",
            ]
        ) in (0, None)
        request = server.requests[0]
        assert request["chat_template_kwargs"] == {"enable_thinking": False} and "response_format" not in request
    config.write_text("- name: x\n  model: m\n  url: http://127.0.0.1:1/v1\n")
    assert (
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judges-config",
                str(config),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )


def test_resume_does_not_reuse_judgments_of_changed_candidates(tmp_path, judge_inputs, toy_records, write_rows):
    records, good, _ = judge_inputs
    out = tmp_path / "judge"
    with FakeJudgeServer() as server:
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"m={good}",
                "--judge",
                f"x=m@{server.url}",
                "--out",
                str(out),
                "--sample",
                "3",
            ]
        )
        assert len(server.requests) == 3
        changed = write_rows(tmp_path / "m2.jsonl", [{"id": r["id"], "prediction": "new text"} for r in toy_records])
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"m={changed}",
                "--judge",
                f"x=m@{server.url}",
                "--out",
                str(out),
                "--sample",
                "3",
            ]
        )
        assert len(server.requests) == 6  # new candidates → judged again
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"m={changed}",
                "--judge",
                f"x=other-model@{server.url}",
                "--out",
                str(out),
                "--sample",
                "3",
            ]
        )
        assert len(server.requests) == 9  # another model behind the same judge name → judged again


def test_judge_resumes_past_a_torn_partial_line_and_exits_nonzero_when_all_fail(tmp_path, judge_inputs, capsys):
    records, good, _ = judge_inputs
    out = tmp_path / "judge"
    with FakeJudgeServer(garbage_always=True) as bad:
        code = main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judge",
                f"x=m@{bad.url}",
                "--out",
                str(out),
                "--max-retries",
                "0",
                "--sample",
                "3",
            ]
        )
    err = capsys.readouterr().err
    assert code == 1 and "all 3 judge requests failed" in err and "Traceback" not in err
    # a run killed while appending: one complete judgment and a torn half line
    final = out / "judgments" / "x" / "copy.jsonl"
    with FakeJudgeServer() as good_server:
        main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judge",
                f"x=m@{good_server.url}",
                "--out",
                str(out),
                "--sample",
                "3",
            ]
        )
    rows = final.read_text().splitlines()
    final.unlink()
    partial = final.with_name("copy.jsonl.partial")
    partial.write_text(rows[0] + "\n" + rows[1][: len(rows[1]) // 2])
    with FakeJudgeServer() as good_server:
        code = main(
            [
                "judge",
                "--records",
                records,
                "--predictions",
                f"copy={good}",
                "--judge",
                f"x=m@{good_server.url}",
                "--out",
                str(out),
                "--sample",
                "3",
            ]
        )
        assert code == 0 and len(good_server.requests) == 2  # the torn row and the one never written are redone
    assert not partial.exists() and len(final.read_text().splitlines()) == 3
