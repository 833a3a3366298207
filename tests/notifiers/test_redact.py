"""Redactor: every form of a secret is replaced, short values and ordinary text are left alone."""

from __future__ import annotations

import json
import time
from urllib.parse import quote, quote_plus

from podsmith_core.models import Event
from podsmith_core.redact import Redactor

TOKEN = "hf_abcDEF123456ghi789"


def test_redact_plain_value():
    assert Redactor([TOKEN]).redact(f"token is {TOKEN}.") == "token is ***."


def test_redact_encoded_forms():
    secret = "p@ss w/rd+key=1&x"
    redactor = Redactor([secret])

    assert redactor.redact(f"q={quote(secret, safe='')}") == "q=***"
    assert redactor.redact(f"q={quote_plus(secret)}") == "q=***"
    assert redactor.redact(f"path/{quote(secret)}") == "path/***"


def test_redact_json_escaped():
    secret = 'abc"def\\ghi'
    text = json.dumps({"value": secret})

    assert Redactor([secret]).redact(text) == '{"value": "***"}'


def test_redact_url_token_parts():
    url = "https://discord.com/api/webhooks/1234567/AbCdEfGhIjKlMnOpQrSt-token"
    redactor = Redactor([url])

    assert redactor.redact(f"POST {url} failed") == "POST *** failed"
    assert redactor.redact("/api/webhooks/1234567/AbCdEfGhIjKlMnOpQrSt-token") == "/api/webhooks/1234567/***"
    assert redactor.redact("discord.com/api/webhooks/1234567/AbCdEfGhIjKlMnOpQrSt-token") == "***"
    assert redactor.redact("https://discord.com/api is up") == "https://discord.com/api is up"


def test_redact_query_token():
    url = "https://hooks.example.test/notify?token=Zx9Yw8Vu7Ts6Rq5Po4&team=ml"

    assert Redactor([url]).redact("token=Zx9Yw8Vu7Ts6Rq5Po4") == "token=***"


def test_short_values_ignored():
    redactor = Redactor(["abc", "", "12345"])

    assert redactor.redact("abc 12345 abcdef") == "abc 12345 abcdef"
    assert redactor.size == 0


def test_longest_form_first():
    redactor = Redactor(["secret-value-1", "secret-value-12345"])

    assert redactor.redact("x secret-value-12345 y") == "x *** y"


def test_redact_event_fields():
    event = Event(event="failed", message=f"bad {TOKEN}", tail=[f"HF_TOKEN={TOKEN}"], data={"env": {TOKEN: [TOKEN]}})

    clean = Redactor([TOKEN]).redact_event(event)

    assert clean.message == "bad ***"
    assert clean.tail == ["HF_TOKEN=***"]
    assert clean.data == {"env": {"***": ["***"]}}
    assert event.message == f"bad {TOKEN}"


def test_redact_from_settings(tmp_path):
    from podsmith_core.settings import Settings

    settings = Settings.load(cli={"HF_TOKEN": TOKEN, "HF_ENDPOINT": "http://127.0.0.1:9"}, environ={}, project_dir=tmp_path)
    redactor = Redactor.from_settings(settings, extra=["webhook-secret-url"])

    assert redactor.redact(f"{TOKEN} http://127.0.0.1:9 webhook-secret-url") == "*** http://127.0.0.1:9 ***"


def test_redact_many_lines_fast():
    secrets = [f"secret-{index:04d}-{'x' * 24}" for index in range(10)]
    redactor = Redactor(secrets)
    lines = [f"step {index} loss 0.{index} reward 1.{index} {'text ' * 20}" for index in range(10_000)]
    lines[5_000] += secrets[3]

    started = time.monotonic()
    cleaned = [redactor.redact(line) for line in lines]
    elapsed = time.monotonic() - started

    assert cleaned[5_000].endswith("***")
    assert cleaned[4_999] == lines[4_999]
    assert elapsed < 1.0
