"""Public, token-bound recipient endpoints and webhooks (no login)."""

urlpatterns = []
