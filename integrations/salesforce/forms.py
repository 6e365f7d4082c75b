from django import forms

from ..models import FieldMapping, SalesforceConnection
from . import oauth

ENV = SalesforceConnection.Environment


class ConnectForm(forms.Form):
    environment = forms.ChoiceField(
        label="Salesforce environment",
        choices=[
            (ENV.PRODUCTION, "Production (login.salesforce.com)"),
            (ENV.SANDBOX, "Sandbox (test.salesforce.com)"),
            (ENV.MYDOMAIN, "My Domain URL"),
        ],
        initial=ENV.PRODUCTION,
        widget=forms.RadioSelect,
    )
    mydomain_url = forms.CharField(
        label="My Domain URL",
        required=False,
        max_length=255,
        help_text="Only for “My Domain”: e.g. https://acme.my.salesforce.com or "
        "https://acme--uat.sandbox.my.salesforce.com.",
    )

    def clean(self):
        data = super().clean()
        env = data.get("environment")
        if env == ENV.MYDOMAIN:
            try:
                data["login_url"] = oauth.validate_mydomain(data.get("mydomain_url", ""))
            except oauth.InvalidLoginUrl as e:
                self.add_error("mydomain_url", str(e))
        return data


def _source_choices():
    return [(value, label) for value, label in FieldMapping.Source.choices]


class MappingForm(forms.Form):
    target_field = forms.RegexField(
        label="Salesforce field (API name)",
        regex=r"^[A-Za-z][A-Za-z0-9_]{0,79}$",
        max_length=80,
        error_messages={"invalid": "Enter the field's API name, e.g. Donor_ID__c."},
        help_text="Exactly as in Salesforce, including the __c suffix.",
    )
    source = forms.ChoiceField(label="Value from", choices=_source_choices)
    constant_value = forms.CharField(
        label="Constant value",
        required=False,
        max_length=255,
        help_text="Only when “Value from” is “A constant value”. For a checkbox enter true or false.",
    )

    def clean(self):
        data = super().clean()
        if data.get("source") == FieldMapping.Source.CONSTANT and not (data.get("constant_value") or "").strip():
            self.add_error("constant_value", "Enter the constant to send.")
        return data
