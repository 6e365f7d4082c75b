"""Add, edit and remove a field mapping (portal admins; checked against Salesforce)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from thankview.tenancy import portal_view

from ...models import FieldMapping
from .. import mapping_changes as mapping_services
from .. import selectors
from ..connection import connection_get_or_create
from ..forms import MappingForm
from .connect import settings_redirect


def _mapping_form(request, *, mapping, initial):
    """The add and edit pages: check the form, save through ``mapping_save`` (which checks
    the field against a fresh describe), show its refusal on the field, else go back."""
    connection = selectors.connection_for(request.portal)
    if connection is None or not connection.has_tokens:
        messages.error(request, "Connect Salesforce first: mappings are checked against your Salesforce fields.")
        return settings_redirect(request.portal)
    try:
        options, describe = mapping_services.mapping_field_options(connection=connection, mapping=mapping)
    except mapping_services.MappingRefused as e:
        messages.error(request, str(e))
        return settings_redirect(request.portal)
    form = MappingForm(request.POST or None, initial=initial, field_options=options)
    if request.method == "POST" and form.is_valid():
        try:
            saved = mapping_services.mapping_save(
                connection=connection, mapping=mapping, describe=describe, **form.cleaned_data
            )
        except mapping_services.MappingRefused as e:
            form.add_error("target_field", str(e))
        else:
            messages.success(request, f"Mapping for {saved.target_field} saved.")
            return settings_redirect(request.portal)
    context = {"form": form, "mapping": mapping}
    return render(request, "integrations/mapping_form.html", context, status=400 if form.errors else 200)


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def mapping_add(request):
    return _mapping_form(request, mapping=None, initial={"target_field": request.GET.get("field", "")[:80]})


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def mapping_edit(request, pk):
    mapping = get_object_or_404(FieldMapping, pk=pk, portal=request.portal, enabled=True)
    initial = {"target_field": mapping.target_field, "source": mapping.source, "constant_value": mapping.constant_value}
    return _mapping_form(request, mapping=mapping, initial=initial)


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def mapping_remove(request, pk):
    mapping = get_object_or_404(FieldMapping, pk=pk, portal=request.portal, enabled=True)
    if request.method != "POST":
        return render(request, "integrations/mapping_remove.html", {"mapping": mapping})
    connection = selectors.connection_for(request.portal) or connection_get_or_create(request.portal)
    mapping_services.mapping_remove(connection=connection, mapping=mapping)
    messages.success(request, f"ThankView no longer sends {mapping.target_field}.")
    return settings_redirect(request.portal)
