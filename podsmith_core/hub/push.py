"""Pushing a trained model folder to the Hub from the machine where it was saved."""

from __future__ import annotations

from pathlib import Path

from podsmith_core.hub.client import HubAccess


def push_folder(
    folder: Path | str,
    repo_id: str,
    hub: HubAccess,
    private: bool = True,
    commit_message: str = "Upload model trained with podsmith",
) -> str:
    """Create `repo_id` (private unless `private=False`; an existing repo keeps its visibility), upload the
    folder, and return the commit URL."""
    api = hub.api()
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message=commit_message)
    return str(info.commit_url)
