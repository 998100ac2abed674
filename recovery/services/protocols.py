"""The shipped protocol templates (recovery.clinical.timeline.DEFAULT_PROTOCOLS) as editable database rows."""

from recovery.clinical.timeline import DEFAULT_PROTOCOLS


def load_default_protocols(template_model, event_model) -> int:
    """Create the default templates and any of their events that are missing; never overwrite an edit.

    Takes the model classes so that a data migration can pass its historical models. Returns the number of
    events created.
    """
    created = 0
    for defaults in DEFAULT_PROTOCOLS.values():
        template, _ = template_model.objects.get_or_create(
            code=defaults.code, defaults={"name": defaults.name, "description": defaults.description}
        )
        existing = set(event_model.objects.filter(template=template).values_list("key", flat=True))
        missing = [
            event_model(
                template=template,
                key=event.key,
                anchor=event.anchor.value,
                offset_days=event.offset_days,
                kind=event.kind.value,
                title=event.title,
            )
            for event in defaults.events
            if event.key not in existing
        ]
        event_model.objects.bulk_create(missing)
        created += len(missing)
    return created
