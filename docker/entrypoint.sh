#!/usr/bin/env bash
# Entry point of the podsmith image: authorize the key from PUBLIC_KEY, start sshd, then run the command
# (by default the container just stays up). No key or secret is baked into the image: host keys are
# generated on first start, and the authorized key arrives in the environment, as Runpod passes it.
#
# Variables: PUBLIC_KEY (one or more authorized_keys lines), PODSMITH_SSH_DIR (default /root/.ssh),
# PODSMITH_HOST_KEY_DIR (default /etc/ssh), PODSMITH_SSHD_PORT (default 22),
# PODSMITH_SSHD_OPTIONS (extra sshd -o options, space separated).
set -euo pipefail

ssh_dir="${PODSMITH_SSH_DIR:-/root/.ssh}"
host_key_dir="${PODSMITH_HOST_KEY_DIR:-/etc/ssh}"
port="${PODSMITH_SSHD_PORT:-22}"
host_key="$host_key_dir/ssh_host_ed25519_key"

mkdir -p "$ssh_dir" /run/sshd
chmod 700 "$ssh_dir"
authorized_keys="$ssh_dir/authorized_keys"
touch "$authorized_keys"
chmod 600 "$authorized_keys"

if [ -n "${PUBLIC_KEY:-}" ]; then
    while IFS= read -r key; do
        [ -n "$key" ] || continue
        grep -qxF -- "$key" "$authorized_keys" || printf '%s\n' "$key" >> "$authorized_keys"
    done <<< "$PUBLIC_KEY"
else
    echo "[podsmith] PUBLIC_KEY is not set: no key is authorized for SSH." >&2
fi

if [ ! -f "$host_key" ]; then
    mkdir -p "$host_key_dir"
    ssh-keygen -q -t ed25519 -N "" -f "$host_key"
fi

read -r -a extra_options <<< "${PODSMITH_SSHD_OPTIONS:-}"
sshd_args=(
    -p "$port"
    -h "$host_key"
    -o "AuthorizedKeysFile=$authorized_keys"
    -o "PasswordAuthentication=no"
    -o "PermitRootLogin=prohibit-password"
)
for option in "${extra_options[@]}"; do
    sshd_args+=(-o "$option")
done
/usr/sbin/sshd "${sshd_args[@]}"
echo "[podsmith] sshd listening on port $port"

if [ "$#" -eq 0 ]; then
    set -- sleep infinity
fi
exec "$@"
