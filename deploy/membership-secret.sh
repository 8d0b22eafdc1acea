#!/bin/sh
# membership-secret.sh - the Secret bgplb-membership: a fresh 32-byte key that
# authenticates and encrypts layer 2 membership heartbeats (AES-256-GCM).
# Every node mounts it at /etc/bgplb/membership/key.
#
#   deploy/membership-secret.sh              create it in the current cluster
#   deploy/membership-secret.sh --dry-run    print the Secret as YAML instead
#
# Extra arguments go to kubectl (e.g. --kubeconfig FILE, --context C).
# Rotating: create a new one with --dry-run | kubectl apply -f -, then restart
# the DaemonSet (kubectl -n bgplb-system rollout restart ds/bgplb).
set -eu
DRY=
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
umask 077
head -c 32 /dev/urandom > "$TMP/key"
[ "$(wc -c < "$TMP/key")" -eq 32 ] || { echo "membership-secret.sh: cannot read 32 random bytes" >&2; exit 1; }
if [ -n "$DRY" ]; then
	kubectl "$@" -n bgplb-system create secret generic bgplb-membership \
		--from-file=key="$TMP/key" --dry-run=client -o yaml
	exit 0
fi
kubectl "$@" -n bgplb-system create secret generic bgplb-membership --from-file=key="$TMP/key"
