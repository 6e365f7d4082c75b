"""A fixed-window rate limit in Django's cache, per token.

Recipient endpoints are public and identified only by the send token, so each token gets
a budget of events per window; beyond it the endpoint answers 429. With a shared cache
(``CACHE_URL=redis://...``) the budget is shared by every web process; with the default
local-memory cache it is per process, which still bounds a runaway client.
"""

import time

from django.conf import settings
from django.core.cache import cache


def retry_after(window):
    """Seconds until the current fixed window ends (what ``Retry-After`` should say)."""
    return max(1, int(window - time.time() % window + 0.999))


def allow(scope, key, *, limit=None, window=None):
    """Count one hit of ``key`` in ``scope``; False once the window's budget is spent."""
    limit = limit or settings.ENGAGEMENT_RATE_LIMIT
    window = window or settings.ENGAGEMENT_RATE_WINDOW
    bucket = int(time.time() // window)
    cache_key = f"rl:{scope}:{key}:{bucket}"
    if cache.add(cache_key, 1, timeout=window + 5):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=window + 5)
        return True
    return count <= limit
