# Shared by scripts/serve and scripts/test: system packages, the virtualenv, the Python packages.
# shellcheck shell=bash
#
# Every step checks first and does nothing when its work is already done, so a second run
# installs nothing and starts in a few seconds.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# The exact releases tested, of everything .[dev] installs (scripts/lock writes it).
CONSTRAINTS="$ROOT/requirements/constraints.txt"
cd "$ROOT"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nError: %s\n' "$*" >&2; exit 1; }

# Debian packages the app needs to run (WeasyPrint renders PDFs with Pango; DejaVu is the PDF font).
SERVE_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
# ... and to run the whole test suite: a real browser, a real PostgreSQL server, PDF tools,
# wrk for the benchmark's quick run (tests/test_benchmarks_quick.py), and a Redis server for the
# job queue's tests.
TEST_PACKAGES=(chromium postgresql poppler-utils wrk redis-server)

# package_installed NAME: whether dpkg has NAME installed (cheap: no apt, no network).
package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

# missing_packages PACKAGE...: print the ones that are not installed, plus python3-venv when
# this Python cannot make a virtualenv with pip.
missing_packages() {
  local package
  if ! command -v python3 >/dev/null; then
    echo python3 python3-venv
  elif [[ ! -x "$VENV/bin/python" ]] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo python3-venv
  fi
  for package in "$@"; do
    case "$package" in
      # Accept any PostgreSQL server version already installed (initdb is what the tests use).
      postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && continue ;;
      chromium) command -v chromium >/dev/null && continue ;;
    esac
    package_installed "$package" || echo "$package"
  done
}

# ensure_system_packages PACKAGE...: install what is missing with apt (as root), or say exactly
# what to run and stop.
ensure_system_packages() {
  local missing
  missing="$(missing_packages "$@" | xargs)"
  [[ -z "$missing" ]] && return 0
  command -v apt-get >/dev/null \
    || die "these Debian packages are missing and there is no apt-get here: $missing"
  if [[ "$(id -u)" -ne 0 ]]; then
    printf '\nSome system packages are missing. Install them, then run this command again:\n\n' >&2
    printf '    sudo apt-get update && sudo apt-get install -y %s\n\n' "$missing" >&2
    exit 1
  fi
  say "Installing system packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -q
  # shellcheck disable=SC2086 # one word per package
  apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $missing
}

# ensure_venv EXTRAS: create .venv if needed and install the app with
# "pip install -c requirements/constraints.txt -e .[EXTRAS]" (the releases tested) when
# pyproject.toml or the constraints changed since the last install (a stamp in .venv remembers
# both).
ensure_venv() {
  local extras="$1" spec="." digest stamp
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "Creating the virtualenv in .venv"
    python3 -m venv "$VENV"
  fi
  [[ -f "$CONSTRAINTS" ]] || die "$CONSTRAINTS is missing (scripts/lock writes it)"
  digest="$(cat pyproject.toml "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)"
  # Each set of extras includes the ones before it (app < test < dev), so a larger install
  # satisfies a smaller request.
  local -a enough=(dev)
  case "$extras" in
    "") enough=(app test dev) ;;
    test) enough=(test dev) ;;
  esac
  for stamp in "${enough[@]}"; do
    [[ -f "$VENV/.installed-$stamp" && "$(cat "$VENV/.installed-$stamp")" == "$digest" ]] && return 0
  done
  [[ -n "$extras" ]] && spec=".[$extras]"
  say "Installing Python packages into .venv (the first time takes a minute)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$CONSTRAINTS" -e "$spec"
  echo "$digest" >"$VENV/.installed-${extras:-app}"
}

flask() { "$VENV/bin/flask" --app surveyapp "$@"; }
