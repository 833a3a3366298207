"""Job steps podsmith runs on the Pod around TRL's training script.

Usage: python podsmith_job.py STEP config/job.json, where STEP is one of prepare-model, prepare-dataset,
wait-vllm, write-result, push-card. Every value comes from the JSON file that podsmith rendered, so no value
passes through a shell. Secrets come from the environment the launch script exported (HF_TOKEN).
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
import urllib.error
import urllib.request


def prepare_model(job: dict) -> None:
    """Save the tokenizer with the shipped chat template next to links to every other model file.

    TRL's grpo script loads the tokenizer from the model path, so the template has to live in a model
    directory: transformers reads `chat_template.jinja` from it.
    """
    from huggingface_hub import snapshot_download
    from transformers import AutoTokenizer

    model = job["model"]
    source = model["name_or_path"]
    if not os.path.isdir(source):
        source = snapshot_download(source, revision=model.get("revision"))
    target = model["prepared_dir"]
    os.makedirs(target, exist_ok=True)

    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=model.get("trust_remote_code", False))
    with open(model["chat_template_file"], encoding="utf-8") as handle:
        tokenizer.chat_template = handle.read()
    tokenizer.save_pretrained(target)

    for name in os.listdir(source):
        destination = os.path.join(target, name)
        if not os.path.exists(destination):
            os.symlink(os.path.abspath(os.path.join(source, name)), destination)
    print(f"Prepared {target} from {model['name_or_path']} with the shipped chat template.", flush=True)


def prepare_dataset(job: dict) -> None:
    """Build the `prompt` conversation column (system prompt first) and subsample, as JSON Lines."""
    from datasets import load_dataset

    data = job["dataset"]
    dataset = load_dataset(data["name"], data.get("config"), split=data["split"])
    column = data["prompt_column"]
    if column not in dataset.column_names:
        raise SystemExit(
            f"Prompt column {column!r} not found in {data['name']}; columns are {dataset.column_names}. "
            "Pass --dataset-prompt-column with one of them."
        )
    fraction = float(data.get("fraction", 1.0))
    if fraction < 1.0:
        count = max(1, int(len(dataset) * fraction))
        dataset = dataset.shuffle(seed=int(data.get("seed", 42))).select(range(count))

    system_prompt = data.get("system_prompt")

    def to_conversation(row: dict) -> dict:
        prompt = row[column]
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        if system_prompt and not (prompt and prompt[0].get("role") == "system"):
            prompt = [{"role": "system", "content": system_prompt}] + list(prompt)
        return {"prompt": prompt}

    removed = [name for name in dataset.column_names if name in (column, "prompt")]
    dataset = dataset.map(to_conversation, remove_columns=removed)
    target = data["prepared_dir"]
    os.makedirs(target, exist_ok=True)
    # The recipe reads split "train", which datasets infers from this file name.
    dataset.to_json(os.path.join(target, "train.jsonl"))
    print(f"Prepared {len(dataset)} rows from {data['name']} in {target}.", flush=True)


def wait_vllm(job: dict) -> None:
    """Wait until the vLLM server answers its health check, or fail after the configured timeout."""
    server = job["vllm_server"]
    url = f"http://127.0.0.1:{server['port']}/health/"
    deadline = time.monotonic() + float(server.get("timeout_s", 900))
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    print(f"vLLM server is up on port {server['port']}.", flush=True)
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(5)
    raise SystemExit(f"vLLM server on port {server['port']} did not answer {url} in time.")


def _latest_state(output_dir: str) -> dict:
    checkpoints = glob.glob(os.path.join(output_dir, "checkpoint-*", "trainer_state.json"))
    candidates = checkpoints + [os.path.join(output_dir, "trainer_state.json")]
    existing = [path for path in candidates if os.path.isfile(path)]
    if not existing:
        return {}
    with open(max(existing, key=os.path.getmtime), encoding="utf-8") as handle:
        return json.load(handle)


def write_result(job: dict) -> None:
    """Write steps, the final loss and the output directory to the result file podsmith reads."""
    state = _latest_state(job["output_dir"])
    losses = [entry[key] for entry in state.get("log_history", []) for key in ("loss", "train_loss") if key in entry]
    result = {
        "steps": state.get("global_step"),
        "final_loss": losses[-1] if losses else None,
        "output_dir": os.path.abspath(job["output_dir"]),
        "hub_model_id": job.get("hub_model_id") if job.get("push_to_hub") else None,
    }
    os.makedirs(os.path.dirname(job["result_file"]), exist_ok=True)
    temporary = job["result_file"] + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(temporary, job["result_file"])
    print(f"Result: {result['steps']} steps, final loss {result['final_loss']}.", flush=True)


def push_card(job: dict) -> None:
    """Upload podsmith's model card as README.md, replacing the one the trainer pushed."""
    from huggingface_hub import HfApi

    api = HfApi(token=os.environ.get("HF_TOKEN"))
    api.upload_file(
        path_or_fileobj=job["model_card"],
        path_in_repo="README.md",
        repo_id=job["hub_model_id"],
        commit_message="Add model card",
    )
    print(f"Model card uploaded to {job['hub_model_id']}.", flush=True)


STEPS = {
    "prepare-model": prepare_model,
    "prepare-dataset": prepare_dataset,
    "wait-vllm": wait_vllm,
    "write-result": write_result,
    "push-card": push_card,
}


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in STEPS:
        raise SystemExit(f"usage: podsmith_job.py {{{','.join(STEPS)}}} JOB_JSON")
    with open(argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    STEPS[argv[0]](job)


if __name__ == "__main__":
    main(sys.argv[1:])
