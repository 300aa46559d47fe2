"""Session fixtures: the embedded dataset is built once into a temporary cache for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from reference.corpus import EmbeddedDataset, build_embedded_dataset
from reference.data import load_data_shard
from reference.tokenizer import ByteLuts, build_sentencepiece_luts, load_tokenizer


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pgolf-cache")


@pytest.fixture(scope="session")
def embedded(cache_dir: Path) -> EmbeddedDataset:
    return build_embedded_dataset(cache_dir)


@pytest.fixture(scope="session")
def sp(embedded: EmbeddedDataset) -> spm.SentencePieceProcessor:
    return load_tokenizer(embedded.tokenizer_path)


@pytest.fixture(scope="session")
def luts(sp: spm.SentencePieceProcessor) -> ByteLuts:
    return build_sentencepiece_luts(sp, 1024)


@pytest.fixture(scope="session")
def val_stream(embedded: EmbeddedDataset) -> torch.Tensor:
    """The whole (untruncated) val split as int64."""
    return torch.cat([load_data_shard(f) for f in embedded.val_files]).to(torch.int64)
