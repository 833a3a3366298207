"""Local datasets checked before any Pod exists: the path is made absolute and its column names are read.

Reading columns stays cheap: the first record of one JSON Lines or JSON file, or a Parquet schema when
pyarrow is importable. Neither `datasets` nor `transformers` is imported here.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from podsmith_core.errors import PlanError

PATH_PREFIXES = (".", "/", "~")
DATA_SUFFIXES = (".jsonl", ".json", ".parquet")
# Metadata files that `Dataset.save_to_disk` writes next to the data. They hold no rows.
METADATA_FILES = frozenset({"dataset_info.json", "state.json", "dataset_dict.json"})
# A JSON file that is not JSON Lines is parsed whole, so larger files are left unchecked.
MAX_JSON_BYTES = 64 * 1024**2


def resolve_dataset_path(name: str) -> str | None:
    """Return the absolute path of a local dataset, or None for a Hub dataset id.

    A name that starts with `.`, `/` or `~` is a path even when it does not exist here: the Hugging Face
    plugin reports a missing path, and on an `ssh` host the directory may exist only there. Any other name
    is local only when it exists on disk, as `datasets.load_dataset` also decides.
    """
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    if name.startswith(PATH_PREFIXES):
        return str(path.absolute())
    return None


def _data_files(root: Path, split: str) -> list[Path]:
    """Return the sorted data files whose path contains `split`, or all data files when none does."""
    if root.is_file():
        return [root] if root.suffix in DATA_SUFFIXES else []
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix in DATA_SUFFIXES
        and path.name not in METADATA_FILES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    named = [path for path in files if split in path.relative_to(root).as_posix()]
    return named or files


def _first_json_record(path: Path) -> dict | None:
    """Return the first record of a JSON Lines file, or of a JSON file holding a list of records."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                break
            if isinstance(record, dict):
                return record
            break
    if path.suffix != ".json" or path.stat().st_size > MAX_JSON_BYTES:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    if isinstance(data, dict) and all(isinstance(value, list) for value in data.values()):
        # A dict of equal-length lists is a table whose keys are the columns.
        return data
    return None


def _columns_of(path: Path) -> list[str] | None:
    if path.suffix == ".parquet":
        if importlib.util.find_spec("pyarrow") is None:
            return None
        import pyarrow.parquet

        return list(pyarrow.parquet.read_schema(path).names)
    record = _first_json_record(path)
    return None if record is None else list(record)


def read_columns(path: str, split: str) -> tuple[Path, list[str]] | None:
    """Return the first data file of a local dataset and its column names, or None when they cannot be read."""
    files = _data_files(Path(path), split)
    if not files:
        return None
    try:
        columns = _columns_of(files[0])
    except (OSError, ValueError):
        # The training job reports an unreadable file itself, so this check only looks for missing columns.
        return None
    return None if columns is None else (files[0], columns)


def check_grpo_columns(path: str, split: str, prompt_column: str, solution_rewards: list[str]) -> None:
    """Raise PlanError when the prompt column, or the `solution` column the rewards take, is missing."""
    found = read_columns(path, split)
    if found is None:
        return
    data_file, columns = found
    listed = ", ".join(columns) or "none"
    if prompt_column not in columns:
        raise PlanError(
            f"Prompt column {prompt_column!r} is missing from {data_file} (columns: {listed}).",
            "Pass --dataset-prompt-column with the column that holds the prompts.",
        )
    if solution_rewards and "solution" not in columns:
        raise PlanError(
            f"Column 'solution' is missing from {data_file} (columns: {listed}), "
            f"and the reward {solution_rewards[0]} compares completions with it.",
            "Add a 'solution' column to the dataset, or choose rewards without it with --reward-funcs "
            "(for example format,tag_count).",
        )


def check_sft_columns(path: str, split: str) -> None:
    """Raise PlanError unless the rows have `messages`, `prompt` and `completion`, or `text`."""
    found = read_columns(path, split)
    if found is None:
        return
    data_file, columns = found
    if "messages" in columns or "text" in columns or {"prompt", "completion"} <= set(columns):
        return
    raise PlanError(
        f"{data_file} has none of the columns trl sft trains on (columns: {', '.join(columns) or 'none'}).",
        "Give the rows a 'messages' column (conversations), 'prompt' and 'completion' columns, or a 'text' column.",
    )
