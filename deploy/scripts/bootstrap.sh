#!/usr/bin/env bash
# Installs what HBS needs on a fresh Debian/Ubuntu machine with Python 3.11+, only what is missing:
# Debian packages (SoftHSM2, poppler's pdfsig, DejaVu fonts, Chromium, ICU headers and g++ for PyICU,
# npm, PostgreSQL's pg_dump/pg_restore), uv, the locked Python packages, then the pinned npm packages of the tests.
set -euo pipefail
cd "$(dirname "$0")/../.."

need_apt=()
if ! command -v softhsm2-util >/dev/null 2>&1 || [ ! -e /usr/lib/softhsm/libsofthsm2.so ]; then
  need_apt+=(softhsm2)
fi
command -v pdfsig >/dev/null 2>&1 || need_apt+=(poppler-utils)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)  # the portal's browser tests
# PyICU (the Vietnamese collation of names) has no wheels: uv builds it against libicu once.
pkg-config --exists icu-i18n 2>/dev/null || need_apt+=(libicu-dev pkg-config)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)  # axe-core for the browser tests (deploy/npm-pins.txt)
# pg_dump / pg_restore: backups of PostgreSQL installations (make backup, tests/test_backup.py).
command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 || need_apt+=(postgresql-client)
# promtool and amtool check the alert rules, their unit tests and the Alertmanager configuration.
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)  # validates the compose file offline
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bootstrap: installing Debian packages: ${need_apt[*]}"
  # Wait for another apt (unattended upgrades, a parallel bootstrap) instead of failing at once.
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"HBS needs Python 3.11 or newer; this is {sys.version.split()[0]}")
PY

if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  echo "bootstrap: installing uv"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
fi
UV="$(command -v uv || echo "$HOME/.local/bin/uv")"
# Compiled bytecode up front: the first `make demo` then starts as fast as every later one.
"$UV" sync --frozen --quiet --compile-bytecode

# The browser tests' npm packages (axe-core): the pinned release from the npm registry, its
# tarball checked against the pinned SHA-512 before it is unpacked into var/npm/<name>-<version>/.
while read -r name version sha512; do
  case "$name" in ''|'#'*) continue ;; esac
  dest="var/npm/$name-$version"
  [ -f "$dest/.checked" ] && continue
  echo "bootstrap: fetching $name@$version from the npm registry"
  work="$(mktemp -d)"
  tarball="$(cd "$work" && npm pack --silent "$name@$version")"
  actual="$(sha512sum "$work/$tarball" | cut -d' ' -f1)"
  if [ "$actual" != "$sha512" ]; then
    rm -rf "$work"
    echo "bootstrap: $name@$version does not match its pinned SHA-512 in deploy/npm-pins.txt" >&2
    exit 1
  fi
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xzf "$work/$tarball" -C "$dest" --strip-components=1
  rm -rf "$work"
  touch "$dest/.checked"
done < deploy/npm-pins.txt
