# Sourced by run-browser.sh once `tapd serve` runs ($tapd, $url, $port, $work, $python): sets up
# a second organization `fabrikam.test` federated to a second `tapd serve` (the upstream, at
# 127.0.0.1 so the browser keeps its cookies apart), and a guest of it from the default tenant.
# Exports what browser.mjs needs: UPSTREAM_URL, FED_UPN, FED_PASSWORD, GUEST_UPN, GUEST_PASSWORD,
# GUEST_AUTHORIZE_URL.

json_field() { "$python" -c "import json,sys; v=json.load(sys.stdin); print(v$1)"; }

app_token() { # token URL, client id, secret
  curl -sf "$1" --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$2" \
    --data-urlencode "client_secret=$3" --data-urlencode scope=https://graph.microsoft.com/.default \
    | json_field '["access_token"]'
}

graph() { # base URL, token, method, path, body
  curl -sf -X "$3" "$1/v1.0$4" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    ${5:+-d "$5"}
}

# The upstream identity provider: its own data dir and port.
up_port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
up_url="http://127.0.0.1:$up_port"
up_data="$work/upstream"
TAPD_DATA_DIR="$up_data" "$tapd" serve --listen "127.0.0.1:$up_port" --public-url "$up_url" \
  >"$work/upstream.out" 2>"$work/upstream.err" &
upstream=$!
trap 'kill $server $upstream 2>/dev/null || true; wait $server $upstream 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  "$tapd" healthcheck --server "$up_url" >/dev/null 2>&1 && break
  sleep 0.1
done
"$tapd" healthcheck --server "$up_url"
up_issuer=$(curl -sf "$up_url/.well-known/openid-configuration" | json_field '["issuer"]')
up_setup=$(TAPD_DATA_DIR="$up_data" "$tapd" app create --name setup --json \
  --permission User.ReadWrite.All --permission Domain.ReadWrite.All)
up_token=$(app_token "$up_url/oauth2/v2.0/token" "$(echo "$up_setup" | json_field '["client_id"]')" \
  "$(echo "$up_setup" | json_field '["client_secret"]')")
export FED_UPN=alice@fabrikam.test FED_PASSWORD="upstream password 1"
graph "$up_url" "$up_token" POST /domains '{"id":"fabrikam.test"}' >/dev/null
graph "$up_url" "$up_token" POST /users "{\"accountEnabled\":true,\"displayName\":\"Alice\",\"mailNickname\":\"alice\",\"userPrincipalName\":\"$FED_UPN\",\"passwordProfile\":{\"password\":\"$FED_PASSWORD\"}}" >/dev/null
downstream=$(TAPD_DATA_DIR="$up_data" "$tapd" app create --name "tapd at localhost" --json \
  --redirect-uri "$url/federation/callback")

# The second organization, federated to the upstream; its app; a guest from the default tenant.
"$tapd" tenant create --domain fabrikam.test --name Fabrikam --json >/dev/null
b_setup=$("$tapd" app create --tenant fabrikam.test --name setup --json \
  --permission User.ReadWrite.All --permission Domain.ReadWrite.All \
  --permission Policy.ReadWrite.CrossTenantAccess)
b_token=$(app_token "$url/fabrikam.test/oauth2/v2.0/token" "$(echo "$b_setup" | json_field '["client_id"]')" \
  "$(echo "$b_setup" | json_field '["client_secret"]')")
graph "$url" "$b_token" POST /domains/fabrikam.test/federationConfiguration "{\"displayName\":\"Fabrikam IdP\",\"issuerUri\":\"$up_issuer\",\"tapdClientId\":\"$(echo "$downstream" | json_field '["client_id"]')\",\"tapdClientSecret\":\"$(echo "$downstream" | json_field '["client_secret"]')\"}" >/dev/null
graph "$url" "$b_token" POST /users "{\"accountEnabled\":true,\"displayName\":\"Alice\",\"mailNickname\":\"alice\",\"userPrincipalName\":\"$FED_UPN\"}" >/dev/null

a_setup=$("$tapd" app create --name setup --json --permission User.ReadWrite.All)
a_token=$(app_token "$url/oauth2/v2.0/token" "$(echo "$a_setup" | json_field '["client_id"]')" \
  "$(echo "$a_setup" | json_field '["client_secret"]')")
export GUEST_UPN=dave@tapd.local GUEST_PASSWORD="dave's long password"
graph "$url" "$a_token" POST /users "{\"accountEnabled\":true,\"displayName\":\"Dave\",\"mailNickname\":\"dave\",\"userPrincipalName\":\"$GUEST_UPN\",\"passwordProfile\":{\"password\":\"$GUEST_PASSWORD\"}}" >/dev/null
graph "$url" "$b_token" POST /invitations "{\"invitedUserEmailAddress\":\"$GUEST_UPN\",\"inviteRedirectUrl\":\"$url/healthz\"}" >/dev/null
a_tenant=$("$tapd" tenant list --json | json_field '[0]["id"]')
graph "$url" "$b_token" POST /policies/crossTenantAccessPolicy/partners "{\"tenantId\":\"$a_tenant\",\"inboundTrust\":{\"isMfaAccepted\":true}}" >/dev/null
wiki=$("$tapd" app create --tenant fabrikam.test --name "Fabrikam wiki" --json --spa-redirect-uri "$url/healthz" \
  | json_field '["client_id"]')
challenge=$("$python" -c 'import base64,hashlib; print(base64.urlsafe_b64encode(hashlib.sha256(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").digest()).decode().rstrip("="))')
export UPSTREAM_URL="$up_url"
export GUEST_AUTHORIZE_URL="$url/fabrikam.test/oauth2/v2.0/authorize?client_id=$wiki&response_type=code&redirect_uri=$url/healthz&scope=openid&code_challenge=$challenge&code_challenge_method=S256&state=guest"
