from __future__ import annotations

from pathlib import Path

from jivapay.domain.platform.config import DEFAULTS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_business_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [d.key for d in DEFAULTS if f"`{d.key}`" not in text]
    assert not missing, f"docs/configuration.md does not document {missing}"
