from pathlib import Path

import pytest

from podsmith_core.errors import UsageError
from podsmith_core.settings import SOURCE_CLI, SOURCE_DEFAULT, SOURCE_ENV, Settings


def test_env_file_beats_environment(tmp_path):
    (tmp_path / ".env").write_text("HF_TOKEN=from-file-123456\nRUNPOD_API_KEY=rp-file-123456\n")
    settings = Settings.load(environ={"HF_TOKEN": "from-env-123456"}, project_dir=tmp_path)
    assert settings.get("HF_TOKEN") == "from-file-123456"
    assert settings.source("HF_TOKEN") == f".env ({tmp_path / '.env'})"


def test_cli_beats_env_file(tmp_path):
    (tmp_path / ".env").write_text("DISCORD_WEBHOOK_URL=http://127.0.0.1:1/file\n")
    settings = Settings.load(
        cli={"DISCORD_WEBHOOK_URL": "http://127.0.0.1:1/cli"}, environ={}, project_dir=tmp_path
    )
    assert settings.get("DISCORD_WEBHOOK_URL") == "http://127.0.0.1:1/cli"
    assert settings.source("DISCORD_WEBHOOK_URL") == SOURCE_CLI


def test_environment_beats_default(tmp_path):
    settings = Settings.load(environ={"SSH_PRIVATE_KEY_PATH": "/keys/id"}, project_dir=tmp_path)
    assert settings.get("SSH_PRIVATE_KEY_PATH") == "/keys/id"
    assert settings.source("SSH_PRIVATE_KEY_PATH") == SOURCE_ENV
    assert Settings.load(environ={}, project_dir=tmp_path).source("SSH_PRIVATE_KEY_PATH") == SOURCE_DEFAULT


def test_explicit_env_file_replaces_project_file(tmp_path):
    (tmp_path / ".env").write_text("HF_TOKEN=project-123456\n")
    other = tmp_path / "other.env"
    other.write_text("HF_TOKEN=other-123456\n")
    settings = Settings.load(env_file=other, environ={}, project_dir=tmp_path)
    assert settings.get("HF_TOKEN") == "other-123456"


def test_missing_env_file_rejected(tmp_path):
    with pytest.raises(UsageError) as caught:
        Settings.load(env_file=tmp_path / "nope.env", environ={})
    assert "nope.env" in caught.value.message
    assert "--env-file" in caught.value.fix


def test_secrets_masked_in_rows(tmp_path):
    settings = Settings.load(environ={"HF_TOKEN": "hf_secret_value_1"}, project_dir=tmp_path)
    row = next(row for row in settings.rows() if row.key == "HF_TOKEN")
    assert row.display() == "****"
    assert "hf_secret_value_1" in settings.secret_values()


def test_huggingface_hub_token_alias(tmp_path):
    settings = Settings.load(environ={"HUGGINGFACE_HUB_TOKEN": "hf_alias_123"}, project_dir=tmp_path)
    assert settings.hf_token == "hf_alias_123"


def test_check_command_shows_sources(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from podsmith_core.cli import main

    (tmp_path / ".env").write_text("HF_TOKEN=hf_should_not_print_1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PODSMITH_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(main, ["check"], env={"HF_TOKEN": "env-value-123456", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "hf_should_not_print_1" not in result.output
    assert "env-value-123456" not in result.output
    hf_line = next(line for line in result.output.splitlines() if "HF_TOKEN" in line and "HUGGINGFACE" not in line)
    assert "****" in hf_line
    assert ".env" in hf_line


def test_cli_error_is_one_redacted_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from podsmith_core.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PODSMITH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PODSMITH_DEBUG", raising=False)
    secret = "hf_leakyTokenValue_987654321"
    result = CliRunner().invoke(
        main,
        ["plan", "--provider", "local", "--repo-id", "org/model", "--env-file", f"{secret}.env"],
        env={"HF_TOKEN": secret},
    )
    assert result.exit_code == 1
    assert secret not in result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "error: Env file '***.env' not found."
    assert lines[1] == "  fix: Pass an existing file to --env-file."
    assert "Traceback" not in result.output


def test_invalid_env_line_rejected(tmp_path):
    env = tmp_path / ".env"
    env.write_text("HF_TOKEN=abc123456\nthis is not an assignment\nOK=1\nWANDB_API_KEY=\"unclosed\n")
    with pytest.raises(UsageError) as caught:
        Settings.load(environ={}, project_dir=tmp_path)
    assert caught.value.message == f"Invalid lines 2, 4 in {env}: not KEY=value, or a quote that is never closed."
    assert "abc123456" not in str(caught.value)
