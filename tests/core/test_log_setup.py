import logging
import subprocess
import sys
import textwrap


def test_library_logs_are_redacted_and_quiet(tmp_path):
    # A library that configures the root logger at import (as the runpod SDK does) and logs a URL that
    # embeds a token (as httpx does at INFO) must not put the token on stderr.
    script = textwrap.dedent(
        """
        import logging
        from podsmith_core.log_setup import configure_logging
        from podsmith_core.settings import Settings

        configure_logging()
        Settings.load(environ={"DISCORD_WEBHOOK_URL": "http://127.0.0.1:9/api/webhooks/1/tokenSECRET12345"})
        logging.basicConfig(level=logging.INFO)
        logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1:9/api/webhooks/1/tokenSECRET12345")
        logging.getLogger("podsmith.runpod").warning("create failed: body echoed tokenSECRET12345")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "tokenSECRET12345" not in result.stderr
    assert "HTTP Request" not in result.stderr
    assert "WARNING podsmith.runpod: create failed: body echoed ***" in result.stderr


def test_filter_without_secrets_keeps_message():
    from podsmith_core.log_setup import RedactingFilter

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "value %s", ("42",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "value 42"
