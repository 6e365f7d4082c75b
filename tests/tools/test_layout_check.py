"""tools.layout_check on small fake trees: each rule, the exact line it prints, and silence when
the layout is fine."""

import textwrap

import pytest

from tools.layout_check import check, main


def write(root, files):
    """Create {relative path: text} under root; every folder of a .py file becomes a package."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        if path.suffix == ".py":
            for parent in path.relative_to(root).parents:
                init = root / parent / "__init__.py"
                if str(parent) != "." and not init.exists():
                    init.write_text("")


@pytest.fixture
def tree(tmp_path):
    write(
        tmp_path,
        {
            "thankview/models.py": "from django.db import models\n",
            "contacts/models.py": "from thankview.models import models\n",
            "engagement/models.py": "from contacts.models import models\n",
            "integrations/models/__init__.py": "from .connection import Connection\n",
            "integrations/models/connection.py": "from engagement.models import models\n",
            "templates/base.html": "<html>{% block content %}{% endblock %}</html>\n",
        },
    )
    return tmp_path


def test_a_fine_layout_prints_nothing_and_exits_0(tree, capsys):
    assert main([str(tree)]) == 0
    assert capsys.readouterr().out == ""


def test_cycle_through_an_import_inside_a_function(tree, capsys):
    write(
        tree,
        {
            "contacts/services.py": """
                from contacts import tasks
            """,
            "contacts/tasks.py": """
                def run():
                    from .services import contact_import
                    contact_import()
            """,
        },
    )
    assert main([str(tree)]) == 1
    assert capsys.readouterr().out == "cycle: contacts.services -> contacts.tasks -> contacts.services\n"


def test_cycle_is_reported_once_from_its_first_module_with_the_rest_of_its_group(tree):
    write(
        tree,
        {
            "integrations/salesforce/sync.py": "from . import budget\n",
            "integrations/salesforce/budget.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from integrations.salesforce import bulk
            """,
            "integrations/salesforce/bulk.py": "from .sync import run\nfrom . import views\n",
            "integrations/salesforce/views.py": "import integrations.salesforce.bulk\n",
        },
    )
    assert check(tree) == [
        "cycle: integrations.salesforce.budget -> integrations.salesforce.bulk"
        " -> integrations.salesforce.sync -> integrations.salesforce.budget"
        " (also in this cycle group: integrations.salesforce.views)"
    ]


def test_a_package_stands_for_its_init(tree):
    # models/connection.py imports the package, whose __init__ imports connection: a cycle.
    write(tree, {"integrations/models/connection.py": "from integrations.models import Mapping\n"})
    assert check(tree) == [
        "cycle: integrations.models -> integrations.models.connection -> integrations.models"
    ]


def test_upward_import_inside_a_function(tree):
    write(
        tree,
        {
            "contacts/selectors.py": """
                from .models import models


                def unmatched():
                    from integrations.models import Connection
                    return Connection
            """,
        },
    )
    assert check(tree) == [
        "upward import: contacts/selectors.py:5: contacts.selectors imports integrations.models"
    ]


def test_each_upward_target_is_reported_once_per_module(tree):
    write(
        tree,
        {
            "thankview/views.py": """
                import engagement.models
                from contacts import models
                from contacts.models import models as again
            """,
        },
    )
    assert check(tree) == [
        "upward import: thankview/views.py:1: thankview.views imports engagement.models",
        "upward import: thankview/views.py:2: thankview.views imports contacts.models",
    ]


def test_project_configuration_may_import_every_app(tree):
    write(
        tree,
        {
            "thankview/urls.py": "import integrations.models\n",
            "thankview/settings.py": "from engagement import models\n",
            "thankview/test_settings.py": "from .settings import *\nimport contacts.models\n",
            "thankview/celery.py": "from integrations.models import connection\n",
        },
    )
    assert check(tree) == []


def test_migrations_and_other_packages_are_not_product_code(tree):
    write(
        tree,
        {
            "contacts/migrations/0001_initial.py": "import integrations.models\n" * 600,
            "sfsim/big.py": "x = 1\n" * 600,
            "tests/test_x.py": "import integrations.models\n",
        },
    )
    assert check(tree) == []


def test_upward_template_include_and_extends(tree):
    write(
        tree,
        {
            "templates/engagement/send_detail.html": """
                {% extends "base.html" %}
                {% block content %}
                {% include "integrations/_send_sync_status.html" %}
                {% include "contacts/_row.html" %}{% include some_variable %}
                {% endblock %}
            """,
            "templates/contacts/list.html": "{% extends 'admin/engagement/base.html' %}\n",
        },
    )
    assert check(tree) == [
        "upward template: templates/contacts/list.html:1: extends admin/engagement/base.html",
        "upward template: templates/engagement/send_detail.html:3:"
        " includes integrations/_send_sync_status.html",
    ]


def test_upward_template_load_of_a_higher_apps_tag_library(tree):
    write(
        tree,
        {
            "integrations/templatetags/sf_tags.py": "from django import template\n",
            "engagement/templatetags/funnel_tags.py": "from django import template\n",
            "contacts/templates/contacts/row.html": "{% load humanize static %}\n"
            "{% load sf_tags %}{% load bar from funnel_tags %}\n",
            "templates/integrations/page.html": "{% load sf_tags funnel_tags %}\n",
        },
    )
    assert check(tree) == [
        "upward template: contacts/templates/contacts/row.html:2: loads sf_tags (integrations)",
        "upward template: contacts/templates/contacts/row.html:2: loads funnel_tags (engagement)",
    ]


def test_the_project_layout_templates_may_include_any_app(tree):
    write(tree, {"templates/base.html": '{% include "integrations/_banners.html" %}\n'})
    assert check(tree) == []


def test_module_over_500_lines(tree, capsys):
    write(
        tree,
        {
            "engagement/services.py": "x = 1\n" * 501,
            "engagement/selectors.py": "x = 1\n" * 500,
        },
    )
    assert main([str(tree)]) == 1
    assert capsys.readouterr().out == "too long: engagement/services.py: 501 lines (max 500)\n"
