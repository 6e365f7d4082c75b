from django import forms

from ..models import FieldMapping, SalesforceConnection
from . import oauth
from .mapping import source_label

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


class MappingForm(forms.Form):
    """A mapping: the Salesforce field chosen from ``ThankView__c``'s described fields
    (``field_options``, from ``mapping_changes.mapping_field_options``), the value from a list."""

    target_field = forms.ChoiceField(
        label="Salesforce field",
        error_messages={
            "required": "Choose the Salesforce field.",
            "invalid_choice": "Choose one of the ThankView__c fields in the list.",
        },
        help_text="The fields of ThankView__c that ThankView can write, as Salesforce describes them.",
    )
    source = forms.ChoiceField(
        label="Value from",
        choices=[(value, source_label(value)) for value in FieldMapping.Source.values],
        help_text="In brackets: the field type that takes it.",
    )
    constant_value = forms.CharField(
        label="Constant value",
        required=False,
        max_length=255,
        help_text="The same value on every record. For a checkbox enter true or false.",
    )

    def __init__(self, *args, field_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_field"].choices = [("", "Choose a field")] + [
            (o.name, f"{o.label} ({o.name}) · {o.type_label}") for o in field_options
        ]

    def clean(self):
        data = super().clean()
        if data.get("source") == FieldMapping.Source.CONSTANT and not (data.get("constant_value") or "").strip():
            self.add_error("constant_value", "Enter the constant to send.")
        return data
