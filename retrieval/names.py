"""Peoples and their countries, shared by the verifier's training rules and its run-time name check."""

from __future__ import annotations

DEMONYMS = {
    "Canadian": "Canada", "American": "the United States", "British": "Britain", "Chinese": "China",
    "French": "France", "German": "Germany", "Japanese": "Japan", "Australian": "Australia", "Indian": "India",
    "Russian": "Russia", "Italian": "Italy", "Spanish": "Spain", "Mexican": "Mexico", "Brazilian": "Brazil",
    "Israeli": "Israel", "Ukrainian": "Ukraine", "Egyptian": "Egypt", "Irish": "Ireland", "Polish": "Poland",
}  # fmt: skip
