"""``{{ value|when }}`` / ``{{ value|when:"date" }}``: a date as every page shows it.

A template builtin (settings ``TEMPLATES``), so no ``{% load %}`` is needed. Empty values
render as nothing, so ``{{ x|when|default:"Never" }}`` works.
"""

from django import template
from django.utils.html import format_html

from .. import dates

register = template.Library()


@register.filter
def when(value, style="datetime"):
    text = dates.local_text(value, style)
    if not text:
        return ""
    return format_html('<time datetime="{}" title="{}">{}</time>', dates.machine_text(value), dates.utc_text(value), text)
