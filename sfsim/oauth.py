"""OAuth 2.0 web-server flow, refresh, revoke and the identity URL (reference §1).

The simulator is both the login host and the instance: ``instance_url`` and the ``id`` URL
both use its base URL. Grants live on the org (``Org.codes``, ``Org.access_tokens``,
``Org.refresh_tokens``), so ``/_sim/reset`` forgets them with the org.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from urllib.parse import urlencode, urlsplit

from . import ids, realorg
from .org import Org
from .web import Request, Response, html_page, json_response, redirect, text_response

CODE_LIFETIME = 15 * 60  # §1.3, ⚠ convention
REFRESH_SCOPES = {"refresh_token", "offline_access"}
DEFAULT_SCOPE = "api refresh_token"


# --- authorize (§1.2, §1.3) -------------------------------------------------------------

AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge",
                    "code_challenge_method", "prompt", "display")


def redirect_allowed(org: Org, uri: str | None) -> bool:
    if not uri:
        return False
    allowed = org.config["redirect_uris"]
    if allowed is not None:
        return uri in allowed
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.path == org.config["redirect_path"]


def _error_page(code: str, description: str) -> Response:
    """Bad client or callback: Salesforce's own error page, never a redirect (§1.3)."""
    body = (f"<h1>Remote Access Error</h1><p id=\"error\" data-error=\"{code}\">error={html.escape(code)}</p>"
            f"<p id=\"error_description\">error_description={html.escape(description)}</p>")
    return html_page(400, "Remote Access Error", body)


def _callback(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def authorize(org: Org, req: Request) -> Response:
    params = req.form() if req.method == "POST" else {k: v[0] for k, v in req.query.items()}
    if params.get("client_id") != org.config["client_id"]:
        return _error_page("invalid_client_id", "client identifier invalid")
    redirect_uri = params.get("redirect_uri")
    if not redirect_allowed(org, redirect_uri):
        return _error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
    state = {"state": params["state"]} if "state" in params else {}
    if params.get("response_type") != "code":
        return redirect(_callback(redirect_uri, {"error": "unsupported_response_type",
                                                 "error_description": "response type not supported", **state}))
    method = params.get("code_challenge_method") or "S256"
    if params.get("code_challenge") and method != "S256":
        return redirect(_callback(redirect_uri, {"error": "invalid_request",
                                                 "error_description": "invalid code challenge method", **state}))

    if req.method == "GET":
        return _consent_page(org, params)
    action = params.get("action")
    if action == "deny":
        # §1.3: the RFC code, not the help page's "access-denied" typo.
        return redirect(_callback(redirect_uri, {"error": "access_denied",
                                                 "error_description": "end-user denied authorization", **state}))
    if action != "allow":
        return _consent_page(org, params)
    code = "aPrx" + secrets.token_urlsafe(48)
    org.codes[code] = {
        "client_id": params["client_id"],
        "redirect_uri": redirect_uri,
        "scope": " ".join((params.get("scope") or DEFAULT_SCOPE).split()),
        "code_challenge": params.get("code_challenge") or None,
        "expires": time.time() + CODE_LIFETIME,
        "used": False,
    }
    return redirect(_callback(redirect_uri, {"code": code, **state}))


def _consent_page(org: Org, params: dict[str, str]) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name], quote=True)}">'
        for name in AUTHORIZE_PARAMS if name in params
    )
    scopes = html.escape(params.get("scope") or DEFAULT_SCOPE)
    body = (
        "<h1>Allow access?</h1>"
        f"<p><strong id=\"app\">{html.escape(org.config['app_name'])}</strong> is asking to access your "
        f"Salesforce data (<span id=\"scope\">{scopes}</span>).</p>"
        f"<p>Logged in as <strong id=\"user\">{html.escape(org.config['display_name'])}</strong> "
        f"(<span id=\"username\">{html.escape(org.config['username'])}</span>) in "
        f"<span id=\"org\">{html.escape(org.config['org_name'])}</span>.</p>"
        f'<form method="post" action="/services/oauth2/authorize">{hidden}'
        '<button id="allow" name="action" value="allow">Allow</button>'
        '<button id="deny" name="action" value="deny">Deny</button></form>'
    )
    return html_page(200, "Allow access?", body)


# --- token (§1.4, §1.5, §1.6) -----------------------------------------------------------


def _token_error(error: str, description: str) -> Response:
    return json_response(400, {"error": error, "error_description": description}, {"Cache-Control": "no-store"})


def _issue(org: Org, *, client_id: str, scope: str, refresh_token: str | None, with_refresh: bool) -> Response:
    issued_at = str(int(time.time() * 1000))  # milliseconds, as every real example (§1.4)
    id_url = f"{org.base_url}/id/{org.org_id}/{org.user_id}"
    access = f"{org.org_id15}!" + "AQ" + secrets.token_urlsafe(72).replace("-", ".")
    org.access_tokens[access] = {"refresh_token": refresh_token, "scope": scope, "client_id": client_id}
    payload: dict[str, str] = {"access_token": access}
    if with_refresh:
        payload["refresh_token"] = refresh_token
    signature = hmac.new(org.config["client_secret"].encode(), (id_url + issued_at).encode(), hashlib.sha256).digest()
    payload.update({
        "signature": base64.b64encode(signature).decode(),
        "scope": scope,
        "instance_url": realorg.instance_url(org),
        "id": id_url,
        "token_type": "Bearer",
        "issued_at": issued_at,
    })
    return json_response(200, payload, {"Cache-Control": "no-store"})


def token(org: Org, req: Request) -> Response:
    form = req.form()
    grant_type = form.get("grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        return _token_error("unsupported_grant_type", "grant type not supported")
    if form.get("client_id") != org.config["client_id"]:
        return _token_error("invalid_client_id", "client identifier invalid")
    if form.get("client_secret") != org.config["client_secret"]:
        return _token_error("invalid_client", "invalid client credentials")
    if org.faults.take("inactive_user", req.path):
        return _token_error("invalid_grant", "inactive user")
    if grant_type == "refresh_token":
        grant = org.refresh_tokens.get(form.get("refresh_token") or "")
        if grant is None or grant["client_id"] != form["client_id"]:
            return _token_error("invalid_grant", "expired access/refresh token")
        if org.config["rotate_refresh_tokens"]:
            return _issue(org, client_id=grant["client_id"], scope=grant["scope"],
                          refresh_token=realorg.rotate(org, form["refresh_token"]), with_refresh=True)
        # §1.5: the refresh response carries no refresh_token.
        return _issue(org, client_id=grant["client_id"], scope=grant["scope"],
                      refresh_token=form["refresh_token"], with_refresh=False)

    code = org.codes.get(form.get("code") or "")
    if code is None or code["used"] or code["expires"] < time.time() or code["client_id"] != form["client_id"]:
        return _token_error("invalid_grant", "expired authorization code")
    code["used"] = True  # single use, whatever happens next (§1.3)
    if form.get("redirect_uri") != code["redirect_uri"]:
        return _token_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    if code["code_challenge"]:
        verifier = form.get("code_verifier")
        # §1.2 PKCE: verifier missing → invalid_grant; verifier wrong → invalid_request.
        if not verifier:
            return _token_error("invalid_grant", "invalid code verifier")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(digest, code["code_challenge"]):
            return _token_error("invalid_request", "invalid code verifier")
    scope = code["scope"]
    refresh = None
    with_refresh = bool(REFRESH_SCOPES & set(scope.split()))
    if with_refresh:
        refresh = realorg.new_refresh_token()
        org.refresh_tokens[refresh] = {"client_id": code["client_id"], "scope": scope}
        realorg.approve(org, refresh)
    return _issue(org, client_id=code["client_id"], scope=scope, refresh_token=refresh, with_refresh=with_refresh)


# --- revoke (§1.7) ----------------------------------------------------------------------


def revoke(org: Org, req: Request) -> Response:
    tok = (req.form().get("token") if req.method == "POST" else None) or req.arg("token")
    if tok and tok in org.refresh_tokens:
        realorg.revoke_refresh(org, tok)
        return Response(200)
    if tok and tok in org.access_tokens:
        del org.access_tokens[tok]
        return Response(200)
    return json_response(400, {"error": "invalid_token", "error_description": "invalid token"})


def expire_sessions(org: Org) -> None:
    org.access_tokens.clear()


def revoke_refresh_tokens(org: Org, *, keep_access_tokens: bool = False) -> None:
    revoked = set(org.refresh_tokens)
    org.refresh_tokens.clear()
    if not keep_access_tokens:
        for access in [a for a, g in org.access_tokens.items() if g["refresh_token"] in revoked]:
            del org.access_tokens[access]


# --- bearer tokens and the identity URL (§1.8, §2.1) -------------------------------------


def bearer(req: Request) -> str | None:
    """``Authorization: Bearer <tok>`` or the legacy ``OAuth <tok>`` (§2.1)."""
    value = req.header("authorization") or ""
    scheme, _, tok = value.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and tok.strip():
        return tok.strip()
    return None


def identity(org: Org, req: Request, org_part: str, user_part: str) -> Response:
    """Identity service. Its errors are bare codes, not the REST array (Salesforce Help
    "Identity URLs": 403 Missing_OAuth_Token / Bad_OAuth_Token / Wrong_Org, 404 Bad_Id;
    recorded as ``403 Forbidden`` with body ``Bad_OAuth_Token``), so text/plain here."""
    tok = bearer(req) or req.arg("oauth_token")
    if not tok:
        return text_response(403, "Missing_OAuth_Token")
    if tok not in org.access_tokens:
        return text_response(403, "Bad_OAuth_Token")
    org18, user18 = ids.to18(org_part), ids.to18(user_part)
    if org18 != org.org_id:
        return text_response(403, "Wrong_Org")
    if user18 != org.user_id:
        return text_response(404, "Bad_Id")
    version = req.arg("version") or "{version}"
    if version == "latest":
        version = "66.0"
    if not realorg.on_login_host(org, req):
        return text_response(403, "Bad_Id")
    # The identity stays on the login host; its urls point at the instance (My Domain).
    cfg, base = org.config, realorg.instance_url(org)
    first, _, last = cfg["display_name"].partition(" ")
    org_id, user_id = org.org_id, org.user_id
    return json_response(200, {
        "id": f"{org.base_url}/id/{org_id}/{user_id}",
        "asserted_user": True,
        "user_id": user_id,
        "organization_id": org_id,
        "username": cfg["username"],
        "nick_name": cfg["username"].split("@")[0],
        "display_name": cfg["display_name"],
        "email": cfg["email"],
        "email_verified": True,
        "first_name": first,
        "last_name": last or first,
        "timezone": "America/Los_Angeles",
        "photos": {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"},
        "addr_street": None, "addr_city": None, "addr_state": None, "addr_country": None, "addr_zip": None,
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": {
            "enterprise": f"{base}/services/Soap/c/{version}/{org_id}",
            "metadata": f"{base}/services/Soap/m/{version}/{org_id}",
            "partner": f"{base}/services/Soap/u/{version}/{org_id}",
            "rest": f"{base}/services/data/v{version}/",
            "sobjects": f"{base}/services/data/v{version}/sobjects/",
            "search": f"{base}/services/data/v{version}/search/",
            "query": f"{base}/services/data/v{version}/query/",
            "recent": f"{base}/services/data/v{version}/recent/",
            "profile": f"{base}/{user_id}",
            "feeds": f"{base}/services/data/v{version}/chatter/feeds",
            "groups": f"{base}/services/data/v{version}/chatter/groups",
            "users": f"{base}/services/data/v{version}/chatter/users",
            "custom_domain": base,
        },
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": -28800000,
        "last_modified_date": "2024-01-01T00:00:00.000+0000",
        "is_app_installed": True,
    })
