from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from thankview.tenancy import portal_view

from . import extensions, jobs, selectors, services
from .csv_io import iter_export_lines
from .forms import ContactForm, ImportForm
from .models import Contact, ContactImport

PER_PAGE = 50
# The contacts app's own filters; higher apps add theirs through contacts.extensions.
FILTERS = {"": "All contacts", "invalid": "Invalid Donor ID"}


def _filters():
    return {**FILTERS, **{f.slug: f.label for f in extensions.contact_list_filters()}}


def _list_params(request):
    q = request.GET.get("q", "").strip()[:200]
    current = request.GET.get("filter", "")
    return q, current if current in _filters() else ""


def _list_queryset(portal, q, current):
    return selectors.contact_list(
        portal=portal,
        q=q,
        invalid_only=current == "invalid",
        list_filter=extensions.contact_list_filter_get(current),
    )


def _page_number(request):
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@portal_view
def contact_list(request):
    """Contacts ordered by name, 50 a page.

    Paging fetches one row more than it shows instead of counting every match, so a page
    costs the same at 100,000 contacts as at 100 (benchmarks/README.md).
    """
    q, current = _list_params(request)
    number = _page_number(request)
    offset = (number - 1) * PER_PAGE
    rows = list(_list_queryset(request.portal, q, current)[offset : offset + PER_PAGE + 1])
    has_next = len(rows) > PER_PAGE
    contacts = rows[:PER_PAGE]
    params = {k: v for k, v in (("q", q), ("filter", current)) if v}
    query = urlencode(params)
    return render(
        request,
        "contacts/list.html",
        {
            "contacts": contacts,
            "q": q,
            "filter": current,
            "filters": _filters(),
            "extra_filter": extensions.contact_list_filter_get(current),
            "invalid_count": selectors.invalid_donor_id_count(portal=request.portal),
            "page": {
                "number": number,
                "first": offset + 1,
                "last": offset + len(contacts),
                "previous": number - 1 if number > 1 else None,
                "next": number + 1 if has_next else None,
            },
            "query": query,
            "back": request.get_full_path(),
            "any_contacts": bool(contacts) or request.portal.contacts.exists(),
        },
    )


def _safe_next(request, fallback):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@portal_view
def contact_edit(request, pk):
    try:
        contact = selectors.contact_get(portal=request.portal, pk=pk)
    except Contact.DoesNotExist:
        raise Http404("No such contact.") from None
    back = _safe_next(request, f"/{request.portal.slug}/contacts/")
    if request.method == "POST":
        data = request.POST.copy()
        if request.POST.get("donor_id_use"):  # "Use the repaired ID" button
            data["donor_id"] = request.POST["donor_id_use"]
        if request.POST.get("action") == "clear_donor_id":
            data["donor_id"] = ""
        form = ContactForm(data, contact=contact)
        old_donor_id = contact.donor_id
        if form.is_valid():
            try:
                services.contact_update(contact=contact, **form.cleaned_data)
            except ValidationError as e:
                for field, errors in e.message_dict.items():
                    form.add_error(field, errors[0])  # one error per field, the most specific first
            else:
                if contact.donor_id_is_invalid:
                    messages.warning(
                        request, f"Saved {contact}. The Donor ID is still invalid: {contact.donor_id_check.message}"
                    )
                elif contact.donor_id != old_donor_id:
                    messages.success(request, f"Saved {contact}. " + _donor_id_note(contact))
                else:
                    messages.success(request, f"Saved {contact}.")
                return redirect(back)
        status = 400
    else:
        form = ContactForm(contact=contact)
        status = 200
    return render(
        request, "contacts/edit.html", {"form": form, "contact": contact, "back": back}, status=status
    )


def _donor_id_note(contact):
    if not contact.donor_id:
        return "Donor ID cleared; the contact will be matched by email."
    return contact.donor_id_check.message


@portal_view
def contact_import(request):
    """Upload form; a good upload is stored and queued, and the browser goes to its progress."""
    context = {
        "max_bytes": settings.CONTACT_IMPORT_MAX_BYTES,
        "recent": selectors.contact_import_list(portal=request.portal)[:5],
    }
    if request.method != "POST":
        return render(request, "contacts/import.html", {**context, "form": ImportForm()})
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = jobs.contact_import_start(
                portal=request.portal, created_by=request.user, upload=form.cleaned_data["file"]
            )
        except services.ImportRefused as e:
            form.add_error("file", str(e))
        else:
            return redirect("contacts:import_detail", portal_slug=request.portal.slug, pk=job.pk)
    form.fields["file"].widget.attrs.update({"aria-invalid": "true", "aria-describedby": "file-error"})
    return render(request, "contacts/import.html", {**context, "form": form}, status=400)


def _import_or_404(request, pk):
    try:
        return selectors.contact_import_get(portal=request.portal, pk=pk)
    except ContactImport.DoesNotExist:
        raise Http404("No such import.") from None


@portal_view
def contact_import_detail(request, pk):
    """The import's progress as of now; static/js/progress.js keeps it current."""
    job = _import_or_404(request, pk)
    return render(request, "contacts/import_detail.html", {"job": job})


@portal_view
def contact_import_status(request, pk):
    """The import's progress as JSON, for the page's poller (never cached)."""
    job = _import_or_404(request, pk)
    progress = job.progress()
    data = {
        "id": job.pk,
        "status": job.status,
        "finished": job.is_finished,
        "label": job.progress_label(),
        "bars": {"rows": {"value": progress[0], "max": progress[1]} if progress else None},
        "fields": {
            "total_rows": job.total_rows,
            "processed_rows": job.processed_rows,
            "created": job.created,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "rejected": job.rejected,
            "flagged": job.flagged,
        },
    }
    if job.is_finished:
        data["html"] = render_to_string("contacts/_import_result.html", {"job": job}, request=request)
    response = JsonResponse(data)
    add_never_cache_headers(response)
    return response


@portal_view
def contact_export(request):
    q, current = _list_params(request)
    contacts = _list_queryset(request.portal, q, current).iterator(chunk_size=2000)
    response = StreamingHttpResponse(iter_export_lines(contacts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{request.portal.slug}-contacts.csv"'
    add_never_cache_headers(response)  # personal data: never kept by a browser or proxy cache
    return response
