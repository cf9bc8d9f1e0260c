"""Settings: one object, every knob documented."""

import re

from retrieval.settings import Settings
from tests.conftest import ROOT


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert documented == {field.alias for field in Settings.model_fields.values()}


def test_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", "/srv/newsdesk")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = Settings(_env_file=None)
    assert str(settings.data_dir) == "/srv/newsdesk" and settings.llm_enabled
    assert str(settings.model_cache_dir) == "/srv/newsdesk/models"
