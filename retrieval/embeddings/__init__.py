"""Sentence embeddings for newsdesk: all-MiniLM-L6-v2 on onnxruntime, built offline from a PyPI package."""

from retrieval.embeddings.model import MODEL_NAME, Embedder, get_embedder

__all__ = ["MODEL_NAME", "Embedder", "get_embedder"]
