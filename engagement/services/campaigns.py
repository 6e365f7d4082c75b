"""Creating campaigns, and the field rules a campaign must follow."""

from django.core.exceptions import ValidationError

from thankview.text import one_line

from ..models import Campaign
from .validation import unstorable, url_problem

# The CRM keeps these links in URL fields, and a Salesforce URL field holds 255 characters
# (Salesforce Help's custom field types, as docs/salesforce-behaviour.md records; describe
# of a URL field says length 255): a longer link would be refused on every sync, so it is
# refused here, where it can still be fixed.
URL_MAX_LENGTH = 255


def campaign_create(*, portal, name, video_url, cta_label="", cta_url="", created_by=None):
    """Create a campaign after model validation; raises ValidationError with field errors."""
    campaign = Campaign(
        portal=portal,
        name=one_line(name or ""),
        video_url=(video_url or "").strip(),
        cta_label=one_line(cta_label or ""),
        cta_url=(cta_url or "").strip(),
        created_by=created_by,
    )
    campaign_validate(campaign)
    campaign.save()
    return campaign


def campaign_validate(campaign):
    """Field rules beyond the model: http(s) links only, and a CTA has both label and URL."""
    errors = {}
    for name in ("name", "video_url", "cta_label", "cta_url"):
        if unstorable(getattr(campaign, name)):
            errors[name] = ["This text contains characters that cannot be stored (e.g. NUL)."]
    if errors:
        raise ValidationError(errors)
    try:
        # The links are checked below by url_problem, the API schema's rule, not URLField's.
        campaign.full_clean(exclude=["portal", "created_by", "video_url", "cta_url"])
    except ValidationError as e:
        errors.update(e.message_dict)
    if not campaign.video_url:
        errors["video_url"] = ["This field cannot be blank."]
    for name in ("video_url", "cta_url"):
        value = getattr(campaign, name)
        if value and name not in errors and len(value) > URL_MAX_LENGTH:
            errors[name] = [f"Use a link of at most {URL_MAX_LENGTH} characters (this one has {len(value)}): "
                            "Salesforce keeps it in a URL field, which holds no more."]
        if value and name not in errors and url_problem(value):
            errors[name] = ["Enter a web address starting with http:// or https://."]
    if campaign.cta_url and not campaign.cta_label:
        errors.setdefault("cta_label", []).append("Give the button a label, e.g. “Give again”.")
    if campaign.cta_label and not campaign.cta_url:
        errors.setdefault("cta_url", []).append("Enter the address the button opens.")
    if errors:
        raise ValidationError(errors)

