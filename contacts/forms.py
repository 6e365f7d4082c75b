from django import forms

from . import salesforce_ids

DONOR_ID_HELP = (
    "The 15- or 18-character Salesforce Contact ID (starts with 003) or Lead ID (00Q). "
    "Leave empty to clear it; the contact is then matched by email."
)


class ContactForm(forms.Form):
    """Fix a contact's details; the Donor ID is checked by ``salesforce_ids.check``.

    A new Donor ID that fails the check is refused with the reason, and ``repaired`` holds
    the ID to accept when the failure was only a spreadsheet changing the case. An invalid
    Donor ID that was already stored (imported) and is left unchanged does not block saving
    the other fields; the page keeps flagging it.
    """

    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="Email", max_length=254)
    donor_id = forms.CharField(label="Donor ID", max_length=64, required=False, help_text=DONOR_ID_HELP)

    def __init__(self, *args, contact, **kwargs):
        self.contact = contact
        self.repaired = None
        kwargs.setdefault(
            "initial",
            {
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "email": contact.email,
                "donor_id": contact.donor_id,
            },
        )
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("autocomplete", "off")
        self.fields["donor_id"].widget.attrs.update({"spellcheck": "false", "class": "mono"})

    def clean_donor_id(self):
        value = self.cleaned_data["donor_id"].strip()
        if not value:
            return ""
        verdict = salesforce_ids.check(value)
        if verdict.ok or value == self.contact.donor_id:
            return value
        self.repaired = verdict.repaired
        raise forms.ValidationError(verdict.message, code=verdict.reason)

    def add_error(self, field, error):
        super().add_error(field, error)
        # Mark the failing inputs for assistive technology.
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"
                self.fields[name].widget.attrs["aria-describedby"] = f"{name}-error"


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="First line names the columns: Email (required), First Name, Last Name, Donor ID.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
