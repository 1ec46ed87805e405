#!/usr/bin/env bash
# The interface's translation catalogues (xrm_core/translations, and plugins' <package>/translations):
# extract the strings of the Python code and the templates, merge them into each language's .po, and
# compile the .mo files that are committed next to them (tests/test_ui.py checks the core's are in step).
#
#   scripts/translations.sh            # extract + update + compile
#   scripts/translations.sh compile    # only compile (after editing a .po)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYBABEL=.venv/bin/pybabel
DIR=xrm_core/translations
if [[ "${1:-}" != "compile" ]]; then
    "$PYBABEL" extract -F "$DIR/babel.cfg" -k _l -o "$DIR/messages.pot" --no-location --sort-output \
        --project "XRM" --copyright-holder "XRM contributors" xrm_core
    for locale in fr es; do
        if [[ -f "$DIR/$locale/LC_MESSAGES/messages.po" ]]; then
            "$PYBABEL" update -i "$DIR/messages.pot" -d "$DIR" -l "$locale" --no-fuzzy-matching --ignore-obsolete
        else
            "$PYBABEL" init -i "$DIR/messages.pot" -d "$DIR" -l "$locale"
        fi
    done
fi
# Plugins that ship catalogues: <package>/translations/ with its own babel.cfg (relative to the package).
for plugin_dir in plugins/*/src/xrm_*/translations; do
    [[ -f "$plugin_dir/babel.cfg" ]] || continue
    if [[ "${1:-}" != "compile" ]]; then
        "$PYBABEL" extract -F "$plugin_dir/babel.cfg" -k _l -k lazy_gettext -o "$plugin_dir/messages.pot" --no-location \
            --sort-output --project "XRM $(basename "$(dirname "$(dirname "$(dirname "$plugin_dir")")")")" \
            --copyright-holder "XRM contributors" "$(dirname "$plugin_dir")"
        for locale in fr es; do
            if [[ -f "$plugin_dir/$locale/LC_MESSAGES/messages.po" ]]; then
                "$PYBABEL" update -i "$plugin_dir/messages.pot" -d "$plugin_dir" -l "$locale" --no-fuzzy-matching --ignore-obsolete
            else
                "$PYBABEL" init -i "$plugin_dir/messages.pot" -d "$plugin_dir" -l "$locale"
            fi
        done
    fi
done
for po in "$DIR"/*/LC_MESSAGES/messages.po plugins/*/src/xrm_*/translations/*/LC_MESSAGES/messages.po; do
    [[ -f "$po" ]] || continue
    "$PYBABEL" compile -i "$po" -o "${po%.po}.mo"
done
