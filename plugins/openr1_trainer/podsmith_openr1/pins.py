"""The software stack installed on the Pod, pinned so that generated recipes match the fields they are checked against."""

from __future__ import annotations

from dataclasses import dataclass

OPENR1_REPO = "huggingface/open-r1"
OPENR1_GIT_URL = f"https://github.com/{OPENR1_REPO}.git"
# Open R1 commit with dataset mixtures (`dataset_mixture`) and the configurable prompt column.
OPENR1_COMMIT = "e93340ea28b9358f103e148d6d2cb8cc9e12a011"

PYTHON_VERSION = "3.11"
VLLM_VERSION = "0.8.5.post1"
TORCH_VERSION = "2.6.0"
TRL_VERSION = "0.18.0"
TRANSFORMERS_VERSION = "4.52.3"
ACCELERATE_VERSION = "1.4.0"
DEEPSPEED_VERSION = "0.16.8"
# Newer flash-attn releases fail to import against torch 2.6 with an "undefined symbol" error.
FLASH_ATTN_VERSION = "2.7.4.post1"
PEFT_REQUIREMENT = "peft>=0.14"
BITSANDBYTES_REQUIREMENT = "bitsandbytes>=0.45"

# Where the podsmith image (see the Dockerfile) keeps its preinstalled environment.
IMAGE_ENV_DIR = "/opt/podsmith/openr1-env"


@dataclass(frozen=True)
class StackPins:
    """One environment on the Pod: Open R1 at a commit plus the pinned packages around it."""

    openr1_commit: str = OPENR1_COMMIT
    python: str = PYTHON_VERSION
    vllm: str = VLLM_VERSION
    torch: str = TORCH_VERSION
    trl: str = TRL_VERSION
    transformers: str = TRANSFORMERS_VERSION
    accelerate: str = ACCELERATE_VERSION
    deepspeed: str = DEEPSPEED_VERSION

    def marker(self) -> str:
        """Return the marker file text that identifies an environment built with these pins."""
        lines = [f"{name}={value}" for name, value in self.as_dict().items()]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, str]:
        return {
            "open_r1": self.openr1_commit,
            "python": self.python,
            "vllm": self.vllm,
            "torch": self.torch,
            "trl": self.trl,
            "transformers": self.transformers,
            "accelerate": self.accelerate,
            "deepspeed": self.deepspeed,
        }

    def overrides(self) -> list[str]:
        """Return the requirement overrides that win over Open R1's own setup.py pins."""
        return [
            f"vllm=={self.vllm}",
            f"torch=={self.torch}",
            f"trl[vllm]=={self.trl}",
            f"transformers=={self.transformers}",
            f"accelerate=={self.accelerate}",
            f"deepspeed=={self.deepspeed}",
            "huggingface-hub<1.0",
        ]
