"""Pre-flight findings of the Hugging Face plugin: model access, token rights and dataset.

The trainer plugins check `--chat-template`, the fallback chat template and `--report-to wandb` themselves,
because they decide what the Pod runs.

Hub HTTP errors and network failures become findings instead of exceptions, so `podsmith check`, `plan` and
`run` report all problems at once before any Pod exists.
"""

from __future__ import annotations

import re
from pathlib import Path

from podsmith_core.errors import UsageError
from podsmith_core.hub import facts as probes
from podsmith_core.hub.client import REQUEST_TIMEOUT_S, HubAccess, network_errors, short_error
from podsmith_core.hub.repo_ids import NAME_RE, ModelRef, is_valid_repo_id, resolve_hub_model_id
from podsmith_core.hub.tokens import TokenCheck, write_access_problem
from podsmith_core.models import Finding, ModelFacts, RunSpec

SOURCE = "hub"
LOCAL_PROVIDERS = ("local", "ssh")
DATA_FILE_SUFFIXES = re.compile(r"\.(jsonl?|csv|parquet|arrow|txt)$", re.IGNORECASE)


def finding(level: str, code: str, message: str, fix: str = "") -> Finding:
    return Finding(level=level, code=code, message=message, fix=fix, source=SOURCE)


def _who(token: TokenCheck) -> str:
    if token.info is not None:
        return f"the token for {token.info.user}"
    if token.problem == "missing":
        return "an anonymous request (HF_TOKEN is not set)"
    return "the HF_TOKEN in use"


def model_findings(ref: ModelRef, facts: ModelFacts, probe: probes.ModelProbe, hub: HubAccess, token: TokenCheck) -> list[Finding]:
    """Turn the outcome of reading the model from the Hub into findings."""
    repo, page = ref.repo_id, f"{hub.endpoint}/{ref.repo_id}"
    status = probe.status
    if status == probes.NOT_FOUND:
        return [
            finding(
                "error",
                "model-not-found",
                f"Model {repo} not found on {hub.endpoint}, or it is private and {_who(token)} can't read it.",
                f"Check the id at {page}. For a private model, set HF_TOKEN to a token of an account that can read it.",
            )
        ]
    if status == probes.REVISION_NOT_FOUND:
        return [
            finding(
                "error",
                "revision-not-found",
                f"Revision {ref.revision!r} of model {repo} not found.",
                f"Pass a branch, tag or commit listed at {page}/tree/main, or drop the revision to use main.",
            )
        ]
    if status == probes.GATED_NO_ACCESS:
        fix = f"Request access at {page} and wait for approval, then set HF_TOKEN to a token of the approved account."
        if token.info is not None and token.info.fine_grained:
            fix += " A fine-grained token also needs the permission to read public gated repositories."
        return [
            finding(
                "error",
                "model-gated",
                f"Model {repo} is gated and {_who(token)} can't read its config.json.",
                fix,
            )
        ]
    if status == probes.TOKEN_REJECTED:
        # The token finding already reports that the Hub rejected HF_TOKEN.
        return [] if token.problem == "invalid" else [
            finding("error", "hub-error", f"The Hub rejected the request for model {repo}: {probe.detail}", "Check HF_TOKEN.")
        ]
    if status == probes.UNREACHABLE:
        return [
            finding(
                "error",
                "hub-unreachable",
                f"Could not reach the Hub at {hub.endpoint} to read model {repo}: {probe.detail}",
                "Check the network connection and HF_ENDPOINT, then run the command again.",
            )
        ]
    if status == probes.HTTP_ERROR:
        return [
            finding(
                "error",
                "hub-error",
                f"The Hub returned an error for model {repo}: {probe.detail}",
                f"Run the command again later; if it persists, check {page}.",
            )
        ]

    found: list[Finding] = []
    if not probe.config_found:
        found.append(
            finding(
                "error",
                "model-config-missing",
                f"Model {repo} has no readable config.json ({probe.detail}).",
                "Pick a Transformers model repository: one with config.json next to its weights.",
            )
        )
    if facts.gated:
        found.append(
            finding("info", "model-gated-readable", f"Model {repo} is gated; {_who(token)} can read it, so it is used.")
        )
    if facts.private:
        found.append(finding("info", "model-private", f"Model {repo} is private; {_who(token)} can read it."))
    return found


def local_model_findings(spec: RunSpec, ref: ModelRef) -> list[Finding]:
    if spec.provider in LOCAL_PROVIDERS:
        return []
    return [_remote_provider_finding(spec, "local-model-remote-provider", f"Model directory {ref.repo_id}", "hf upload")]


def _remote_provider_finding(spec: RunSpec, code: str, subject: str, upload_command: str) -> Finding:
    """Return the error for a local path, which a provider other than `local` or `ssh` can't read from its Pod."""
    return finding(
        "error",
        code,
        f"{subject} is local, but provider {spec.provider!r} trains on a Pod that can't read it.",
        f"Upload the directory to the Hub (`{upload_command}`) and pass its id, or use --provider local or ssh.",
    )


def target_findings(
    spec: RunSpec, model_name: str | None, hub: HubAccess, token: TokenCheck
) -> tuple[str | None, list[Finding]]:
    """Check the token and its write access to the target repository; return (target repo id, findings).

    `model_name` is None when the model id is invalid: the write check then uses the namespace of
    --hub-model-id, or the token owner's.
    """
    if not spec.push_to_hub:
        if token.problem == "invalid":
            return None, [_invalid_token(hub)]
        return None, []
    if token.problem == "missing":
        return None, [
            finding(
                "error",
                "token-missing",
                "HF_TOKEN is not set, so the trained model can't be pushed to the Hub.",
                f"Create a write token at {hub.settings_url()} and set HF_TOKEN in .env, or pass --no-push.",
            )
        ]
    if token.problem == "invalid":
        return None, [_invalid_token(hub)]
    if token.info is None:
        return None, [
            finding(
                "error",
                "token-unverified",
                f"Could not check HF_TOKEN with {hub.endpoint}/api/whoami-v2: {token.detail}",
                "Check the network connection and HF_ENDPOINT, then run the command again.",
            )
        ]
    target: str | None = None
    if model_name is not None or spec.hub_model_id:
        try:
            target = resolve_hub_model_id(spec.hub_model_id, token.info.user, model_name or "model", spec.trainer)
        except UsageError as exc:
            return None, [finding("error", "hub-model-id", exc.message, exc.fix)]
    namespace = target.split("/")[0] if target else token.info.user
    reason = write_access_problem(token.info, namespace)
    if reason is not None:
        kind = f"a fine-grained token with repo.write for {namespace}" if token.info.fine_grained else "a write token"
        return target, [
            finding(
                "error",
                "token-cannot-write",
                f"HF token for {token.info.user} can't write to {namespace} ({reason}).",
                f"Create {kind} at {hub.settings_url()} and set HF_TOKEN, "
                "or pass --hub-model-id under a namespace you can write to.",
            )
        ]
    if target is None:
        return target, []
    visibility = "public" if spec.public else "private"
    return target, [finding("info", "hub-model-id", f"The trained model will be pushed to {target} ({visibility}).")]


def _invalid_token(hub: HubAccess) -> Finding:
    return finding(
        "error",
        "token-invalid",
        f"HF_TOKEN was rejected by the Hub at {hub.endpoint} (401 on whoami): it is invalid, expired or revoked.",
        f"Create a new token at {hub.settings_url()} and set HF_TOKEN.",
    )


def is_local_dataset(name: str) -> bool:
    """Return whether a dataset name is a local path rather than a Hub id.

    Hub repository names never start with `.`, so `.`, `/` and `~` mark a path, and so does a data file
    suffix or a path that exists.
    """
    if name.startswith((".", "/", "~")) or DATA_FILE_SUFFIXES.search(name):
        return True
    return Path(name).expanduser().exists()


def local_dataset_findings(spec: RunSpec, name: str) -> list[Finding]:
    """Check a local dataset path: it must exist, and the provider must train where the path can be read."""
    exists = Path(name).expanduser().exists()
    if spec.provider == "ssh":
        where = "" if exists else " It was not found on this machine."
        return [
            finding(
                "warning",
                "local-dataset-ssh",
                f"Dataset {name!r} is a local path.{where} The job on the SSH host reads it there, "
                "so it must exist at that path on the host.",
                "Make sure the host has the dataset at that path, or pass a Hub dataset id (org/name).",
            )
        ]

    found: list[Finding] = []
    if not exists:
        found.append(
            finding(
                "error",
                "dataset-path-not-found",
                f"Dataset {name!r} looks like a local path, but it was not found.",
                "Pass an existing directory or a Hub dataset id (org/name) to --dataset-name.",
            )
        )
    if spec.provider not in LOCAL_PROVIDERS:
        found.append(
            _remote_provider_finding(
                spec, "local-dataset-remote-provider", f"Dataset {name!r}", "hf upload --repo-type dataset"
            )
        )
    return found


def dataset_findings(spec: RunSpec, hub: HubAccess, token: TokenCheck) -> list[Finding]:
    """Check that the dataset exists on the Hub and that the token can read its files, or check a local path."""
    name = (spec.dataset_name or "").strip()
    if not name:
        return []
    if is_local_dataset(name):
        return local_dataset_findings(spec, name)
    if not (is_valid_repo_id(name) or NAME_RE.match(name)):
        return [
            finding(
                "error",
                "dataset-id",
                f"Invalid dataset {name!r}: expected a Hub id (org/name) or a local path.",
                "Pass --dataset-name org/name, or the path of a local file or directory.",
            )
        ]
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    page = f"{hub.endpoint}/datasets/{name}"
    try:
        info = hub.api().dataset_info(name, timeout=REQUEST_TIMEOUT_S)
        files = [sibling.rfilename for sibling in info.siblings or []]
        if info.gated and files:
            probe_file = "README.md" if "README.md" in files else files[0]
            url = hf_hub_url(name, probe_file, repo_type="dataset", endpoint=hub.endpoint)
            get_hf_file_metadata(url, token=hub.request_token, timeout=REQUEST_TIMEOUT_S)
    except GatedRepoError:
        return [
            finding(
                "error",
                "dataset-gated",
                f"Dataset {name} is gated and {_who(token)} can't read its files.",
                f"Request access at {page}, then set HF_TOKEN to a token of the approved account.",
            )
        ]
    except RepositoryNotFoundError:
        return [
            finding(
                "error",
                "dataset-not-found",
                f"Dataset {name} not found on {hub.endpoint}, or it is private and {_who(token)} can't read it.",
                f"Check --dataset-name at {page}, or pass a local path.",
            )
        ]
    except (HfHubHTTPError, *network_errors()) as exc:
        if token.problem == "invalid":
            return []
        return [
            finding(
                "error",
                "dataset-unverified",
                f"Could not check dataset {name} on {hub.endpoint}: {short_error(exc)}",
                "Check the network connection and HF_ENDPOINT, then run the command again.",
            )
        ]
    if info.gated:
        return [finding("info", "dataset-gated-readable", f"Dataset {name} is gated; {_who(token)} can read it.")]
    return []
