#!/usr/bin/env bash
# Runs a command inside a private D-Bus session bus with a real, unlocked Secret Service
# (gnome-keyring), for the keychain tests: `bash scripts/with-secret-service.sh vitest run …`.
#
# - Private: its own bus (dbus-run-session) and keyring files in a temporary XDG_DATA_HOME, so the
#   developer's own keyring is never touched; everything goes away when the command ends.
# - Works as root in a container: no systemd user session, no X display, no prompts (the login
#   keyring is created and unlocked with a throwaway password read from stdin).
# - Fails loudly (exit 1) when a piece is missing or the Secret Service does not answer, instead of
#   letting the tests skip. Debian/Ubuntu: apt-get install -y gnome-keyring dbus libsecret-tools
# - A gnome-keyring that goes away (the tests stop it with SIGSTOP, among other faults) is replaced,
#   unlocked, on the next call: the bus starts the daemon from our own service file, with the same
#   password. Debian's file would start a locked one that asks for an unlock prompt there is no
#   display for, and every keychain call after that hangs (seen once in CI).
set -euo pipefail

# A throwaway password for the throwaway keyring.
password="anthropic-oauth-test"

if [ "${1:-}" = "--inside-session" ]; then
  shift
  # Creates the "login" keyring on first use (it becomes the default collection) and unlocks it.
  printf '%s' "$password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  has_owner() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
  }
  for _ in $(seq 50); do has_owner && break; sleep 0.1; done
  if ! has_owner; then
    echo "with-secret-service: gnome-keyring did not register org.freedesktop.secrets on the session bus" >&2
    exit 1
  fi
  # Prove the Secret Service really stores and returns a secret before handing over.
  printf '%s' canary | secret-tool store --label='anthropic-oauth canary' service anthropic-oauth-canary username canary
  if [ "$(secret-tool lookup service anthropic-oauth-canary username canary)" != canary ]; then
    echo "with-secret-service: the Secret Service did not return the canary secret" >&2
    exit 1
  fi
  secret-tool clear service anthropic-oauth-canary username canary
  # Tells the tests a Secret Service is expected: they fail, not skip, when it is not there.
  export ANTHROPIC_OAUTH_TEST_SECRET_SERVICE=1
  exec "$@"
fi

missing=""
for command in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
  command -v "$command" >/dev/null 2>&1 || missing="$missing $command"
done
if [ -n "$missing" ]; then
  echo "with-secret-service: missing:$missing. Install them (Debian/Ubuntu):" >&2
  echo "  sudo apt-get install -y gnome-keyring dbus libsecret-tools" >&2
  exit 1
fi
if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -m 700 "$scratch/data" "$scratch/runtime" "$scratch/config"
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/runtime" XDG_CONFIG_HOME="$scratch/config"
# The session bus looks for services in $XDG_DATA_HOME/dbus-1/services before the system's.
mkdir -p "$scratch/data/dbus-1/services"
cat >"$scratch/data/dbus-1/services/org.freedesktop.secrets.service" <<EOF
[D-BUS Service]
Name=org.freedesktop.secrets
Exec=/bin/sh -c "printf '%s' '$password' | exec gnome-keyring-daemon --unlock --foreground --components=secrets"
EOF
unset GNOME_KEYRING_CONTROL DBUS_SESSION_BUS_ADDRESS
# dbus-daemon's "Failed to set fd limit" notice (unprivileged containers) is harmless.
dbus-run-session -- bash "$0" --inside-session "$@"
