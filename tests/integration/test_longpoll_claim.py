"""A long-poll on a queued job must not hide it from the worker's claim.

The long-poll registers as a waiter and re-reads the job; it used to read it `FOR SHARE`, and a
worker claiming at that moment (`FOR UPDATE SKIP LOCKED`) skipped the row, so about 1 call in 20
waited for the next poll instead of the NOTIFY that was already sent (the /v1 facade's p99 was the
poll interval). Here the worker polls only every 60 s: every job of a few hundred sequential calls
must still be claimed through its notification.
"""

import json
import urllib.request

from stack import Stack
from v1_support import unique


def test_sequential_waited_jobs_are_all_claimed_through_notify():
    with Stack.start(gateway_args=["--poll-interval", "60"]) as stack:
        model = unique("gpt-claim")
        stack.add_model(model, provider="openai")
        agent = stack.create_agent(unique("claim"), model)
        body = json.dumps({"model": f"agent:{agent}", "messages": [{"role": "user", "content": "hi"}]}).encode()
        headers = {"Content-Type": "application/json", **stack.headers()}
        for _ in range(300):
            request = urllib.request.Request(stack.registry_url + "/v1/chat/completions", body, headers)
            # A job skipped by the claim would wait for the 60 s poll: this timeout fails the test.
            with urllib.request.urlopen(request, timeout=20) as reply:
                assert reply.status == 200
        rows = stack.sql("""
            SELECT count(*), max(extract(epoch FROM started_at - created_at))
              FROM llm_jobs WHERE agent_id = %s AND status = 'succeeded'
            """, (agent,))
        count, slowest_claim_seconds = rows[0]
        assert count == 300
        assert slowest_claim_seconds < 20, f"a job waited {slowest_claim_seconds}s to be claimed (the poll, not NOTIFY)"
