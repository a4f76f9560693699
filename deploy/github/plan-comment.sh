#!/usr/bin/env bash
# The pull-request side of orchestrator.yml: validate the playbooks, plan them, and keep ONE
# comment on the pull request up to date with the plan (found again by its hidden marker
# line and edited on every push), the full plan in the job summary, and a label saying
# whether the plan changes anything.
#
# Everything GitHub-specific goes through `gh api` and the files GitHub Actions names in its
# environment, so the test suite runs this very script against the emulator with a fake `gh`
# (tests/ops/test_github_workflow.py).
#
# Environment:
#   PR_NUMBER, GITHUB_REPOSITORY        the pull request, owner/name (required)
#   GH_TOKEN                            for gh: the workflow's github.token
#   SHARINGTOOLS_BASE_URL, SHARINGTOOLS_API_KEY   for the orchestrator (the key from a secret)
#   PLAYBOOKS                           playbook files or directories, space-separated (playbooks/)
#   ORCHESTRATOR_MARKER                 the marker's name (sharingtools-orchestrator:plan); one
#                                       per plan when a workflow comments several plans
#   ORCHESTRATOR_MAX_CHARS              the comment's size, at most (60000; GitHub holds 65,536)
#   ORCHESTRATOR_COMMENT                plan (default) or summary: only the counts in the comment
#   ORCHESTRATOR_LABEL_CHANGES          orchestrator:changes
#   ORCHESTRATOR_LABEL_NO_CHANGES       orchestrator:no-changes
#   HEAD_SHA                            the commit planned, named in the comment's footer
#   GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_SERVER_URL, GITHUB_RUN_ID, RUNNER_TEMP: from Actions
#
# Exit status: 0 when the plan was made and posted (changes or not); 1 when the playbooks do
# not validate or the plan failed (the comment then says why), or GitHub refused a call.
# Nothing here prints an environment variable: the key reaches only the orchestrator.
set -euo pipefail

: "${PR_NUMBER:?the pull request number}"
: "${GITHUB_REPOSITORY:?owner/name of the repository}"
read -r -a playbooks <<< "${PLAYBOOKS:-playbooks/}"
marker_name="${ORCHESTRATOR_MARKER:-sharingtools-orchestrator:plan}"
marker="<!-- ${marker_name} -->"
max_chars="${ORCHESTRATOR_MAX_CHARS:-60000}"
label_changes="${ORCHESTRATOR_LABEL_CHANGES:-orchestrator:changes}"
label_no_changes="${ORCHESTRATOR_LABEL_NO_CHANGES:-orchestrator:no-changes}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
work="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/orchestrator"
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID:-0}"
issue="repos/${GITHUB_REPOSITORY}/issues/${PR_NUMBER}"
mkdir -p "$work"

sha="${HEAD_SHA:-${GITHUB_SHA:-}}"
footer="<sub>Planned ${sha:+at ${sha:0:12} }by [this run](${run_url}): the full plan is in its job summary, the JSON plan in its \`plan\` artifact.</sub>"

# A file's first lines in a fence that no line of it can close (orchestrator messages use backticks).
fenced() {
  echo '~~~~text'
  head -n 200 "$1" | cut -c1-1000
  echo '~~~~'
}

# The id of this pull request's plan comment: the first whose body starts with the marker.
# `gh api --paginate` prints one JSON array per page, back to back.
find_comment() {
  gh api --paginate "${issue}/comments?per_page=100" > "$work/comments.json"
  python3 - "$work/comments.json" "$marker" <<'PY'
import json
import sys

text, marker = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
decoder, pos, found = json.JSONDecoder(), 0, []
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    page, pos = decoder.raw_decode(text, pos)
    found += [c["id"] for c in page if (c.get("body") or "").startswith(marker)]
print(found[0] if found else "")
PY
}

# Create the comment, or edit the one an earlier push made: one comment per pull request.
post_comment() {
  local id
  id="$(find_comment)"
  if [ -n "$id" ]; then
    gh api --method PATCH "repos/${GITHUB_REPOSITORY}/issues/comments/${id}" -F "body=@$work/comment.md" > /dev/null
    echo "plan comment ${id} updated"
  else
    gh api --method POST "${issue}/comments" -F "body=@$work/comment.md" > /dev/null
    echo "plan comment created"
  fi
}

urlencode() {
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# Leave exactly label $1 of the two on the pull request ("" for neither).
set_label() {
  local want="$1" current label
  current="$(gh api "${issue}/labels?per_page=100" \
    | python3 -c 'import json, sys; print("\n".join(label["name"] for label in json.load(sys.stdin)))')"
  for label in "$label_changes" "$label_no_changes"; do
    if [ "$label" != "$want" ] && grep -qxF -- "$label" <<< "$current"; then
      gh api --method DELETE "${issue}/labels/$(urlencode "$label")" > /dev/null
    fi
  done
  if [ -n "$want" ] && ! grep -qxF -- "$want" <<< "$current"; then
    gh api --method POST "${issue}/labels" -f "labels[]=${want}" > /dev/null
  fi
  echo "label: ${want:-none}"
}

# The plan could not be made: say why in the comment and the summary, drop both labels, fail.
report_failure() {
  local title="$1" detail="$2"
  {
    echo "$marker"
    echo "### Sharingtools plan"
    echo
    echo "$title"
    echo
    fenced "$detail"
    echo
    echo "$footer"
  } > "$work/comment.md"
  tail -n +2 "$work/comment.md" >> "$summary"
  post_comment
  set_label ""
  exit 1
}

if ! orchestrator validate "${playbooks[@]}" > "$work/validate.out" 2> "$work/validate.err"; then
  report_failure "**The playbooks do not validate** (\`orchestrator validate ${playbooks[*]}\`):" "$work/validate.err"
fi

plan_args=(--format markdown --marker "$marker_name" --max-chars "$((max_chars - ${#footer} - 2))"
           --full-plan "[the job summary of this run](${run_url})" --full-markdown "$work/full.md"
           --out "$work/plan.json" --detailed-exitcode)
if [ "${ORCHESTRATOR_COMMENT:-plan}" = "summary" ]; then
  plan_args+=(--summary-only)
fi
set +e
orchestrator plan "${playbooks[@]}" "${plan_args[@]}" > "$work/plan.md" 2> "$work/plan.err"
code=$?
set -e
case "$code" in
  0) changes=false ;;
  2) changes=true ;;
  *) report_failure "**The plan failed** (exit ${code}): nothing was planned." "$work/plan.err" ;;
esac

{
  cat "$work/plan.md"
  echo "$footer"
} > "$work/comment.md"
{
  cat "$work/full.md"
  echo
  echo "The complete plan, per account, is the \`plan\` artifact of this run (JSON): \`orchestrator apply --plan plan.json\` applies exactly it."
} >> "$summary"
post_comment
if [ "$changes" = true ]; then
  set_label "$label_changes"
else
  set_label "$label_no_changes"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "changes=${changes}" >> "$GITHUB_OUTPUT"
fi
