"""Who is still in follow-up: a Day 0 whose follow-up (`recovery/clinical/follow_up.py`, from the centre's
configuration) has not ended. Reminders are planned, and the worklists list, only these patients."""

from collections.abc import Mapping
from datetime import date

from django.db.models import Q

from recovery.clinical.follow_up import earliest_day0_in_follow_up
from recovery.queries.configuration import ActiveConfig


def follow_up_cutoffs(today: date, configs: Mapping[int, ActiveConfig]) -> dict[int, date]:
    """Centre id to the earliest Day 0 still in follow-up on `today`, from the centre's configuration."""
    return {
        centre_id: earliest_day0_in_follow_up(
            today, config.reminders, config.surveillance, config.vaccination, config.prophylaxis
        )
        for centre_id, config in configs.items()
    }


def in_follow_up(today: date, configs: Mapping[int, ActiveConfig]) -> Q:
    """Patients of the centres of `configs` (centre id to its active configuration) whose follow-up has not
    ended by `today`: a filter on the Day 0, one date per distinct configuration, no query."""
    by_cutoff: dict[date, list[int]] = {}
    for centre_id, cutoff in follow_up_cutoffs(today, configs).items():
        by_cutoff.setdefault(cutoff, []).append(centre_id)
    query = Q(pk__in=[])
    for cutoff, ids in by_cutoff.items():
        query |= Q(centre_id__in=ids, episode__reinfusion_date__gte=cutoff)
    return query
