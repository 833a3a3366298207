"""Demo assets built locally in seconds: a tiny causal LM, its tokenizer and an arithmetic dataset.

The model has random weights from a small Llama config (2 layers, hidden size 32) and a byte-level BPE
tokenizer trained on generated text, so training runs on a CPU without any download. Datasets are JSON
Lines files in local directories that `datasets.load_dataset(directory)` reads with a `train` split:
`grpo/` contains `prompt` (a conversation) and `solution`, and `sft/` contains `messages`.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

# Bump when the assets change, so cached copies are rebuilt.
DEMO_VERSION = "1"

EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"
SPECIAL_TOKENS = [PAD_TOKEN, "<|im_start|>", EOS_TOKEN]

# ChatML, as Qwen2 instruct models use it: every turn, the assistant's included, ends with the EOS token.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class DemoAssets:
    """Paths of the demo model (with and without a chat template) and the demo datasets."""

    model: Path
    model_without_chat_template: Path
    grpo_dataset: Path
    sft_dataset: Path


def default_cache_dir() -> Path:
    """Return `PODSMITH_DEMO_DIR` when set, otherwise podsmith's user cache directory plus `demo`."""
    configured = os.environ.get("PODSMITH_DEMO_DIR")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("podsmith")) / "demo"


def _problems(count: int, seed: int) -> list[tuple[str, str, str]]:
    """Return (question, worked reasoning, answer) triples of small additions and multiplications."""
    rng = random.Random(seed)
    problems = []
    for _ in range(count):
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        if rng.random() < 0.5:
            problems.append((f"What is {a} + {b}?", f"{a} + {b} = {a + b}", str(a + b)))
        else:
            problems.append((f"What is {a} * {b}?", f"{a} * {b} = {a * b}", str(a * b)))
    return problems


def _tokenizer_corpus() -> list[str]:
    lines = []
    for question, reasoning, answer in _problems(400, seed=1):
        lines.append(f"user\n{question}\nassistant\n<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>")
        lines.append(f"User: {question}\n\nAssistant: The answer is {answer}.")
    lines.append("System: You are a helpful assistant. Think step by step.")
    return lines


def build_tokenizer(with_chat_template: bool = True):
    """Train a byte-level BPE tokenizer (vocabulary of about 1,000) and wrap it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1000,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_tokenizer_corpus(), trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN)
    if with_chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    else:
        # A base model's tokenizer: documents end with the end-of-text token and there is no chat template.
        tokenizer.eos_token = PAD_TOKEN
    return tokenizer


def build_demo_model(directory: Path | str, with_chat_template: bool = True) -> Path:
    """Save a randomly initialised 2-layer Llama model and its tokenizer to `directory` as safetensors."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    directory = Path(directory)
    tokenizer = build_tokenizer(with_chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def build_demo_datasets(directory: Path | str, size: int = 64) -> tuple[Path, Path]:
    """Write the GRPO and SFT arithmetic datasets under `directory` and return their directories."""
    directory = Path(directory)
    grpo_dir = directory / "grpo"
    sft_dir = directory / "sft"
    problems = _problems(size, seed=0)

    grpo_rows = [
        {"prompt": [{"role": "user", "content": question}], "solution": answer}
        for question, _reasoning, answer in problems
    ]
    sft_rows = [
        {
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": f"<think>\n{reasoning}\n</think>\n{answer}"},
            ]
        }
        for question, reasoning, answer in problems
    ]
    _write_jsonl(grpo_dir / "train.jsonl", grpo_rows)
    _write_jsonl(sft_dir / "train.jsonl", sft_rows)
    return grpo_dir, sft_dir


def ensure_demo_assets(cache_dir: Path | str | None = None) -> DemoAssets:
    """Build the demo model, its template-less variant and the datasets once, and reuse them afterwards."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    assets = DemoAssets(
        model=root / "model",
        model_without_chat_template=root / "model-no-chat-template",
        grpo_dataset=root / "data" / "grpo",
        sft_dataset=root / "data" / "sft",
    )
    marker = root / "VERSION"
    if marker.is_file() and marker.read_text().strip() == DEMO_VERSION:
        return assets

    build_demo_model(assets.model, with_chat_template=True)
    build_demo_model(assets.model_without_chat_template, with_chat_template=False)
    build_demo_datasets(root / "data")
    marker.write_text(DEMO_VERSION + "\n")
    return assets
