"""The RealTime QA news claim sets: the shape the verifier's evaluation reads, one quoted sentence per passage (the
articles carry no licence), and halves that both hold each label."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.evaluation import claim_split, load_claims
from retrieval.ingest.chunker import split_sentences
from tests.conftest import ROOT, SHARED_DATA

HAND = ROOT / "bench" / "news_claims_rt_hand.json"
RULES = ROOT / "bench" / "news_claims_rt_rules.json"


@pytest.mark.parametrize("path", [HAND, RULES], ids=["hand", "rules"])
def test_every_passage_is_one_quoted_sentence_with_its_url(path: Path) -> None:
    passages = json.loads(path.read_text(encoding="utf-8"))["passages"]
    for key, passage in passages.items():
        assert split_sentences(passage["text"]) == [passage["text"]], key
        assert passage["url"].startswith(("http://", "https://")), key


@pytest.mark.parametrize("path", [HAND, RULES], ids=["hand", "rules"])
def test_each_half_holds_both_labels_and_follows_its_article(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    labels = {(c["split"], c["label"]) for c in data["claims"]}
    assert labels == {(s, label) for s in ("tuning", "reported") for label in ("supported", "unsupported")}
    for claim in data["claims"]:
        assert claim["split"] == claim_split(data["passages"][claim["passage"]]["url"]), claim["claim"]


def test_the_sets_load_and_are_big_enough() -> None:
    hand, rules = load_claims(HAND), load_claims(RULES)
    assert len(hand) >= 100
    assert len(hand) + len(rules) >= 300
    assert {c.supported for c in hand} == {c.supported for c in rules} == {True, False}
    hand_articles = {p["url"] for p in json.loads(HAND.read_text(encoding="utf-8"))["passages"].values()}
    rule_articles = {p["url"] for p in json.loads(RULES.read_text(encoding="utf-8"))["passages"].values()}
    assert len(hand_articles) >= 40
    assert not hand_articles & rule_articles  # the rule-made set never reuses a hand-written set's article


@pytest.mark.skipif(not (SHARED_DATA / "realtimeqa-2023-2026-news.jsonl.gz").exists(), reason="no news data here")
def test_the_rule_made_set_is_rebuilt_exactly(tmp_path: Path) -> None:
    out = tmp_path / "rules.json"
    script = ROOT / "scripts" / "build_news_claims.py"
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True, capture_output=True)
    assert out.read_text(encoding="utf-8") == RULES.read_text(encoding="utf-8")
