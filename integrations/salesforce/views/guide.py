"""The admin setup guide (``salesforce/README.md``, rendered) and the package it deploys.

Every member may read them: a portal admin forwards the link to their Salesforce admin.
"""

from django.http import HttpResponse
from django.shortcuts import render

from thankview.tenancy import portal_view

from .. import setup_guide


@portal_view
def guide(request):
    return render(request, "integrations/salesforce_setup_guide.html", {"guide": setup_guide.guide()})


@portal_view
def package(request):
    response = HttpResponse(setup_guide.package_zip(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="thankview-salesforce-package.zip"'
    return response
