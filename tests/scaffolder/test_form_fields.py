"""Django form fields built from template parameters: one widget per field kind, ui:* hints honoured."""

import pytest
from django import forms

from scaffolder import formschema
from scaffolder.forms import CatalogChoices, DatalistInput, RepoUrlWidget, StepForm
from scaffolder.policies import Guardrails

pytestmark = pytest.mark.django_db

EVERY_KIND = {
    "title": "Everything",
    "required": ["name", "owner"],
    "properties": {
        "name": {"type": "string", "title": "Name", "minLength": 2, "maxLength": 40, "pattern": "^[a-z-]+$",
                 "ui:autofocus": True, "ui:placeholder": "my-service", "ui:help": "Lower case only"},
        "email": {"type": "string", "format": "email"},
        "homepage": {"type": "string", "format": "uri"},
        "launch": {"type": "string", "format": "date"},
        "notes": {"type": "string", "ui:widget": "textarea", "ui:options": {"rows": 4}},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 9, "default": 2},
        "ratio": {"type": "number", "multipleOf": 0.5},
        "public": {"type": "boolean", "default": True, "description": "Reachable from the internet"},
        "size": {"type": "string", "enum": ["s", "m", "l"], "enumNames": ["Small", "Medium", "Large"]},
        "tier": {"type": "string", "enum": ["gold", "silver"], "ui:widget": "radio"},
        "regions": {"type": "array", "items": {"type": "string", "enum": ["eu", "us"]}, "uniqueItems": True},
        "features": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "ui:widget": "checkboxes"},
        "ports": {"type": "array", "items": {"type": "integer"}},
        "token": {"type": "string", "ui:field": "Secret"},
        "password": {"type": "string", "ui:widget": "password"},
        "internal": {"type": "string", "ui:widget": "hidden", "default": "x"},
        "locked": {"type": "string", "default": "fixed", "ui:readonly": True},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "db": {"type": "object", "title": "Database", "description": "Where data lives",
               "properties": {"engine": {"type": "string", "default": "postgres"}, "size": {"type": "integer"}}},
        "owner": {"type": "string", "ui:field": "OwnerPicker", "ui:options": {"allowedKinds": ["Group"]}},
        "system": {"type": "string", "ui:field": "EntityPicker", "ui:options": {"catalogFilter": {"kind": "System"}}},
        "strict": {"type": "string", "ui:field": "EntityPicker",
                   "ui:options": {"allowedKinds": ["Component"], "allowArbitraryValues": False}},
        "component": {"type": "string", "ui:field": "EntityNamePicker"},
        "tags": {"type": "array", "items": {"type": "string"}, "ui:field": "EntityTagsPicker"},
        "team": {"type": "string", "ui:field": "MyGroupsPicker"},
        "repoUrl": {"type": "string", "ui:field": "RepoUrlPicker",
                    "ui:options": {"allowedHosts": ["localhost", "github.com"], "allowedOwners": ["acme"]}},
        "branch": {"type": "string", "ui:field": "RepoBranchPicker"},
    },
}


@pytest.fixture
def step():
    return formschema.parameter_steps([EVERY_KIND])[0]


@pytest.fixture
def form(org, step, alice):
    return StepForm(step, catalog=CatalogChoices(alice))


def widget(form, name):
    return form.fields[name].widget


def test_every_field_kind_gets_its_widget(form):
    assert isinstance(widget(form, "name"), forms.TextInput)
    assert widget(form, "email").input_type == "email"
    assert widget(form, "homepage").input_type == "url"
    assert widget(form, "launch").input_type == "date"
    assert isinstance(widget(form, "notes"), forms.Textarea) and widget(form, "notes").attrs["rows"] == 4
    assert isinstance(widget(form, "replicas"), forms.NumberInput)
    assert isinstance(widget(form, "public"), forms.CheckboxInput)
    assert isinstance(widget(form, "size"), forms.Select)
    assert isinstance(widget(form, "tier"), forms.RadioSelect)
    assert isinstance(widget(form, "regions"), forms.SelectMultiple)
    assert isinstance(widget(form, "features"), forms.CheckboxSelectMultiple)
    assert isinstance(widget(form, "ports"), forms.Textarea)
    assert isinstance(widget(form, "token"), forms.PasswordInput)
    assert isinstance(widget(form, "password"), forms.PasswordInput)
    assert isinstance(widget(form, "internal"), forms.HiddenInput)
    assert isinstance(widget(form, "labels"), forms.Textarea)
    assert isinstance(widget(form, "owner"), DatalistInput)
    assert isinstance(widget(form, "strict"), forms.Select)
    assert isinstance(widget(form, "repoUrl"), RepoUrlWidget)


def test_constraints_and_ui_hints_become_attributes(form):
    name = widget(form, "name").attrs
    assert name["minlength"] == 2 and name["maxlength"] == 40
    assert name["autofocus"] is True and name["placeholder"] == "my-service" and name["required"] is True
    assert form.fields["name"].help_text == "Lower case only"
    replicas = widget(form, "replicas").attrs
    assert (replicas["min"], replicas["max"], replicas["step"]) == (1, 9, "1")
    assert widget(form, "ratio").attrs["step"] == 0.5
    assert widget(form, "locked").attrs["readonly"] is True
    assert form.fields["public"].help_text == "Reachable from the internet"


def test_choices_use_enum_names_and_defaults_are_shown(form):
    assert list(form.fields["size"].choices) == [("", "— choose —"), ("s", "Small"), ("m", "Medium"), ("l", "Large")]
    assert form.fields["replicas"].initial == "2"
    assert form.fields["public"].initial is True
    assert form.fields["internal"].initial == "x"
    html = form.as_p()
    assert 'value="2"' in html and 'name="internal" value="x"' in html


def test_nested_objects_become_dotted_fields_in_a_labelled_group(form):
    assert "db.engine" in form.fields and "db.size" in form.fields
    groups = form.rows()
    database = next(g for g in groups if g["label"] == "Database")
    assert database["help"] == "Where data lives"
    assert [row.field.name for row in database["rows"]] == ["db.engine", "db.size"]
    assert form.fields["db.engine"].initial == "postgres"


def test_pickers_offer_entities_from_the_catalog(form):
    owners = dict(widget(form, "owner").options)
    assert set(owners) == {"group:default/team-a", "group:default/team-b"}
    assert owners["group:default/team-a"] == "Team A (group:default/team-a)"
    assert [ref for ref, _ in widget(form, "system").options] == ["system:default/payments"]
    assert [ref for ref, _ in widget(form, "strict").choices if ref] == ["component:default/ledger"]
    tags = [tag for tag, _ in widget(form, "tags").options]
    assert tags[:2] == ["money", "python"] or set(tags) >= {"python", "money"}
    html = str(form["owner"])
    assert 'list="id_owner-options"' in html and '<datalist id="id_owner-options">' in html


def test_my_groups_picker_offers_only_the_persons_groups(form):
    assert [ref for ref, _ in form.fields["team"].widget.choices if ref] == ["group:default/team-a"]


def test_repo_url_picker_has_host_owner_and_repository_inputs(form):
    html = str(form["repoUrl"])
    assert 'name="repoUrl_host"' in html and 'name="repoUrl_owner"' in html and 'name="repoUrl_repo"' in html
    host = widget(form, "repoUrl").widgets[0]
    assert [value for value, _ in host.choices] == ["localhost", "github.com"]
    owner = widget(form, "repoUrl").widgets[1]
    assert [value for value, _ in owner.choices] == ["", "acme"]


def test_repo_url_picker_posts_host_owner_and_repo_as_one_value(org, step, alice):
    data = {"name": "svc", "owner": "group:default/team-a",
            "repoUrl_host": "github.com", "repoUrl_owner": "acme", "repoUrl_repo": "svc"}
    form = StepForm(step, catalog=CatalogChoices(alice), data=data)
    assert form.is_valid(), form.errors
    assert form.step_values()["repoUrl"] == "github.com?owner=acme&repo=svc"


def test_guardrails_narrow_the_hosts_and_owners_offered(org, step, alice):
    guardrails = Guardrails(hosts={"localhost"}, owners={"acme"})
    form = StepForm(step, catalog=CatalogChoices(alice), guardrails=guardrails)
    assert [value for value, _ in widget(form, "repoUrl").widgets[0].choices] == ["localhost"]


def test_secret_fields_never_render_their_value(org, step, alice):
    data = {"name": "svc", "owner": "group:default/team-a", "token": "s3cr3t-value", "password": "hunter2-pass"}
    form = StepForm(step, catalog=CatalogChoices(alice), data=data)
    html = form.as_p()
    assert "s3cr3t-value" not in html and "hunter2-pass" not in html


def test_a_kept_secret_need_not_be_typed_again(org, step, alice):
    data = {"name": "svc", "owner": "group:default/team-a"}
    form = StepForm(step, catalog=CatalogChoices(alice), data=data, kept_secrets={"token": "kept-value"})
    assert form.is_valid(), form.errors
    assert form.step_values()["token"] == "kept-value"
    assert "kept" in widget(form, "token").attrs["placeholder"]


def test_typed_values_are_read_back_with_their_json_types(org, step, alice):
    data = {"name": "svc", "owner": "group:default/team-a", "replicas": "3", "ratio": "1.5", "size": "m",
            "regions": ["eu", "us"], "features": ["b"], "ports": "80\n443", "labels": '{"a": "b"}',
            "db.engine": "mysql", "db.size": "10", "tags": "one, two"}
    form = StepForm(step, catalog=CatalogChoices(alice), data=data)
    assert form.is_valid(), form.errors
    values = form.step_values()
    assert values["replicas"] == 3 and values["ratio"] == 1.5 and values["public"] is False
    assert values["regions"] == ["eu", "us"] and values["features"] == ["b"] and values["ports"] == [80, 443]
    assert values["labels"] == {"a": "b"} and values["db"] == {"engine": "mysql", "size": 10}
    assert values["tags"] == ["one", "two"]


def test_an_unbound_form_shows_stored_values_in_widget_form(org, step, alice):
    values = {"name": "svc", "replicas": 5, "regions": ["us"], "ports": [1, 2], "labels": {"k": "v"},
              "tags": ["x", "y"], "repoUrl": "github.com?owner=acme&repo=svc", "public": False}
    form = StepForm(step, catalog=CatalogChoices(alice), values=values)
    assert form.fields["replicas"].initial == "5"
    assert form.fields["regions"].initial == ["us"]
    assert form.fields["ports"].initial == "1\n2"
    assert form.fields["tags"].initial == "x, y"
    assert form.fields["public"].initial is False
    html = str(form["repoUrl"])
    assert 'value="svc"' in html and 'value="github.com" selected' in html


def test_controlling_fields_ask_the_server_to_redraw_the_step(org, alice):
    step = formschema.parameter_steps([{
        "properties": {"database": {"type": "string", "enum": ["pg", "none"], "default": "none"}},
        "dependencies": {"database": {"oneOf": [
            {"properties": {"database": {"const": "pg"}, "size": {"type": "integer"}}},
            {"properties": {"database": {"const": "none"}}},
        ]}},
    }])[0]
    form = StepForm(step, catalog=CatalogChoices(alice), refresh_url="/create/x/")
    attrs = widget(form, "database").attrs
    assert attrs["hx-post"] == "/create/x/" and attrs["hx-trigger"] == "change"
    assert "size" not in form.fields
    shown = StepForm(step, catalog=CatalogChoices(alice), values={"database": "pg"})
    assert "size" in shown.fields


def test_if_then_else_fields_follow_the_values(org, alice):
    step = formschema.parameter_steps([{
        "properties": {"kind": {"type": "string", "enum": ["web", "worker"]}},
        "if": {"properties": {"kind": {"const": "web"}}, "required": ["kind"]},
        "then": {"properties": {"port": {"type": "integer"}}, "required": ["port"]},
        "else": {"properties": {"queue": {"type": "string"}}},
    }])[0]
    web = StepForm(step, catalog=CatalogChoices(alice), data={"kind": "web"})
    assert "port" in web.fields and "queue" not in web.fields
    assert not web.is_valid() and web.errors["port"] == ["This field is required"]
    worker = StepForm(step, catalog=CatalogChoices(alice), data={"kind": "worker", "queue": "jobs"})
    assert "queue" in worker.fields and worker.is_valid()


def test_a_short_name_typed_into_a_picker_becomes_a_full_ref(org, alice):
    step = formschema.parameter_steps([{"properties": {
        "owner": {"type": "string", "ui:field": "OwnerPicker"},
        "system": {"type": "string", "ui:field": "EntityPicker",
                   "ui:options": {"defaultKind": "System", "defaultNamespace": "ops"}},
        "any": {"type": "string", "ui:field": "EntityPicker"},
    }}])[0]
    form = StepForm(step, catalog=CatalogChoices(alice),
                    data={"owner": "team-a", "system": "payments", "any": "ledger"})
    assert form.is_valid(), form.errors
    assert form.step_values() == {"owner": "group:default/team-a", "system": "system:ops/payments", "any": "ledger"}
