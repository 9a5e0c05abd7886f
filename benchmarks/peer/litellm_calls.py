"""N chat calls through a LiteLLM Router against provider-stub, from asyncio (run by benchmarks/peer/bench.py
inside the bench-only venv .build/bench-venv). Prints one JSON line: calls, seconds, CPU seconds of this
process (all threads) during the calls only (the import and Router construction are not counted).

Same policy as the gateway's bench agent: model bench-model, fallback bench-fallback (same provider),
2 retries of the same model (llm-gateway --max-retries 2), 60 s timeout, temperature 0.7, the same
prices registered so LiteLLM computes the cost as the gateway does.
"""
import argparse
import asyncio
import json
import os
import resource
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price map online
os.environ.setdefault("LITELLM_LOG", "ERROR")

import litellm  # noqa: E402
from litellm import Router  # noqa: E402


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    options = parser.parse_args()

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    prices = {"input_cost_per_token": 0.0025 / 1000, "output_cost_per_token": 0.01 / 1000,
              "litellm_provider": "openai", "mode": "chat", "max_input_tokens": 128000, "max_tokens": 4096}
    litellm.register_model({"openai/bench-model": prices, "openai/bench-fallback": prices})
    params = {"api_base": options.base_url + "/v1", "api_key": "sk-bench", "timeout": 60}
    router = Router(
        model_list=[
            {"model_name": "bench-model", "litellm_params": {"model": "openai/bench-model", **params}},
            {"model_name": "bench-fallback", "litellm_params": {"model": "openai/bench-fallback", **params}},
        ],
        fallbacks=[{"bench-model": ["bench-fallback"]}],
        num_retries=2,
        timeout=60,
    )
    # One warm-up call, so connection pools and lazy imports are in place before the clock starts
    # (the gateway's figures include its process start, so this favours LiteLLM slightly).
    await router.acompletion(model="bench-model", messages=[{"role": "user", "content": "warm-up"}], temperature=0.7)

    limit = asyncio.Semaphore(options.concurrency)
    failures = 0
    costs = 0.0

    async def call(i):
        nonlocal failures, costs
        async with limit:
            try:
                response = await router.acompletion(
                    model="bench-model", messages=[{"role": "user", "content": f"hello {i}"}], temperature=0.7)
                cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
                if cost:
                    costs += cost
            except Exception:
                failures += 1

    cpu0, t0 = cpu_seconds(), time.monotonic()
    await asyncio.gather(*(call(i) for i in range(options.calls)))
    seconds, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    print(json.dumps({"calls": options.calls, "failures": failures, "seconds": seconds, "cpu_seconds": cpu,
                      "concurrency": options.concurrency, "cost_total": costs,
                      "litellm_version": getattr(litellm, "version", None) or _version()}))


def _version():
    try:
        from importlib.metadata import version
        return version("litellm")
    except Exception:
        return None


if __name__ == "__main__":
    asyncio.run(main())
