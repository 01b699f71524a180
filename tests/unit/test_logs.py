from __future__ import annotations

import json
import logging

from jivapay.logs import ConsoleFormatter, JsonFormatter, request_id_var


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "jivapay.test", "levelname": "INFO", "levelno": 20, "msg": "paid %s", "args": ("42",)}
    )
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_message_extras_and_request_id() -> None:
    token = request_id_var.set("req-1")
    try:
        line = JsonFormatter().format(_record(order_id=42))
    finally:
        request_id_var.reset(token)
    payload = json.loads(line)
    assert payload["msg"] == "paid 42"
    assert payload["level"] == "info"
    assert payload["logger"] == "jivapay.test"
    assert payload["request_id"] == "req-1"
    assert payload["order_id"] == 42
    assert "\n" not in line


def test_no_request_id_outside_a_request() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(_record()))


def test_console_format_is_one_readable_line() -> None:
    assert ConsoleFormatter().format(_record(order_id=42)) == "INFO    jivapay.test: paid 42 order_id=42"
