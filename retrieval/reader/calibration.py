"""The numbers that tie the reader's probabilities to decisions, read from the file scripts/calibrate.py writes.

Each belongs to the weights it was measured with: a retrained reader reads on another scale, so its thresholds are
written beside its weights (`weights/calibration.json`) by `scripts/calibrate.py --write`, from SQuAD train articles
the reader never saw, and never edited by hand. The modules that use them bind them to their own names
(`compose.CONFIDENT`, `citations.SUPPORTED`, ...), which is also where calibrate.py sweeps them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from retrieval.reader.files import WEIGHTS_DIR

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    confidence_slope: float  # how much the passage's fused score moves the refusal's evidence (answer/compose.py)
    confident: float  # evidence below which a question is refused
    supported: float  # verifier probability from which a citation counts as backed (answer/citations.py)
    contradicted: float  # ... and under which it is a contradiction no LLM judge is asked about
    reader_weight: float  # the reader's log-odds in search's fused score (search.py)
    reader_pool: float  # how many leading passages search has the reader read (search.py; a whole number)
    passage_weight: (
        float  # the passage's score next to a sentence's reading when choosing the lead (answer/extractive.py)
    )
    follow_margin: float  # how far behind the lead's merit a sentence may follow it (answer/extractive.py)
    quote_floor: float  # reader probability under which no sentence is quoted (answer/extractive.py)
    answers: float  # reader probability from which a sentence answers: its passage is shown, its span marked
    redundant: float  # embedding cosine from which two sentences say the same thing (answer/extractive.py)
    fragment_words: float  # a text without a closing stop and shorter than this is a caption or fragment (ibid.)
    topic_floor: float  # cosine of the closest passage below which a question is off-topic (answer/compose.py)
    min_relevance: float  # ... below which, when the reader did not read, a question is refused
    supporting_relevance: float  # cosine below which a passage the reader did not pick is not shown to the answerer


def load_calibration(weights_dir: Path = WEIGHTS_DIR) -> Calibration:
    values = json.loads((weights_dir / CALIBRATION_FILE).read_text())["values"]
    return Calibration(**{f.name: float(values[f.name]) for f in fields(Calibration)})


CALIBRATION = load_calibration()
