"""The confirmation page every support action shows before it changes anything."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse

CONFIRM_TEMPLATE = "admin/integrations/support_confirm.html"


@dataclass
class Target:
    """One portal (or campaign) the action is about, and what it means for it."""

    name: str
    detail: str


def confirmed(request) -> bool:
    """Only the confirmation page's own button acts."""
    return request.POST.get("confirm") == "yes"


def confirm_page(modeladmin, request, *, objects, action: str, title: str, what: str, targets: list[Target],
                 confirm_label: str, form=None, step: str = "confirm", notes=()) -> TemplateResponse:
    """The page: the targets, what will happen, and Yes / No. With ``form`` in ``step``
    "edit", the new values are asked first; "confirm" carries them as hidden fields."""
    opts = modeladmin.model._meta
    return TemplateResponse(request, CONFIRM_TEMPLATE, {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "what": what,
        "targets": targets,
        "notes": list(notes),
        "form": form,
        "step": step,
        "selected": [o.pk for o in objects],
        "action_name": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "confirm_label": confirm_label,
        "cancel_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    })
