from django import forms
from django.core.exceptions import ValidationError

from .branding import LOGO_MAX_BYTES, logo_check
from .models import validate_accent_color


class PortalBrandingForm(forms.Form):
    logo = forms.FileField(
        label="Logo",
        required=False,
        help_text=f"PNG or JPEG, up to {LOGO_MAX_BYTES // 1024} KB. Shown above the video on recipients’ pages.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)
    accent_color = forms.CharField(
        label="Accent colour",
        required=False,
        max_length=7,
        validators=[validate_accent_color],
        help_text="# and six hex digits, e.g. #4b3fd8. Colours the buttons on recipients’ pages. Leave empty for ours.",
        widget=forms.TextInput(attrs={"placeholder": "#4b3fd8", "autocomplete": "off", "spellcheck": "false"}),
    )

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"{self[name].auto_id}-error"}
                )

    def clean_accent_color(self):
        return self.cleaned_data["accent_color"].strip().lower()

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        if upload:
            self.logo_ext = logo_check(upload)
        return upload

    def clean(self):
        data = super().clean()
        if data.get("logo") and data.get("remove_logo"):
            raise ValidationError("Upload a new logo or remove the logo, not both.")
        return data
