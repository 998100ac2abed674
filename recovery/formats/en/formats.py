"""English dates and numbers as the pages showed them before Swedish came: Django's British English (3 Dec 2026)."""

from django.conf.locale.en_GB.formats import *  # noqa: F403
