"""An LLM endpoint's contract, against a real vLLM: the OpenAI API through the `openai` client (models,
chat, completions, streaming, token usage, a bad request's 4xx), and what the platform reads of its
/metrics - every dashboard panel, the alert rules and the KEDA query - through a real Prometheus."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
import yaml

from apps.common.processes import wait_until
from components.kit import llm, promql
from tests.llm.conftest import NAME, NAMESPACE, POD, ROOT, RULES, Vllm
from tests.llm.tiny_model import CONTEXT

LONG = CONTEXT - 64
"""Tokens of a long request: seconds of decoding on the CPU, so that others wait behind it."""
DASHBOARD = ROOT / "components" / "assets" / "dashboards" / "llm.json"


def client(vllm: Vllm) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{vllm.url}/v1", api_key="unused", max_retries=0, timeout=120)


# --------------------------------------------------------------------------- the OpenAI API


def test_the_model_is_listed_under_the_endpoints_name(vllm: Vllm) -> None:
    models = client(vllm).models.list()
    assert [m.id for m in models.data] == [NAME]
    assert models.data[0].model_dump()["max_model_len"] == CONTEXT


def test_a_chat_completion_answers_and_counts_its_tokens(vllm: Vllm) -> None:
    reply = client(vllm).chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "Where are the weights cached?"}], max_tokens=8
    )
    (choice,) = reply.choices
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("length", "stop")
    usage = reply.usage
    assert usage is not None and usage.prompt_tokens > 0 and 1 <= usage.completion_tokens <= 8
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_a_completion_answers(vllm: Vllm) -> None:
    reply = client(vllm).completions.create(model=NAME, prompt="The platform serves", max_tokens=5)
    assert reply.choices[0].text is not None and reply.usage is not None and reply.usage.completion_tokens <= 5


def test_a_streamed_chat_arrives_in_chunks_and_ends_with_its_usage(vllm: Vllm) -> None:
    stream = client(vllm).chat.completions.create(
        model=NAME,
        messages=[{"role": "user", "content": "Scale on the queue."}],
        max_tokens=6,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) >= 2, "tokens arrive one chunk at a time"
    assert chunks[-1].usage is not None and 1 <= chunks[-1].usage.completion_tokens <= 6
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)


@pytest.mark.parametrize(
    ("request_kwargs", "error", "status"),
    [
        ({"model": "not-served"}, openai.NotFoundError, 404),
        ({"max_tokens": CONTEXT * 4}, openai.BadRequestError, 400),
        ({"messages": [{"role": "user", "content": "word " * (CONTEXT * 2)}]}, openai.BadRequestError, 400),
        ({"temperature": -3}, openai.BadRequestError, 400),
    ],
    ids=["unknown model", "more tokens than the context", "a prompt longer than the context", "bad sampling"],
)
def test_a_bad_request_is_a_4xx_and_the_server_keeps_serving(
    vllm: Vllm, request_kwargs: dict[str, Any], error: type[openai.APIStatusError], status: int
) -> None:
    body: dict[str, Any] = {"model": NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    with pytest.raises(error) as caught:
        client(vllm).chat.completions.create(**{**body, **request_kwargs})
    assert caught.value.status_code == status
    assert httpx.get(f"{vllm.url}/health", timeout=10).status_code == 200


def test_a_body_that_is_not_json_is_refused_with_a_4xx(vllm: Vllm) -> None:
    response = httpx.post(
        f"{vllm.url}/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert 400 <= response.status_code < 500


# --------------------------------------------------------------------------- what the platform reads


def exported(vllm: Vllm) -> set[str]:
    text = httpx.get(f"{vllm.url}/metrics", timeout=30).text
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_vllm_exports_every_metric_the_platform_reads(vllm: Vllm) -> None:
    client(vllm).chat.completions.create(model=NAME, messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    missing = llm.VLLM_METRICS - exported(vllm)
    assert not missing, f"the dashboard, alerts or autoscaling read metrics this vLLM does not export: {missing}"


def test_the_platform_reads_no_vllm_metric_it_has_not_declared() -> None:
    """Every vllm:* name in the dashboard and the rules is one VLLM_METRICS declares (and the test above
    checks against the real server)."""
    text = DASHBOARD.read_text() + RULES.read_text()
    used = set(re.findall(r"vllm:[a-z0-9_]+", text)) | (
        {"http_requests_total"} & set(re.findall(r"http_requests_total", text))
    )
    assert used and used <= llm.VLLM_METRICS, used - llm.VLLM_METRICS


def query(prometheus: str, expression: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=10).json()
    assert response["status"] == "success", (expression, response)
    return list(response["data"]["result"])


@pytest.fixture(scope="module")
def traffic(vllm: Vllm, prometheus: str) -> str:
    """Requests of every kind (answered, streamed, refused), scraped over a few seconds: the series the
    panels and rules read exist and have rates."""
    api = client(vllm)
    wait_until(lambda: bool(query(prometheus, "vllm:num_requests_running")), 90, "a first scrape")
    for round_ in range(3):
        api.chat.completions.create(model=NAME, messages=[{"role": "user", "content": f"hi {round_}"}], max_tokens=6)
        list(
            api.chat.completions.create(
                model=NAME, messages=[{"role": "user", "content": "stream"}], max_tokens=4, stream=True
            )
        )
        with pytest.raises(openai.BadRequestError):
            api.chat.completions.create(model=NAME, messages=[{"role": "user", "content": "x"}], max_tokens=CONTEXT * 4)
        time.sleep(2)
    wait_until(
        lambda: bool(query(prometheus, "rate(vllm:time_to_first_token_seconds_count[5m]) > 0")),
        90,
        "a rate of first tokens",
    )
    return prometheus


def panels() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"].replace("$model", ".*"))
        for panel in board["panels"]
        for target in panel["targets"]
    ]


@pytest.mark.parametrize(("title", "expression"), panels(), ids=[f"{t}: {e[:40]}" for t, e in panels()])
def test_every_dashboard_query_returns_series_from_a_real_vllm(traffic: str, title: str, expression: str) -> None:
    assert query(traffic, expression), f"panel {title!r}: {expression} returned nothing"


def alerts(prometheus: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"])


def test_the_alert_rules_evaluated_on_what_vllm_exported(traffic: str) -> None:
    """Time to first token over an impossible SLO fires for the served model (and for no other endpoint);
    a healthy server's queue, KV cache and error rate fire nothing."""
    wait_until(
        lambda: any(
            a["labels"]["alertname"] == "LlmTimeToFirstTokenOverSlo" and a["state"] == "firing" for a in alerts(traffic)
        ),
        90,
        "LlmTimeToFirstTokenOverSlo to fire",
    )
    firing = {(a["labels"]["alertname"], a["labels"].get("model_name")) for a in alerts(traffic)}
    assert firing == {("LlmTimeToFirstTokenOverSlo", NAME)}, firing
    # The other rules' expressions, as Prometheus evaluates them now: empty on a healthy server, while
    # each expression's own metric exists (so the emptiness is the rule's verdict, not a missing series).
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    for name, metric in (
        ("LlmQueueKeepsGrowing", "vllm:num_requests_waiting"),
        ("LlmKvCacheNearlyFull", "vllm:kv_cache_usage_perc"),
        ("LlmRequestsFailing", 'http_requests_total{handler=~"/v1/.*"}'),
    ):
        assert query(traffic, metric), metric
        assert query(traffic, rules[name]) == [], name


def value(prometheus: str, expression: str) -> float:
    (sample,) = query(prometheus, expression)
    return float(sample["value"][1])


def test_the_keda_query_sees_this_endpoints_queue_and_no_other(vllm: Vllm, traffic: str) -> None:
    """The query an LlmEndpoint hands KEDA, on the replica's real series: long requests sent at once to a
    server that runs one sequence at a time (--max-num-seqs 1) wait in its queue, and the query counts
    them; the same query for another endpoint reads 0. Prometheus evaluates the query at every second of
    the last two minutes (a subquery): polling it while the CPU decodes would miss the moment."""
    assert POD.startswith(f"{NAME}-predictor-")
    api = client(vllm)

    def long_request(index: int) -> int:
        reply = api.chat.completions.create(
            model=NAME,
            messages=[{"role": "user", "content": f"queue {index}"}],
            max_tokens=LONG,
            extra_body={"min_tokens": LONG, "ignore_eos": True},
        )
        assert reply.usage is not None
        return reply.usage.completion_tokens

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(long_request, range(6))) == [LONG] * 6
    time.sleep(5)  # scrapes after the last one ended

    def peak(predictor: str) -> float:
        return value(traffic, f"max_over_time(({promql.waiting_requests_query(NAMESPACE, predictor)})[2m:1s])")

    assert peak(f"{NAME}-predictor") >= 1, "requests waited in the queue, and the KEDA query saw none"
    assert peak("other-predictor") == 0.0
