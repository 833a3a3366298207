"""Measure peak GPU memory of a few AdamW training steps on a randomly initialized Qwen2.5 model.

No download: the model is built from the config below with random weights. Prints one JSON line with
torch.cuda.max_memory_allocated and max_memory_reserved (bytes) and the settings, or a JSON line with
"skipped" when the method needs a package that is not installed (QLoRA needs bitsandbytes and peft).

Example: python benchmarks/memory/measure_peak.py --model Qwen2.5-0.5B --method full --seq 1024 --batch 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time

CONFIGS = {
    "Qwen2.5-0.5B": {
        "hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
        "intermediate_size": 4864, "vocab_size": 151936, "tie_word_embeddings": True,
    },
    "Qwen2.5-1.5B": {
        "hidden_size": 1536, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
        "intermediate_size": 8960, "vocab_size": 151936, "tie_word_embeddings": True,
    },
    "Qwen2.5-7B": {
        "hidden_size": 3584, "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
        "intermediate_size": 18944, "vocab_size": 152064, "tie_word_embeddings": False,
    },
}


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def build_model(name: str, method: str, attn: str, device: str, lora_r: int):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**CONFIGS[name], max_position_embeddings=32768, attn_implementation=attn)
    config.torch_dtype = torch.bfloat16
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    if method == "full":
        return model

    from peft import LoraConfig, get_peft_model

    if method == "qlora":
        import bitsandbytes  # noqa: F401  (fails early when missing)
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        # Quantize the random model by saving and reloading it with a 4-bit config.
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            del model
            torch.cuda.empty_cache()
            quantization = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
            )
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(
                folder, quantization_config=quantization, dtype=torch.bfloat16, device_map={"": 0}
            )
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    lora = LoraConfig(r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def measure(args: argparse.Namespace) -> dict:
    import torch

    device = "cuda"
    torch.cuda.reset_peak_memory_stats()
    model = build_model(args.model, args.method, args.attn, device, args.lora_r)
    if args.grad_ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if args.method != "full":
            model.enable_input_require_grads()
    model.train()

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, fused=True)
    vocab = CONFIGS[args.model]["vocab_size"]
    input_ids = torch.randint(0, vocab, (args.batch, args.seq), device=device)

    started = time.perf_counter()
    for _ in range(args.steps):
        loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()

    return {
        "model": args.model,
        "method": args.method,
        "seq": args.seq,
        "batch": args.batch,
        "grad_ckpt": args.grad_ckpt,
        "attn": args.attn,
        "lora_r": args.lora_r if args.method != "full" else None,
        "params": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in trainable),
        "max_allocated": torch.cuda.max_memory_allocated(),
        "max_reserved": torch.cuda.max_memory_reserved(),
        "steps": args.steps,
        "seconds": round(time.perf_counter() - started, 2),
        "device": torch.cuda.get_device_name(0),
        "total_memory": torch.cuda.get_device_properties(0).total_memory,
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure peak GPU memory of a few training steps.")
    parser.add_argument("--model", choices=sorted(CONFIGS), default="Qwen2.5-0.5B")
    parser.add_argument("--method", choices=("full", "lora", "qlora"), default="full")
    parser.add_argument("--seq", type=int, default=1024, help="sequence length in tokens")
    parser.add_argument("--batch", type=int, default=1, help="micro-batch size")
    parser.add_argument("--grad-ckpt", action="store_true", help="enable gradient checkpointing")
    parser.add_argument("--attn", default="sdpa", help="attention implementation (sdpa, eager)")
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)

    settings = {"model": args.model, "method": args.method, "seq": args.seq, "batch": args.batch, "grad_ckpt": args.grad_ckpt}
    try:
        import torch
    except ImportError:
        _emit({**settings, "skipped": "torch is not installed"})
        return 0
    if not torch.cuda.is_available():
        _emit({**settings, "skipped": "no CUDA device"})
        return 0
    needed = {"lora": ["peft"], "qlora": ["peft", "bitsandbytes"]}.get(args.method, [])
    for package in needed:
        try:
            __import__(package)
        except ImportError:
            _emit({**settings, "skipped": f"{package} is not installed"})
            return 0
    try:
        _emit(measure(args))
    except torch.cuda.OutOfMemoryError as error:
        _emit({**settings, "oom": str(error).splitlines()[0]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
