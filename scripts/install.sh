#!/usr/bin/env bash
# Installs what the platform needs and is missing: Debian packages, then the project's virtualenv.
# Idempotent: a second run checks and installs nothing. Used by `make run` and `make test`.
#   scripts/install.sh          what the platform needs to run
#   scripts/install.sh --test   and what its tests need besides (Debian's chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=0
case "${1:-}" in
  --test) for_tests=1 ;;
  "") ;;
  *) printf 'usage: %s [--test]\n' "$0" >&2; exit 2 ;;
esac

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run this as root: it installs Debian packages and starts the Docker daemon."
command -v apt-get >/dev/null || die "this installer needs a Debian machine (apt-get not found)."

have() { command -v "$1" >/dev/null 2>&1; }
pg_initdb() { have initdb || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

packages=()
have dockerd || packages+=(docker.io)
# Debian 13 ships the docker CLI as its own package.
if ! have docker; then
  if apt-cache show docker-cli >/dev/null 2>&1; then packages+=(docker-cli); else packages+=(docker.io); fi
fi
have nginx || packages+=(nginx)
have redis-server || packages+=(redis-server)
have git || packages+=(git)
have debootstrap || packages+=(debootstrap)
have iptables || packages+=(iptables)
# The fleet tests and benchmark run hosts as Docker daemons in network namespaces (ip netns, veth pairs).
have ip || packages+=(iproute2)
# The edge's dynamic routing (Lua in nginx), certificates (certbot), the ACME test server (pebble)
# and the benchmarks' load generator (wrk).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for package in libnginx-mod-http-lua lua-resty-core certbot python3-certbot-dns-cloudflare pebble wrk; do
  installed "$package" || packages+=("$package")
done
pg_initdb || packages+=(postgresql)
# The browser tests (tests/e2e) drive Debian's Chromium through Playwright: Playwright's own browser
# download is not used, so the browser comes from Debian like everything else.
if [ $for_tests = 1 ]; then have chromium || packages+=(chromium); fi
# Debian's own python3 runs the platform (see the virtualenv below).
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)

if [ ${#packages[@]} -gt 0 ]; then
  # Only unique names.
  mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
  log=$(mktemp /tmp/hosting-apt.XXXXXX.log)
  say "Installing Debian packages: ${packages[*]} (log: $log)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >"$log" 2>&1 || die "apt-get update failed, so ${packages[*]} cannot be installed (see $log)."
  # policy-rc.d 101: the packages must not start their distro services; the platform runs its own.
  policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
  policy_created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && policy_created=1
  fi
  status=0
  apt-get install -y -q --no-install-recommends "${packages[@]}" >>"$log" 2>&1 || status=$?
  [ $policy_created = 1 ] && rm -f "$policy"
  if [ $status != 0 ]; then
    case " ${packages[*]} " in
      *" docker.io "*) have dockerd || die "Docker could not be installed: apt-get install docker.io failed (see $log)." ;;
    esac
    die "apt-get install ${packages[*]} failed (see $log)."
  fi
  have dockerd || die "Docker could not be installed: dockerd is still missing after apt-get install docker.io."
fi

# The platform's own unprivileged system user. The web server (portal, API, git, uploads), the
# control worker and beat run as it and it owns the platform's state under var/; only the agent and
# the edge keep root (launcher/stack.py says why). The launcher sets the permissions of var/.
platform_user=${PLATFORM_USER:-hosting}
if ! getent passwd "$platform_user" >/dev/null; then
  say "Creating the system user $platform_user"
  useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$platform_user" \
    || die "could not create the system user $platform_user."
fi
as_platform_user() { setpriv --reuid="$platform_user" --regid="$platform_user" --init-groups -- "$@"; }
# It runs this code from here, so it must pass through every directory above the clone. One it
# cannot pass (a clone under /root, 0700) gets an ACL: search for the platform user only, no listing.
closed=()
dir=$(pwd -P)
while [ "$dir" != / ]; do
  as_platform_user test -x "$dir" 2>/dev/null || closed=("$dir" "${closed[@]}")
  dir=$(dirname "$dir")
done

if [ ${#closed[@]} -gt 0 ] && ! have setfacl; then
  say "Installing acl (setfacl)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends acl; } >/dev/null 2>&1 \
    || die "apt-get install acl failed, so $platform_user cannot be let through ${closed[0]}."
fi
for dir in "${closed[@]}"; do  # from the top down: below a closed one, every one looked closed
  as_platform_user test -x "$dir" 2>/dev/null && continue
  say "Letting the platform user $platform_user pass through $dir (an ACL: search only, it lists nothing)"
  setfacl -m "u:$platform_user:x" "$dir" || die "could not let $platform_user pass through $dir; clone the repository where it can (e.g. under /opt)."
done
as_platform_user test -r manage.py \
  || die "the platform user $platform_user cannot read $(pwd): clone the repository where it can (e.g. under /opt)."

# The project's virtualenv, rebuilt when pyproject.toml or the CLI's cli/pyproject.toml changes. It is
# made from Debian's python3: the platform user runs it too, and an interpreter under /root (pyenv's)
# is out of its reach.
python=/usr/bin/python3
if [ -e .venv/bin/python ] && ! as_platform_user test -x "$(readlink -f .venv/bin/python)"; then
  say "Rebuilding .venv on $python: the platform user $platform_user cannot run its interpreter"
  rm -rf .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml cli/pyproject.toml | sha256sum | cut -c1-16)
if [ ! -e "$stamp" ]; then
  say "Installing the project's Python packages into .venv"
  [ -x .venv/bin/python ] || "$python" -m venv .venv || die "could not create a virtualenv with $python."
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' \
    || die "pip could not install the project's Python packages (see the messages above)."
  # The customers' CLI (`hosting`, its own package with no dependencies): the tests run it as customers do.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e ./cli \
    || die "pip could not install the CLI from ./cli (see the messages above)."
  rm -f .venv/.installed-*
  touch "$stamp"
fi
