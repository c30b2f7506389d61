#!/usr/bin/env bash
# Refresh Weft's gettext catalogue from the sources.
#
#   web/locale/update.sh        (from anywhere; it works from the repository root)
#
# 1. extracts every _() / gettext() / ngettext() string from backend/**.py and
#    the Jinja templates into web/locale/messages.pot (no locations, no header,
#    sorted, so the diff only shows real message changes);
# 2. adds the strings that reach _() only at run time (see DYNAMIC below),
#    marked "#. dynamic", so they are not dropped as obsolete;
# 3. merges the template into web/locale/zh_Hans/LC_MESSAGES/messages.po.
# New entries arrive with an empty msgstr: translate them, then run
# `web/locale/update.sh --check` to list anything still untranslated.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# One run at a time: two at once can lose the catalogue in pybabel's temporary-file rename (seen here).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/weft-locale-update.lock"
  flock 9
fi

PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
PYBABEL=("$PY" -m babel.messages.frontend)
POT=web/locale/messages.pot
PO=web/locale/zh_Hans/LC_MESSAGES/messages.po

check() {
  "$PY" - "$PO" <<'PYEOF'
import sys
from babel.messages.pofile import read_po
with open(sys.argv[1], "rb") as f:
    catalog = read_po(f, locale="zh_Hans")
todo = [m.id for m in catalog if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]
for msgid in todo:
    print("untranslated:", msgid)
print(f"{len(catalog) - len(todo)} translated, {len(todo)} untranslated or fuzzy")
sys.exit(1 if todo else 0)
PYEOF
}

if [ "${1:-}" = "--check" ]; then
  check
  exit
fi

"${PYBABEL[@]}" -q extract -F web/locale/babel.cfg \
  -k _ -k gettext -k ngettext:1,2 \
  --no-location --omit-header --sort-output \
  -o "$POT" .

# Strings passed to _() as variables, so extraction cannot see them: the
# Role / Tier / UserStatus enum values (backend/accounts/models.py) and the
# error page titles (TITLES in backend/core/web.py).
"$PY" - "$POT" <<'PYEOF'
import sys
from babel.messages.pofile import read_po, write_po

DYNAMIC = [
    "agent", "coordinator", "finance", "admin",
    "junior", "mid", "senior",
    "active", "paused", "left",
    "The request could not be read", "Please sign in", "Not allowed", "Not found", "Conflict",
    "Please check your input", "Too many attempts", "Something went wrong", "Error", "No longer available",
]
path = sys.argv[1]
with open(path, "rb") as f:
    catalog = read_po(f)
for msgid in DYNAMIC:
    message = catalog.get(msgid)
    if message is None:
        catalog.add(msgid, auto_comments=["dynamic"])
    elif "dynamic" not in message.auto_comments:
        message.auto_comments.append("dynamic")
with open(path, "wb") as f:
    write_po(f, catalog, omit_header=True, no_location=True, sort_output=True)
PYEOF

if [ -f "$PO" ]; then
  "${PYBABEL[@]}" -q update -i "$POT" -d web/locale -l zh_Hans \
    --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
else
  "${PYBABEL[@]}" -q init -i "$POT" -d web/locale -l zh_Hans
fi

check || true
