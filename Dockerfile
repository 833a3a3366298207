# podsmith image: Open R1 preinstalled at the pinned commit with the pinned stack, sshd started by the
# entry point. Use it with `--image <your tag> --skip-setup` to skip the setup step on the Pod.
#
#   docker build -t <you>/podsmith-openr1:latest .
#
# The stack must match plugins/openr1_trainer/podsmith_openr1/pins.py; docker/stack.txt is the marker the
# trainer compares with its own pins before it reuses this environment (a test checks they agree).
# Open R1 recommends CUDA 12.4 for torch 2.6.0.
FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04

ARG OPENR1_COMMIT=e93340ea28b9358f103e148d6d2cb8cc9e12a011
ARG UV_VERSION=0.7.8
ENV DEBIAN_FRONTEND=noninteractive \
    ENV_DIR=/opt/podsmith/openr1-env \
    UV_NO_CACHE=1 \
    PIP_NO_CACHE_DIR=1

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        openssh-server git git-lfs curl ca-certificates build-essential python3 python3-pip \
    && rm -rf /var/lib/apt/lists/* \
    && rm -f /etc/ssh/ssh_host_* \
    && mkdir -p /run/sshd

RUN python3 -m pip install --no-cache-dir "uv==${UV_VERSION}"

COPY docker/overrides.txt /opt/podsmith/overrides.txt

RUN git clone https://github.com/huggingface/open-r1.git "${ENV_DIR}/open-r1" \
    && git -C "${ENV_DIR}/open-r1" checkout --quiet "${OPENR1_COMMIT}"

WORKDIR ${ENV_DIR}/open-r1
RUN uv venv --python 3.11 "${ENV_DIR}/venv" \
    && source "${ENV_DIR}/venv/bin/activate" \
    && uv pip install "vllm==0.8.5.post1" --override /opt/podsmith/overrides.txt \
    && GIT_LFS_SKIP_SMUDGE=1 uv pip install --override /opt/podsmith/overrides.txt -e ".[dev]" \
    && uv pip install "peft>=0.14" "bitsandbytes>=0.45" --override /opt/podsmith/overrides.txt \
    && uv pip install "flash-attn==2.7.4.post1" --no-build-isolation

COPY docker/stack.txt ${ENV_DIR}/.podsmith-stack
COPY docker/entrypoint.sh /usr/local/bin/podsmith-entrypoint

WORKDIR /workspace

EXPOSE 22
ENTRYPOINT ["/usr/local/bin/podsmith-entrypoint"]
CMD ["sleep", "infinity"]
