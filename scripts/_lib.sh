# Shared helpers for the scripts in this folder (sourced, not run).
# Every path is derived from this file's location, so a clone works from
# any folder.

RSOFT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RSOFT_VAR="$RSOFT_ROOT/var"
RSOFT_VENV="$RSOFT_ROOT/.venv"
RSOFT_PY="$RSOFT_VENV/bin/python"
# sao must match trytond's series (8.0) and is served by trytond itself.
RSOFT_SAO_VERSION=8.0.11

rsoft_log() {
    printf '==> %s\n' "$*" >&2
}

rsoft_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The rsoft modules present in addons/ (each one has a tryton.cfg), so a
# new module joins the demo and the test cache key without editing scripts.
rsoft_modules() {
    local cfg
    for cfg in "$RSOFT_ROOT"/addons/rsoft_*/tryton.cfg; do
        [[ -e $cfg ]] || continue
        basename "$(dirname "$cfg")"
    done
}

# A hash of what a test database template is built from: the module
# sources, the project's dependency list and the installed Tryton packages.
# Tryton's DB_CACHE keys its dumps on module names only.
rsoft_addons_hash() {
    (
        cd "$RSOFT_ROOT"
        find addons -type f ! -path '*/__pycache__/*' ! -name '*.pyc' \
            -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
        sha256sum pyproject.toml
        ls "$RSOFT_VENV"/lib/python3*/site-packages 2>/dev/null \
            | grep -i '^trytond.*\.dist-info$' | LC_ALL=C sort
    ) | sha256sum | cut -c1-16
}

_rsoft_sed_escape() {
    local s=${1//\\/\\\\}
    s=${s//&/\\&}
    printf '%s' "${s//|/\\|}"
}

# Writes a trytond config for the demo from config/demo.conf: the template
# holds @RSOFT_ROOT@ where an absolute path of this clone belongs, and the
# listen port can be overridden with RSOFT_PORT.
#   rsoft_render_demo_conf OUTPUT [DB_FOLDER]
rsoft_render_demo_conf() {
    local out=$1 dbdir=${2:-$RSOFT_VAR/db}
    local port=${RSOFT_PORT:-8000}
    [[ $port =~ ^[0-9]+$ ]] || rsoft_die "RSOFT_PORT must be a number: $port"
    mkdir -p "$(dirname "$out")" "$dbdir"
    sed -e "s|^path = @RSOFT_ROOT@/var/db\$|path = $(_rsoft_sed_escape "$dbdir")|" \
        -e "s|@RSOFT_ROOT@|$(_rsoft_sed_escape "$RSOFT_ROOT")|g" \
        -e "s|^listen = 127\.0\.0\.1:8000\$|listen = 127.0.0.1:$port|" \
        "$RSOFT_ROOT/config/demo.conf" > "$out.tmp"
    mv "$out.tmp" "$out"
}
