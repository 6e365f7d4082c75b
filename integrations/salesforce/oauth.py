"""Salesforce OAuth 2.0 web-server flow with PKCE, through Authlib.

The only module that talks to Salesforce's ``/services/oauth2/*`` endpoints. Reference:
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
and docs/salesforce-behaviour.md §1.

- authorize: ``{login}/services/oauth2/authorize`` with ``state``, ``scope=api refresh_token``,
  ``code_challenge`` (S256) and ``prompt=login``;
- token: ``{login}/services/oauth2/token`` (authorization_code + ``code_verifier``; refresh_token);
  client credentials go in the form body (``client_secret_post``), as Salesforce documents;
- revoke: ``{login}/services/oauth2/revoke`` with ``token=``.

Every HTTPS call trusts ``settings.SALESFORCE_CA_BUNDLE`` when set (the simulator's
self-signed CA in development and tests).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.urls import reverse

from .errors import OAuthFailed, SessionExpired, Unavailable, token_error
from .transport import CABundleMixin

SCOPES = "api refresh_token"
PRODUCTION, SANDBOX, MYDOMAIN = "production", "sandbox", "mydomain"


def timeout() -> float:
    return float(getattr(settings, "SALESFORCE_TIMEOUT_SECONDS", 20))


def redirect_uri() -> str:
    """The one callback registered on the connected app, shared by every portal."""
    return settings.SITE_URL.rstrip("/") + reverse("salesforce_callback")


class InvalidLoginUrl(ValueError):
    pass


# My Domain login hosts (Salesforce Help "My Domain URL Formats" and "Partitioned Domains";
# Tooling API "OrgDomainLog", field DomainPartition): production NAME.my.salesforce.com, sandbox
# NAME--SANDBOX.sandbox.my.salesforce.com, and NAME.PARTITION.my.salesforce.com for Developer
# Edition (develop, e.g. acme-dev-ed.develop), demo, patch, scratch, free and Trailhead
# playground (trailblaze) orgs. Government Cloud hosts (*.my.salesforce.mil and the like) are
# not listed in the Salesforce docs we could find, so they are refused: tokens are only ever
# sent to hosts the docs name.
MYDOMAIN_PARTITIONS = ("sandbox", "develop", "demo", "patch", "scratch", "free", "trailblaze")
_MYDOMAIN_HOST = re.compile(
    r"(?P<name>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
    r"(?:\.(?P<partition>" + "|".join(MYDOMAIN_PARTITIONS) + r"))?\.my\.salesforce\.com"
)


def validate_mydomain(url: str) -> str:
    """Normalise a My Domain URL to ``https://host`` or raise ``InvalidLoginUrl``.

    Accepted: every My Domain login host form above. With the local simulator, its own URL is
    accepted too, so development can exercise this path.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        raise InvalidLoginUrl("Enter your My Domain URL starting with https://, e.g. https://acme.my.salesforce.com.")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise InvalidLoginUrl("Enter only the My Domain address, e.g. https://acme.my.salesforce.com.")
    if settings.SALESFORCE_USES_SIMULATOR:
        sim = urlsplit(settings.SALESFORCE_LOGIN_URL)
        if host == (sim.hostname or "").lower() and parts.port == sim.port:
            return f"https://{parts.netloc}"
    m = _MYDOMAIN_HOST.fullmatch(host)
    if m is None or parts.port not in (None, 443) or (m["partition"] == "sandbox" and "--" not in m["name"]):
        raise InvalidLoginUrl(
            "That is not a Salesforce My Domain URL. It ends in .my.salesforce.com, e.g. "
            "https://acme.my.salesforce.com or https://acme--uat.sandbox.my.salesforce.com."
        )
    return f"https://{host}"


def login_url_for(environment: str, mydomain_url: str = "") -> str:
    if environment == PRODUCTION:
        return settings.SALESFORCE_LOGIN_URL.rstrip("/")
    if environment == SANDBOX:
        return settings.SALESFORCE_SANDBOX_URL.rstrip("/")
    if environment == MYDOMAIN:
        return validate_mydomain(mydomain_url)
    raise InvalidLoginUrl("Choose production, sandbox or My Domain.")


class _OAuth2Session(CABundleMixin, OAuth2Session):
    pass


def _session(**kwargs) -> OAuth2Session:
    s = _OAuth2Session(
        client_id=settings.SALESFORCE_CLIENT_ID,
        client_secret=settings.SALESFORCE_CLIENT_SECRET,
        token_endpoint_auth_method="client_secret_post",
        revocation_endpoint_auth_method="none",
        code_challenge_method="S256",
        default_timeout=timeout(),
        **kwargs,
    )
    return s


def authorization_start(login_url: str) -> tuple[str, str, str]:
    """``(authorize_url, state, code_verifier)`` for a new Connect attempt."""
    verifier = secrets.token_urlsafe(64)  # 86 chars; RFC 7636 allows 43–128
    state = secrets.token_urlsafe(32)
    s = _session(scope=SCOPES, redirect_uri=redirect_uri())
    url, state = s.create_authorization_url(
        f"{login_url}/services/oauth2/authorize", state=state, code_verifier=verifier, prompt="login"
    )
    return url, state, verifier


def _oauth_error(e: AuthlibBaseError) -> tuple[str, str]:
    return getattr(e, "error", "") or "oauth_error", getattr(e, "description", "") or str(e)


def code_exchange(login_url: str, code: str, code_verifier: str) -> dict:
    """Trade the authorization code for tokens. Raises ``OAuthFailed`` / ``Unavailable``."""
    s = _session(redirect_uri=redirect_uri())
    try:
        token = s.fetch_token(
            f"{login_url}/services/oauth2/token",
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
        )
    except AuthlibBaseError as e:
        raise token_error(*_oauth_error(e), refreshing=False) from e
    except requests.RequestException as e:
        raise Unavailable(str(e), code=type(e).__name__) from e
    except ValueError as e:  # not JSON: not a Salesforce token endpoint
        raise OAuthFailed("The token endpoint answered something that is not an OAuth token.", code="bad_response") from e
    if not token.get("access_token") or not token.get("instance_url") or not token.get("id"):
        raise OAuthFailed("The token response lacks access_token, instance_url or id.", code="bad_response")
    return dict(token)


def token_refresh(login_url: str, refresh_token: str) -> dict:
    """Run the refresh grant. ``invalid_grant`` (revoked/expired) → ``SessionExpired``; a refused
    consumer key or secret → ``AppCredentialsRefused`` (``errors.token_error``)."""
    if not refresh_token:
        raise SessionExpired("No refresh token is stored.", code="invalid_grant")
    s = _session()
    try:
        token = s.refresh_token(f"{login_url}/services/oauth2/token", refresh_token=refresh_token)
    except AuthlibBaseError as e:
        raise token_error(*_oauth_error(e), refreshing=True) from e
    except requests.RequestException as e:
        raise Unavailable(str(e), code=type(e).__name__) from e
    except ValueError as e:
        raise Unavailable("The token endpoint answered something that is not JSON.", code="bad_response") from e
    if not token.get("access_token"):
        raise OAuthFailed("The refresh response lacks access_token.", code="bad_response")
    return dict(token)


def token_revoke(login_url: str, token: str) -> None:
    """Revoke a token at Salesforce (a refresh token also revokes its access tokens).

    Raises ``Unavailable`` when Salesforce cannot be reached and ``OAuthFailed`` when it
    refuses (400 ``invalid_token`` for an already revoked token).
    """
    s = _session()
    try:
        resp = s.revoke_token(f"{login_url}/services/oauth2/revoke", token=token)
    except requests.RequestException as e:
        raise Unavailable(str(e), code=type(e).__name__) from e
    if resp.status_code >= 500:
        raise Unavailable(f"Salesforce answered {resp.status_code} to revoke.", code=str(resp.status_code), status=resp.status_code)
    if resp.status_code != 200:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        raise OAuthFailed(body.get("error_description", resp.text[:200]), code=body.get("error", str(resp.status_code)), status=resp.status_code)


def ids_from_identity_url(id_url: str) -> tuple[str, str]:
    """``(org_id, user_id)`` from ``https://login.salesforce.com/id/<00D…>/<005…>``."""
    parts = [p for p in urlsplit(id_url).path.split("/") if p]
    if len(parts) >= 3 and parts[-3] == "id":
        return parts[-2], parts[-1]
    raise OAuthFailed("The identity URL in the token response is not /id/<org>/<user>.", code="bad_response")
