import csv
import io
import secrets

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from contacts.models import normalize_email

from . import services
from .models import Campaign

# Video replies: container formats a browser can play, recognised by their first bytes
# (the browser-sent content type is only a hint and is not trusted).
VIDEO_REPLY_TYPES = {
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
}
RECIPIENT_CSV_MAX_BYTES = 5 * 1024 * 1024


class AccessibleFormMixin:
    """Marks invalid fields with aria-invalid and links their error text (aria-describedby)."""

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class CampaignForm(AccessibleFormMixin, forms.ModelForm):
    video_url = forms.URLField(
        label="Video URL", max_length=500, assume_scheme="https",
        help_text="A video file browsers can play (WebM or MP4).",
    )
    cta_url = forms.URLField(label="Button link", max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Campaign
        fields = ["name", "video_url", "cta_label", "cta_url"]
        labels = {"video_url": "Video URL", "cta_label": "Button label", "cta_url": "Button link"}
        help_texts = {
            "name": "Shown to recipients and sent to Salesforce as Event_Name__c.",
            "cta_label": "Optional call-to-action button, e.g. “Give again”.",
        }

    def _post_clean(self):
        super()._post_clean()
        try:
            services.campaign_validate(self.instance)
        except ValidationError as e:
            for field_name, messages in e.message_dict.items():
                if field_name in self.errors:
                    continue  # one error per field: the form's own (e.g. "Enter a valid URL.") says it
                for message in messages:
                    self.add_error(field_name if field_name in self.fields else None, message)


class CampaignSendForm(AccessibleFormMixin, forms.Form):
    ALL, SEARCH, CSV = "all", "search", "csv"
    recipients = forms.ChoiceField(
        label="Recipients",
        choices=[(ALL, "All contacts"), (SEARCH, "Contacts matching a search"), (CSV, "Emails from a CSV file")],
        widget=forms.RadioSelect,
        initial=ALL,
    )
    q = forms.CharField(label="Search", required=False, max_length=200, help_text="Name, email or Donor ID.")
    csv_file = forms.FileField(
        label="CSV file", required=False, help_text="One email per row, or a column named “email”."
    )

    def clean(self):
        data = super().clean()
        choice = data.get("recipients")
        if choice == self.SEARCH and not (data.get("q") or "").strip():
            self.add_error("q", "Enter what to search for.")
        if choice == self.CSV:
            upload = data.get("csv_file")
            if not upload:
                self.add_error("csv_file", "Choose a CSV file.")
            else:
                try:
                    data["csv_emails"] = parse_email_csv(upload)
                except ValidationError as e:
                    self.add_error("csv_file", e)
        return data

    def audience(self):
        """The chosen recipients as a send job's ``audience`` (see ``selectors.audience_contacts``)."""
        choice = self.cleaned_data["recipients"]
        if choice == self.SEARCH:
            return {"kind": "search", "q": self.cleaned_data["q"]}
        if choice == self.CSV:
            return {"kind": "emails", "emails": self.cleaned_data["csv_emails"]}
        return {"kind": "all"}


def parse_email_csv(upload):
    """Normalised emails from an uploaded CSV (an ``email`` column, else the first column)."""
    if upload.size > RECIPIENT_CSV_MAX_BYTES:
        raise ValidationError(f"The file is larger than {RECIPIENT_CSV_MAX_BYTES // (1024 * 1024)} MB.")
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValidationError("The file is empty.")
    header = [c.strip().casefold() for c in rows[0]]
    column = header.index("email") if "email" in header else 0
    body = rows[1:] if "email" in header else rows
    emails = []
    for row in body:
        if len(row) > column and "@" in row[column]:
            emails.append(normalize_email(row[column]))
    if not emails:
        raise ValidationError("No email addresses found in the file.")
    return list(dict.fromkeys(emails))


class TextReplyForm(AccessibleFormMixin, forms.Form):
    prefix = "text"
    text = forms.CharField(
        label="Your reply",
        max_length=services.MAX_TEXT_REPLY,
        widget=forms.Textarea(attrs={"rows": 4}),
        strip=True,
    )


class VideoReplyForm(AccessibleFormMixin, forms.Form):
    prefix = "video"
    url = forms.CharField(label="Link to your video", required=False, max_length=services.MAX_URL)
    file = forms.FileField(label="Or upload a video file", required=False)

    @staticmethod
    def max_bytes():
        return settings.VIDEO_REPLY_MAX_BYTES

    def clean_url(self):
        url = (self.cleaned_data.get("url") or "").strip()
        if url:
            problem = services.url_problem(url)
            if problem:
                raise ValidationError("Enter a web address starting with http:// or https://.")
        return url

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if not upload:
            return upload
        if upload.size > self.max_bytes():
            raise ValidationError(f"The video is larger than {self.max_bytes() // (1024 * 1024)} MB.")
        ext = "." + upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if ext not in VIDEO_REPLY_TYPES:
            raise ValidationError("Upload a WebM, MP4 or MOV video.")
        head = upload.read(16)
        upload.seek(0)
        if not _looks_like_video(head):
            raise ValidationError("That file is not a video we can play (WebM, MP4 or MOV).")
        self._ext = ext
        return upload

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("url") and not data.get("file"):
            raise ValidationError("Give a link to your video or upload a file.")
        if data.get("url") and data.get("file"):
            raise ValidationError("Give a link or a file, not both.")
        return data

    def stored_name(self):
        return secrets.token_hex(12) + self._ext


def _looks_like_video(head):
    # WebM/Matroska starts with the EBML magic; MP4/MOV carry an "ftyp" (or "moov"/"mdat") box at offset 4.
    return head.startswith(b"\x1a\x45\xdf\xa3") or head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


class ApiKeyCreateForm(AccessibleFormMixin, forms.Form):
    name = forms.CharField(label="Key name", max_length=100, help_text="Who uses it, e.g. “Donor CRM export”.")
