"""The error summary of GOV.UK's design system, for every page that shows a form with errors.

base.html asks `forms_with_errors` which bound forms of the page's context failed validation (formsets' forms
included), prefixes the page title with "Error:" when any did, and renders `_error_summary.html`: "There is a
problem" and one link per error to the field it is about. An error about the whole form, or about a hidden field,
links to the form's first visible field. Errors are tied to their fields by Django's own `aria-describedby`
(`<id>_error`, the id the crispy-bootstrap5 templates give the message).
"""

from dataclasses import dataclass

from django import template
from django.forms import BaseForm
from django.forms.formsets import BaseFormSet

register = template.Library()


@dataclass(frozen=True)
class ErrorLink:
    """One error and where its link goes: `target` is the id of an input on this page, or (a path starting with
    "/") another page, e.g. the check-in's step to change; empty for no link."""

    message: str
    target: str

    @property
    def is_url(self) -> bool:
        return self.target.startswith("/")

    @property
    def href(self) -> str:
        if not self.target:
            return ""
        return self.target if self.is_url else f"#{self.target}"

    @property
    def field_id(self) -> str:
        """The id of the input the link focuses (empty for a link to another page)."""
        return "" if self.is_url else self.target


def _field_id(bound_field) -> str:
    """The id of the element a link to the field focuses: the input, or a radio group's first option."""
    if bound_field.id_for_label:
        return bound_field.id_for_label
    return f"{bound_field.auto_id}_0" if bound_field.auto_id else ""


def _links_for(form: BaseForm) -> list[ErrorLink]:
    visible = form.visible_fields()
    first_id = _field_id(visible[0]) if visible else ""
    links = []
    for message in form.non_field_errors():
        links.append(ErrorLink(message, first_id))
    for name, errors in form.errors.items():
        if name not in form.fields:
            continue  # the non-field errors, above
        bound_field = form[name]
        href = first_id if bound_field.is_hidden else _field_id(bound_field)
        links.extend(ErrorLink(message, href) for message in errors)
    return links


def error_links(context) -> list[ErrorLink]:
    """One link per error of every bound form (or formset) of the template context that failed validation.

    A view whose fields are laid out by hand (the check-in's steps) gives its own list instead, as
    `error_summary`: dicts with the message and the `#id` of the input each links to, or a URL ("/...").
    """
    given = context.get("error_summary")
    if given is not None:
        return [ErrorLink(error["message"], error["href"].removeprefix("#")) for error in given]
    links, seen = [], set()
    for value in context.flatten().values():
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, BaseForm) and value.is_bound and value.errors:
            links += _links_for(value)
        elif isinstance(value, BaseFormSet) and value.is_bound:
            for form in value.forms:
                if form.errors:
                    links += _links_for(form)
            first = value.forms[0].visible_fields() if value.forms else []
            href = _field_id(first[0]) if first else ""
            links += [ErrorLink(message, href) for message in value.non_form_errors()]
    return links


@register.simple_tag(takes_context=True)
def form_error_links(context) -> list[ErrorLink]:
    """The error summary's links: empty when no form of the page has errors."""
    return error_links(context)
