"""The fixed OAuth callback shared by all portals."""

urlpatterns = []
