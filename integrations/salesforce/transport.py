"""HTTP session settings shared by the REST client and the OAuth calls.

Why a mixin: requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` from the environment
override ``Session.verify`` (``Session.merge_environment_settings``), so a machine that sets
them (most containers do) would silently ignore ``settings.SALESFORCE_CA_BUNDLE``. Here the
configured bundle wins; without one, requests' normal behaviour is kept.
"""

import requests
from django.conf import settings


class CABundleMixin:
    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        ca = settings.SALESFORCE_CA_BUNDLE
        if ca and verify in (None, True):
            merged["verify"] = ca
        return merged


class Session(CABundleMixin, requests.Session):
    pass
