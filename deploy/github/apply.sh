#!/usr/bin/env bash
# The main-branch side of orchestrator.yml: apply the merged playbooks, after the
# environment's approval, with the state database the reconciler uses (so the two share the
# run lock: an apply never overlaps a reconcile cycle), and say what happened in the job
# summary.
#
# Tested against the emulator by tests/ops/test_github_workflow.py.
#
# Environment:
#   SHARINGTOOLS_BASE_URL, SHARINGTOOLS_API_KEY   for the orchestrator (the key from a secret)
#   SHARINGTOOLS_STATE_DB                the reconciler's state database (required, a secret)
#   PLAYBOOKS                            playbook files or directories, space-separated (playbooks/)
#   ORCHESTRATOR_APPLY_ARGS              more options for apply, e.g. "--waves 1,10%,100%"
#   GITHUB_STEP_SUMMARY, RUNNER_TEMP     from Actions
#
# Exit status: apply's own (0 applied and verified or nothing to do, 1 error or the lock is
# held, 3 held by the safety policy, 4 partial), or 1 when the playbooks do not validate.
set -euo pipefail

: "${SHARINGTOOLS_STATE_DB:?the state database the reconciler uses (a secret)}"
read -r -a playbooks <<< "${PLAYBOOKS:-playbooks/}"
read -r -a extra <<< "${ORCHESTRATOR_APPLY_ARGS:-}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
work="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/orchestrator"
mkdir -p "$work"

# Actions masks a secret's whole value in the log, not its parts: a database URL's password
# printed alone (by a driver's error message, say), or percent-decoded, would show. Mask those
# parts too, before anything runs. The URL is read from the environment, never from argv.
python3 - <<'PY'
import os
from urllib.parse import parse_qsl, unquote, urlsplit

url = urlsplit(os.environ["SHARINGTOOLS_STATE_DB"])
secrets = set()
if url.password:
    secrets |= {url.password, unquote(url.password)}
for key, value in parse_qsl(url.query):
    if "password" in key.lower() and value:
        secrets.add(value)
for secret in sorted(secrets):
    print(f"::add-mask::{secret}")
PY

outcome() {
  case "$1" in
    0) echo "applied and verified (or nothing to do)" ;;
    1) echo "error: nothing or not all was applied; see the log" ;;
    3) echo "held by the safety policy: nothing was changed" ;;
    4) echo "partial: some accounts failed or did not verify" ;;
    130|143) echo "interrupted: the journal is written; the next apply or reconcile cycle finishes" ;;
    *) echo "exit $1" ;;
  esac
}

if ! orchestrator validate "${playbooks[@]}" > "$work/validate.out" 2> "$work/validate.err"; then
  cat "$work/validate.err" >&2
  {
    echo "### Sharingtools apply: the playbooks do not validate"
    echo
    echo '~~~~text'
    head -n 200 "$work/validate.err"
    echo '~~~~'
  } >> "$summary"
  exit 1
fi

set +e
orchestrator apply "${playbooks[@]}" --yes --report "$work/report.json" "${extra[@]}" \
  > "$work/apply.out" 2> "$work/apply.err"
code=$?
set -e
# The log shows what apply printed (the orchestrator masks secrets in everything it prints).
cat "$work/apply.out"
cat "$work/apply.err" >&2

{
  echo "### Sharingtools apply: $(outcome "$code")"
  echo
  # apply's one-line errors and per-account problems, not its progress or JSON log lines
  if grep -qE '^(error|problem): ' "$work/apply.err"; then
    echo '~~~~text'
    { grep -E '^(error|problem): ' "$work/apply.err" | head -n 50 | cut -c1-1000; } || true
    echo '~~~~'
    echo
  fi
  echo "<details><summary>What apply printed</summary>"
  echo
  echo '~~~~text'
  head -c 900000 "$work/apply.out"
  echo
  echo '~~~~'
  echo
  echo "</details>"
  echo
  echo "The run report (JSON) is the \`apply-report\` artifact of this run; \`orchestrator history\` lists the run."
} >> "$summary"
exit "$code"
