"""Benchmark: `polyalign judge` request throughput against an OpenAI-compatible server.

A local fake server answers every request after a fixed latency (default 200 ms, like a loaded vLLM judge),
so the figure measures the client: how close it gets to the ideal ``concurrency / latency`` answers per
second. Goal (no goal in the issue; ours): ≥ 90% of the ideal at concurrency 8 and 32, i.e. the client
keeps a judge server saturated. Writes ``benchmarks/results/judge.json`` (``--quick``: ``results/quick/judge.json``).

    python benchmarks/bench_judge.py            # 1,000 answers per concurrency level
    python benchmarks/bench_judge.py --quick    # 160
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("POLYALIGN_NO_PROGRESS", "1")

from _results import write_result  # noqa: E402

from polyalign_lf.judge.client import JudgeEndpoint  # noqa: E402
from polyalign_lf.judge.rubric import DIMENSIONS  # noqa: E402
from polyalign_lf.judge.runner import run_judge  # noqa: E402

ANSWER = json.dumps(
    {"scores": {d: 4 for d in DIMENSIONS}, "contradicts_context": False, "major_errors": [], "rationale": "fine"}
)


def serve(latency_s: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(latency_s)
            data = json.dumps({"choices": [{"message": {"content": ANSWER}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default listen backlog (5) would drop simultaneous connections
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    n = 160 if args.quick else 1000
    records = {
        f"r{k}": {
            "id": f"r{k}",
            "question": f"Question {k}?",
            "context": "",
            "dialogue_history": [],
            "human_answer": "An answer.",
            "language": "en",
            "bucket_id": "en|single|qa|short",
        }
        for k in range(n)
    }
    predictions = {rid: f"Candidate answer {rid}." for rid in records}
    server = serve(args.latency)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    figures, goals = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in (1, 8, 32):
            count = n if concurrency > 1 else max(10, n // 16)
            ids = list(records)[:count]
            endpoint = JudgeEndpoint(name=f"c{concurrency}", model="fake", base_url=url)
            start = time.perf_counter()
            run_judge(
                endpoint, "m", records, ids, predictions, Path(tmp) / f"c{concurrency}.jsonl", concurrency=concurrency
            )
            elapsed = time.perf_counter() - start
            rate = count / elapsed
            ideal = concurrency / args.latency
            figures[f"answers_per_s_c{concurrency}"] = round(rate, 2)
            figures[f"fraction_of_ideal_c{concurrency}"] = round(rate / ideal, 3)
            goals[f"fraction_of_ideal_c{concurrency}"] = "≥ 0.90" if concurrency > 1 else "(reference)"
            print(
                f"concurrency {concurrency:>2}: {count} answers in {elapsed:.2f} s = {rate:.1f}/s "
                f"({rate / ideal:.1%} of the ideal {ideal:.0f}/s; goal {goals[f'fraction_of_ideal_c{concurrency}']})"
            )
    server.shutdown()
    out = write_result(
        "judge",
        figures,
        goals,
        quick=args.quick,
        settings={"answers": n, "server_latency_s": args.latency, "quick": args.quick},
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
