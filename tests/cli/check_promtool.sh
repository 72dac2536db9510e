#!/usr/bin/env bash
# The Prometheus exposition that cli_test_format and cli_test_serve produced
# (kept in $MW_EXPOSITION_DIR by keep_exposition), checked by promtool. A test
# of its own so that a machine without promtool reports it SKIPPED, while the
# producers' other checks still run and pass or fail on their own.
# Environment (from ctest): MW_EXPOSITION_DIR. Exit 77: skipped.
set -u
export LC_ALL=C

: "${MW_EXPOSITION_DIR:?MW_EXPOSITION_DIR must name the directory the producers wrote}"
if ! command -v promtool >/dev/null; then
    echo "SKIP: promtool is not installed (Debian: apt-get install prometheus; Homebrew: brew install prometheus)"
    exit 77
fi

. "$(dirname "$0")/lib.sh"
mw_test_init promtool

for producer in format serve; do
    case_ "cli_test_$producer"
    shopt -s nullglob
    files=("$MW_EXPOSITION_DIR/$producer"/*.prom)
    shopt -u nullglob
    if [ ${#files[@]} -eq 0 ]; then
        not_run "cli_test_$producer kept no exposition in $MW_EXPOSITION_DIR/$producer (was it skipped?)"
        continue
    fi
    for f in "${files[@]}"; do
        what=$(basename "$f" .prom)
        if out=$(promtool check metrics <"$f" 2>&1); then pass; else fail "$what: promtool check metrics: $out"; fi
    done
done

mw_test_done
