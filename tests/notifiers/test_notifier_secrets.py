"""No secret reaches a notification body, a log record or a failure text, whatever form it takes."""

from __future__ import annotations

import logging
from urllib.parse import quote

from notifier_test_values import DISCORD_TOKEN, HF_TOKEN, RUNPOD_API_KEY, WEBHOOK_TOKEN

from podsmith_core.models import Event
from podsmith_notifiers.discord import DiscordPlugin
from podsmith_notifiers.webhook import WebhookPlugin

# The text a GraphQL client error carries: the whole request, env values included.
QUERY_ERROR = (
    'QueryError: mutation { podFindAndDeployOnDemand(input: { name: "podsmith-r1", '
    f'env: [{{ key: "HF_TOKEN", value: "{HF_TOKEN}" }}] }}) {{ id }} }} '
    f"failed at https://api.runpod.io/graphql?api_key={RUNPOD_API_KEY}"
)


def secret_events(webhook_url: str, discord_url: str) -> list[Event]:
    common = {"project": "podsmith", "repo_id": "unsloth/gemma-2b", "run_id": "r1"}
    return [
        Event(event="pod_failed", message=QUERY_ERROR, level="error", tail=[f"export HF_TOKEN={HF_TOKEN}"], **common),
        Event(event="log", message=f"posting to {webhook_url}", stage="setup", **common),
        Event(event="notice", message=f"token={quote(HF_TOKEN)} discord={discord_url}", data={"key": RUNPOD_API_KEY}, **common),
        Event(event="notice", message=f"bare token {WEBHOOK_TOKEN} and {DISCORD_TOKEN}", **common),
    ]


def test_no_secret_in_bodies(recorder, make_settings):
    webhook_url = recorder.url(f"/hooks/{WEBHOOK_TOKEN}")
    discord_url = recorder.url(f"/api/webhooks/123456/{DISCORD_TOKEN}")
    settings = make_settings(
        HF_TOKEN=HF_TOKEN,
        RUNPOD_API_KEY=RUNPOD_API_KEY,
        PROGRESS_WEBHOOK_URL=webhook_url,
        DISCORD_WEBHOOK_URL=discord_url,
    )
    webhook, discord = WebhookPlugin(), DiscordPlugin()

    try:
        for item in secret_events(webhook_url, discord_url):
            webhook.notify(event=item, settings=settings)
            discord.notify(event=item, settings=settings)
        webhook.flush_notifications(deadline_s=5, settings=settings)
        discord.flush_notifications(deadline_s=5, settings=settings)
    finally:
        for notifier in webhook.notifiers + discord.notifiers:
            notifier.close()

    bodies = [request.text for request in recorder.requests]
    assert len(bodies) == 8
    secrets = [HF_TOKEN, RUNPOD_API_KEY, WEBHOOK_TOKEN, DISCORD_TOKEN, webhook_url, discord_url, quote(HF_TOKEN)]
    for body in bodies:
        for secret in secrets:
            assert secret not in body
        assert "***" in body
    assert "podFindAndDeployOnDemand" in bodies[0]


def test_no_secret_in_failure_log(dead_url, make_settings, caplog):
    settings = make_settings(PROGRESS_WEBHOOK_URL=dead_url, HF_TOKEN=HF_TOKEN)
    webhook = WebhookPlugin(backoff_base_s=0.01)

    try:
        with caplog.at_level(logging.DEBUG, logger="podsmith.notifiers"):
            for item in secret_events(dead_url, dead_url):
                webhook.notify(event=item, settings=settings)
            webhook.flush_notifications(deadline_s=5, settings=settings)
    finally:
        for notifier in webhook.notifiers:
            notifier.close()

    assert webhook.notifiers[0].stats.failed == 4
    assert caplog.records
    for record in caplog.records:
        assert WEBHOOK_TOKEN not in record.getMessage()
        assert HF_TOKEN not in record.getMessage()
