#!/usr/bin/env bash
# The interface's translation catalogues (xrm_core/translations): extract the strings of the Python
# code and the templates, merge them into each language's .po, and compile the .mo files that are
# committed next to them (tests/test_ui.py checks the two are in step).
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
for po in "$DIR"/*/LC_MESSAGES/messages.po; do
    "$PYBABEL" compile -i "$po" -o "${po%.po}.mo"
done
