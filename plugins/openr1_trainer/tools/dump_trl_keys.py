"""Write the field names of TRL's config dataclasses to podsmith_openr1/data/trl_keys.json.

TRL 0.18 drops unknown YAML keys without a word, so podsmith checks every generated key against these
sets before a Pod exists. Run this with the Python of a virtual environment that has the pinned TRL:

    python3.11 -m venv .venv-trl018
    .venv-trl018/bin/pip install trl==0.18.0 transformers==4.52.3 torch accelerate
    .venv-trl018/bin/python plugins/openr1_trainer/tools/dump_trl_keys.py
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "podsmith_openr1" / "data" / "trl_keys.json"


def field_names(cls: type) -> list[str]:
    # Fields with init=False (such as `_n_gpu`) cannot be set from a config file.
    return sorted(field.name for field in dataclasses.fields(cls) if field.init)


def collect() -> dict[str, object]:
    import transformers
    import trl
    from trl import GRPOConfig, ModelConfig, ScriptArguments, SFTConfig
    from trl.scripts import vllm_serve

    return {
        "trl_version": trl.__version__,
        "transformers_version": transformers.__version__,
        "classes": {
            "GRPOConfig": field_names(GRPOConfig),
            "SFTConfig": field_names(SFTConfig),
            "ModelConfig": field_names(ModelConfig),
            "ScriptArguments": field_names(ScriptArguments),
            "VllmServeArguments": field_names(vllm_serve.ScriptArguments),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    data = collect()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    counts = ", ".join(f"{name} {len(keys)}" for name, keys in data["classes"].items())
    print(f"Wrote {args.output} for TRL {data['trl_version']}: {counts}")


if __name__ == "__main__":
    main()
