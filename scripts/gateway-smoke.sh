#!/usr/bin/env bash
# An operator's smoke test of a roster gateway: it is ready, a teacher reads their own
# classes through it, and the gateway refuses what a teacher may not read.
#
#   scripts/gateway-smoke.sh GATEWAY_URL DEMO_DISTRICT_URL [TEACHER]
#       a trial in front of the demo district: a teacher's token is got from the
#       district's sign-in pages with curl (no browser, no keychain). TEACHER is a staff
#       id or username (default: the district's first teacher).
#   ROLLBOOK_SMOKE_TOKEN=… ROLLBOOK_SMOKE_TEACHER=SOURCEDID scripts/gateway-smoke.sh GATEWAY_URL
#       a real deployment: a teacher's access token from your provider and their
#       OneRoster sourcedId. The token is read from the environment, never printed.
#
# GATEWAY_URL is the gateway's (or its load balancer's) base, e.g. http://127.0.0.1:8080.
# Needs curl, jq and openssl. Exits 0 when every check passes.
set -euo pipefail

gateway=${1:?usage: gateway-smoke.sh GATEWAY_URL [DEMO_DISTRICT_URL [TEACHER]]}
gateway=${gateway%/}
district=${2:-}
district=${district%/}
base="$gateway/ims/oneroster/v1p1"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# 1. Ready: wait up to 30 s for /readyz (a first tenant discovery may be under way).
ready=""
for _ in $(seq 60); do
  if ready=$(curl -fsS "$gateway/readyz" 2>/dev/null); then break; fi
  ready=""
  sleep 0.5
done
[ -n "$ready" ] || fail "$gateway/readyz did not answer 200 within 30 s: $(curl -sS "$gateway/readyz" 2>&1 || true)"
ok "ready: $ready"

# 2. A teacher's token.
if [ -n "${ROLLBOOK_SMOKE_TOKEN:-}" ]; then
  token=$ROLLBOOK_SMOKE_TOKEN
  teacher=${ROLLBOOK_SMOKE_TEACHER:?set ROLLBOOK_SMOKE_TEACHER to the OneRoster sourcedId of the teacher}
else
  [ -n "$district" ] || fail "give DEMO_DISTRICT_URL, or ROLLBOOK_SMOKE_TOKEN for a real deployment"
  login=${3:-}
  # The demo district's sign-in as the app does it (authorization code + PKCE), its
  # pages answered with curl: the staff picker is skipped with login_hint.
  verifier=$(openssl rand -hex 32)
  challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')
  redirect="http://127.0.0.1:9/callback"
  if [ -z "$login" ]; then
    # The first teacher on the staff picker.
    interaction=$(curl -fsS -o /dev/null -w '%{redirect_url}' -G "$district/oauth2/v2/auth" \
      --data-urlencode client_id=rollbook-desktop --data-urlencode "redirect_uri=$redirect" \
      --data-urlencode response_type=code --data-urlencode "scope=openid profile oneroster" \
      --data-urlencode "code_challenge=$challenge" --data-urlencode code_challenge_method=S256)
    login=$(curl -fsS "$interaction" | grep -o 'name="teacher" value="[^"]*"[^<]*<small>Teacher' | head -n1 | sed 's/.*value="\([^"]*\)".*/\1/')
    [ -n "$login" ] || fail "no teacher on the demo district's staff picker"
  fi
  interaction=$(curl -fsS -o /dev/null -w '%{redirect_url}' -G "$district/oauth2/v2/auth" \
    --data-urlencode client_id=rollbook-desktop --data-urlencode "redirect_uri=$redirect" \
    --data-urlencode response_type=code --data-urlencode "scope=openid profile oneroster" \
    --data-urlencode "code_challenge=$challenge" --data-urlencode code_challenge_method=S256 \
    --data-urlencode "login_hint=$login")
  back=$(curl -fsS -o /dev/null -w '%{redirect_url}' -X POST "$interaction/consent" --data decision=allow)
  code=$(printf '%s' "$back" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
  [ -n "$code" ] || fail "the demo district gave no code (answer: $back)"
  token=$(curl -fsS "$district/oauth2/v2/token" --data grant_type=authorization_code \
    --data-urlencode "code=$code" --data-urlencode "redirect_uri=$redirect" \
    --data client_id=rollbook-desktop --data-urlencode "code_verifier=$verifier" | jq -r .access_token)
  [ -n "$token" ] && [ "$token" != null ] || fail "no access token from the demo district"
  teacher=$(curl -fsS -H "Authorization: Bearer $token" "$district/v2/my/info" | jq -r .SourcedId)
  ok "signed in to the demo district as $login (OneRoster id $teacher)"
fi

status() { # METHOD PATH [TOKEN]: prints the status, the body to $body_file
  local auth=()
  if [ -n "${3:-}" ]; then auth=(-H "Authorization: Bearer $3"); fi
  curl -sS -o "$body_file" -w '%{http_code}' -X "$1" "${auth[@]}" "$base$2"
}
body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT

# 3. The teacher's own classes: 200 and at least one class.
s=$(status GET "/teachers/$teacher/classes" "$token")
[ "$s" = 200 ] || fail "GET /teachers/$teacher/classes answered $s: $(cat "$body_file")"
classes=$(jq '.classes | length' "$body_file")
[ "$classes" -gt 0 ] || fail "the teacher has no classes through the gateway"
class=$(jq -r '.classes[0].sourcedId' "$body_file")
ok "the teacher's classes: $classes"

# 4. One class's students and gradebook.
for path in "/classes/$class/students" "/classes/$class/lineItems"; do
  s=$(status GET "$path" "$token")
  [ "$s" = 200 ] || fail "GET $path answered $s: $(cat "$body_file")"
done
ok "a class's students and line items"

# 5. Refusals: no token (401), the whole district's users (403).
s=$(status GET "/teachers/$teacher/classes")
[ "$s" = 401 ] || fail "without a token: $s"
s=$(status GET "/users" "$token")
[ "$s" = 403 ] || fail "GET /users answered $s, not 403"
ok "refused: no token (401), /users (403)"
echo "smoke test passed"
