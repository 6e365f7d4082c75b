"""The Salesforce pages, mounted by ``urls.py``.

- ``connect``: the settings page (status, checklist, mappings), Connect / Reconnect, the
  shared OAuth callback, Disconnect and "Check again".
- ``mappings``: add, edit and remove a field mapping.
- ``health``: the sync health page and its re-sync progress JSON.
- ``guide``: the admin setup guide (``salesforce/README.md`` rendered) and its package ZIP.

Views stay thin: read the request, call one service, set a message, render or redirect.
Only portal admins change anything; every member may read the pages.
"""
