#!/usr/bin/env bash
# The real-browser suite (Tests/Browser: pytest + Selenium driving Debian's headless Chromium)
# against a whole stack (scripts/stack) on free ports in a private folder.
#
# Sourced by scripts/test, which runs it after the Swift tests pass. Run on its own:
#   scripts/lib/browser.sh [pytest args]      builds nothing: uses the debug binaries of
#                                             `swift build` (HDMS_BIN_DIR overrides), starts a
#                                             private stack, runs the suite, stops the stack
#   HDMS_BROWSER_URL=http://127.0.0.1:8000/ scripts/lib/browser.sh -k lifecycle
#                                             runs against a stack that is already up
# Screenshots: ${HDMS_TEST_OUTPUT:-.test-output}/browser/. HDMS_BROWSER_TIMEOUT (s, default 420)
# bounds the pytest run as a guard against hangs (the suite takes 2 to 4 minutes);
# HDMS_BROWSER_VENV names a virtualenv to reuse.

HDMS_BROWSER_PACKAGES=(chromium chromium-driver python3-venv)

# Installs Chromium and chromedriver (Debian) and, into the virtualenv VENV, the suite's Python
# packages (PyPI, Tests/Browser/requirements.txt).
hdms_browser_install() {
    local venv=$1 python=/usr/bin/python3
    hdms_apt_install "${HDMS_BROWSER_PACKAGES[@]}"
    [[ -x $python ]] || python=$(command -v python3)
    if [[ ! -x $venv/bin/python ]]; then
        "$python" -m venv "$venv" || return 1
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$HDMS_ROOT/Tests/Browser/requirements.txt" || return 1
}

# Starts the whole suite with its state in DIR from the binaries in BIN_DIR (already built), every
# base port free (replica k listens 100*(k-1) above); writes DIR/env (the stack's variables, for
# `down`) and prints the gateway's URL.
hdms_browser_stack_up() {
    local dir=$1 bin=$2 ports
    mkdir -p "$dir"
    mapfile -t ports < <(hdms_free_port 9)
    cat >"$dir/env" <<ENV
export HDMS_STACK_DIR='$dir' HDMS_SKIP_BUILD=1 HDMS_BIN_DIR='$bin'
export HDMS_GATEWAY_PORT=${ports[0]} HDMS_FRONTEND_PORT=${ports[1]} HDMS_AUTH_PORT=${ports[2]}
export HDMS_TICKETS_PORT=${ports[3]} HDMS_COMMS_PORT=${ports[4]} HDMS_FILES_PORT=${ports[5]}
export HDMS_PGBOUNCER_PORT=${ports[6]} HDMS_POSTGRES_PORT=${ports[7]} HDMS_REDIS_PORT=${ports[8]}
ENV
    # shellcheck source=/dev/null
    # Two instances of every service by default (HDMS_BROWSER_REPLICAS): the scenarios then also
    # prove that live frames cross replicas and that scheduled jobs run side by side.
    if ! (. "$dir/env" && "$HDMS_ROOT/scripts/stack" up --replicas "${HDMS_BROWSER_REPLICAS:-2}") >"$dir/stack-up.log" 2>&1; then
        # The whole log: a stuck instance's thread stacks (scripts/stack's diagnose) are long.
        cat "$dir/stack-up.log" >&2
        hdms_log "the browser suite's stack did not start (see $dir/stack-up.log)"
        return 1
    fi
    # An instance restarted for not becoming ready (scripts/stack) is a bug's trace: show it.
    if grep -q 'then one restart' "$dir/stack-up.log"; then cat "$dir/stack-up.log" >&2; fi
    printf 'http://127.0.0.1:%s/\n' "${ports[0]}"
}

# Stops what hdms_browser_stack_up started in DIR (by PID file, through scripts/stack down).
hdms_browser_stack_down() {
    local dir=$1
    [[ -s $dir/env ]] || return 0
    # shellcheck source=/dev/null
    (. "$dir/env" && "$HDMS_ROOT/scripts/stack" down) >>"$dir/stack-down.log" 2>&1
}

# Runs the suite with VENV's pytest against URL, screenshots into OUT; further args go to pytest.
# In the background (PID in HDMS_BROWSER_PID) so that an interrupted caller can stop its tree.
hdms_browser_run() {
    local venv=$1 url=$2 out=$3
    shift 3
    rm -rf "$out"
    mkdir -p "$out"
    hdms_log "browser suite: $url, screenshots in $out"
    (
        cd "$HDMS_ROOT/Tests/Browser" &&
            HDMS_BROWSER_URL=$url HDMS_BROWSER_OUTPUT=$out \
                exec timeout -k 10 "${HDMS_BROWSER_TIMEOUT:-420}" "$venv/bin/python" -m pytest "$@"
    ) &
    HDMS_BROWSER_PID=$!
    local status=0
    wait "$HDMS_BROWSER_PID" || status=$?
    HDMS_BROWSER_PID=
    ((status != 124)) || hdms_log "browser suite: stopped after ${HDMS_BROWSER_TIMEOUT:-420} s"
    return "$status"
}

# Standalone use (see the top of this file).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    . "$(dirname "$0")/servers.sh"
    hdms_tmp=$(mktemp -d /tmp/hdms-browser.XXXXXX)
    chmod 755 "$hdms_tmp"
    hdms_browser_cleanup() {
        local status=$?
        set +e
        if [[ -n ${HDMS_BROWSER_PID:-} ]]; then kill -- "$HDMS_BROWSER_PID" 2>/dev/null; fi
        hdms_browser_stack_down "$hdms_tmp/stack"
        if [[ ${HDMS_KEEP:-0} == 1 ]]; then hdms_log "kept $hdms_tmp"; else rm -rf "$hdms_tmp"; fi
        exit "$status"
    }
    trap hdms_browser_cleanup EXIT
    trap 'exit 130' INT TERM
    venv=${HDMS_BROWSER_VENV:-$hdms_tmp/venv}
    hdms_browser_install "$venv"
    url=${HDMS_BROWSER_URL:-}
    if [[ -z $url ]]; then
        bin=${HDMS_BIN_DIR:-$(cd "$HDMS_ROOT" && swift build --show-bin-path)}
        url=$(hdms_browser_stack_up "$hdms_tmp/stack" "$bin")
    fi
    hdms_browser_run "$venv" "$url" "${HDMS_TEST_OUTPUT:-$HDMS_ROOT/.test-output}/browser" "$@"
fi
