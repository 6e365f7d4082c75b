"""OAuth web-server flow against the simulator with plain `requests` (reference §1)."""

import base64
import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sfsim.conftest import CALLBACK

CLIENT = {"client_id": "sfsim-client-id", "client_secret": "sfsim-client-secret"}


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(challenge, **over):
    params = {"response_type": "code", "client_id": CLIENT["client_id"], "redirect_uri": CALLBACK,
              "state": "st-123", "scope": "api refresh_token", "code_challenge": challenge,
              "code_challenge_method": "S256", "prompt": "login"}
    params.update(over)
    return params


def allow(http, sim, params):
    resp = http.post(f"{sim.url}/services/oauth2/authorize", data={**params, "action": "allow"}, allow_redirects=False)
    assert resp.status_code == 302
    return parse_qs(urlsplit(resp.headers["Location"]).query)


def exchange(http, sim, code, verifier, **over):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": verifier, **CLIENT, **over}
    return http.post(f"{sim.url}/services/oauth2/token", data=data)


def test_authorize_page_asks_to_allow_with_the_original_params(ctl, http, sim):
    _, challenge = pkce()
    resp = http.get(f"{sim.url}/services/oauth2/authorize", params=authorize_params(challenge))
    assert resp.status_code == 200
    page = resp.text
    assert "Allow access?" in page and "admin@sfsim.example" in page
    assert '<button id="allow" name="action" value="allow">Allow</button>' in page
    assert '<button id="deny" name="action" value="deny">Deny</button>' in page
    assert f'name="code_challenge" value="{challenge}"' in page and 'name="state" value="st-123"' in page


@pytest.mark.parametrize("over, error, description", [
    ({"client_id": "nope"}, "invalid_client_id", "client identifier invalid"),
    ({"redirect_uri": "https://evil.test/elsewhere/"}, "redirect_uri_mismatch", "redirect_uri must match configuration"),
])
def test_bad_client_or_callback_gets_an_error_page_not_a_redirect(ctl, http, sim, over, error, description):
    resp = http.get(f"{sim.url}/services/oauth2/authorize", params=authorize_params("x", **over), allow_redirects=False)
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert error in resp.text and description in resp.text


def test_full_flow_code_pkce_refresh_identity_revoke(ctl, http, sim):
    verifier, challenge = pkce()
    callback = allow(http, sim, authorize_params(challenge))
    assert callback["state"] == ["st-123"]
    resp = exchange(http, sim, callback["code"][0], verifier)
    assert resp.status_code == 200
    tok = resp.json()
    assert list(tok) == ["access_token", "refresh_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"]
    info = ctl.info()
    assert tok["instance_url"] == sim.url and tok["token_type"] == "Bearer"
    assert tok["id"] == f"{sim.url}/id/{info['org_id']}/{info['user_id']}"
    assert tok["access_token"].startswith(info["org_id"][:15] + "!")
    assert len(tok["issued_at"]) == 13  # milliseconds (§1.4)
    expected = hmac.new(b"sfsim-client-secret", (tok["id"] + tok["issued_at"]).encode(), hashlib.sha256).digest()
    assert base64.b64decode(tok["signature"]) == expected

    ident = http.get(tok["id"], headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert ident.status_code == 200
    assert ident.json()["username"] == "admin@sfsim.example" and ident.json()["organization_id"] == info["org_id"]

    refreshed = http.post(f"{sim.url}/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": tok["refresh_token"], **CLIENT}).json()
    assert "refresh_token" not in refreshed and refreshed["access_token"] != tok["access_token"]
    rest = http.get(f"{sim.url}/services/data/v59.0/limits/", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert rest.status_code == 200

    assert http.post(f"{sim.url}/services/oauth2/revoke", data={"token": tok["refresh_token"]}).status_code == 200
    again = http.post(f"{sim.url}/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": tok["refresh_token"], **CLIENT})
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    # revoking the refresh token revoked its access tokens too (§1.7)
    rest = http.get(f"{sim.url}/services/data/v59.0/limits/", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert rest.status_code == 401
    assert rest.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_deny_redirects_with_access_denied_and_state(ctl, http, sim):
    resp = http.post(f"{sim.url}/services/oauth2/authorize", data={**authorize_params("c"), "action": "deny"}, allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"] == (f"{CALLBACK}?error=access_denied&error_description=end-user+denied+authorization&state=st-123")


def test_code_is_single_use(ctl, http, sim):
    verifier, challenge = pkce()
    code = allow(http, sim, authorize_params(challenge))["code"][0]
    assert exchange(http, sim, code, verifier).status_code == 200
    reused = exchange(http, sim, code, verifier)
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant", "error_description": "expired authorization code"}


def test_pkce_wrong_verifier_is_invalid_request_and_missing_is_invalid_grant(ctl, http, sim):
    _, challenge = pkce()
    code = allow(http, sim, authorize_params(challenge))["code"][0]
    assert exchange(http, sim, code, "wrong-verifier").json()["error"] == "invalid_request"
    code = allow(http, sim, authorize_params(challenge))["code"][0]
    assert exchange(http, sim, code, None).json()["error"] == "invalid_grant"


def test_refresh_token_only_with_refresh_scope(ctl, http, sim):
    verifier, challenge = pkce()
    code = allow(http, sim, authorize_params(challenge, scope="api"))["code"][0]
    tok = exchange(http, sim, code, verifier).json()
    assert "refresh_token" not in tok and tok["scope"] == "api"


@pytest.mark.parametrize("over, error", [
    ({"client_secret": "wrong"}, {"error": "invalid_client", "error_description": "invalid client credentials"}),
    ({"client_id": "other"}, {"error": "invalid_client_id", "error_description": "client identifier invalid"}),
    ({"grant_type": "password"}, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}),
    ({"redirect_uri": "https://portal.test/other/"}, {"error": "redirect_uri_mismatch", "error_description": "redirect_uri must match configuration"}),
])
def test_token_endpoint_errors(ctl, http, sim, over, error):
    verifier, challenge = pkce()
    code = allow(http, sim, authorize_params(challenge))["code"][0]
    resp = exchange(http, sim, code, verifier, **over)
    assert resp.status_code == 400 and resp.json() == error


def test_configured_client_and_redirect_uris(ctl, http, sim):
    ctl.config(client_id="cid", client_secret="sec", redirect_uris=["https://x.test/cb"])
    tok = ctl.connect(redirect_uri="https://x.test/cb")
    assert tok["access_token"]
    resp = http.get(f"{sim.url}/services/oauth2/authorize", params=authorize_params("c", client_id="cid"))
    assert resp.status_code == 400 and "redirect_uri_mismatch" in resp.text


def test_revoke_unknown_token(ctl, http, sim):
    resp = http.post(f"{sim.url}/services/oauth2/revoke", data={"token": "nope"})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_token"


def test_identity_rejects_bad_token(ctl, http, sim, token):
    resp = http.get(token["id"], headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 403 and resp.text == "Bad_OAuth_Token"


def test_reset_makes_a_new_org_and_forgets_tokens(ctl, http, sim, token):
    old = ctl.info()["org_id"]
    new = ctl.reset()["org_id"]
    assert new != old
    resp = http.get(f"{sim.url}/services/data/v59.0/limits/", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status_code == 401


def test_legacy_oauth_authorization_scheme(ctl, http, sim, token):
    resp = http.get(f"{sim.url}/services/data/v59.0/limits/", headers={"Authorization": f"OAuth {token['access_token']}"})
    assert resp.status_code == 200
