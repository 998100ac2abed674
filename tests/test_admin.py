"""Administrators configure protocols, centres and configuration versions in the admin, without code."""

import pytest
from django.urls import reverse

from recovery.models import CentreConfiguration, ProtocolTemplate
from tests.factories import UserFactory


@pytest.fixture
def admin_client_(client, db):
    client.force_login(UserFactory(username="root", role="", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "protocoltemplate",
        "transplantepisode",
        "centreconfiguration",
        "alert",
        "patient",
        "auditevent",
        "heartbeat",
        "notification",
        "caretask",
        "remindersettings",
    ],
)
def test_admin_lists_open(admin_client_, model):
    """Each model's admin list opens for an administrator."""
    assert admin_client_.get(reverse(f"admin:recovery_{model}_changelist")).status_code == 200


def test_a_shipped_protocol_can_be_edited_in_the_admin(admin_client_):
    """The default Cy/ATG protocol opens with its events inline, ready to edit."""
    protocol = ProtocolTemplate.objects.get(code="cy_atg")
    page = admin_client_.get(reverse("admin:recovery_protocoltemplate_change", args=[protocol.pk])).content.decode()
    assert "Clinic visit (Day +30)" in page


def test_configuration_versions_are_read_only_once_saved(admin_client_, centre):
    """A saved configuration version cannot be edited: a change is a new version."""
    config = CentreConfiguration.objects.create(
        centre=centre, version=1, values={"phase": {"delayed_engraftment_day": 18}}
    )
    page = admin_client_.get(reverse("admin:recovery_centreconfiguration_change", args=[config.pk])).content.decode()
    assert 'name="values"' not in page
