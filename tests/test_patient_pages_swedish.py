"""The patient's own pages in Swedish (issue 16, part 1): with Swedish active, each page and the words computed
in Python (phase and risk text, outcome summary, vaccine and medicine names, day labels, relative days) are
Swedish, and the English they replace is gone.
The Swedish is the committed catalogue (locale/sv, built from locale/fragments/), asked for by the browser
(Accept-Language) or by the patient's own setting."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from recovery.clinical.outcomes import Assessment, RelapseRecord, patient_outcome
from recovery.clinical.phases import InfectionRisk, Phase
from recovery.models import Notification, NotificationKind
from recovery.outcome_text import plain_language
from recovery.phase_text import day_label, fever_phrase, phase_text, progress_label, relative_days, risk_text
from recovery.queries.audit import describe_action
from recovery.services.reminders.planning import plan_reminders
from tests.factories import transplant

DAY0 = date(2026, 8, 31)
NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)  # Day +94: vaccinations due, medicines still taken


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def svensk(patient, clock):
    """Pia, transplanted on DAY0 and engrafted on Day +11, who prefers Swedish."""
    patient.preferred_language = "sv"
    patient.save(update_fields=["preferred_language"])
    transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
    return patient


def page(client_for, patient, name: str, *args) -> str:
    """The page's own content (in <main>: the navigation is base.html's, translated with it), whitespace collapsed."""
    response = client_for(patient.user).get(reverse(name, args=args), HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "sv"
    html = response.content.decode()
    main = html[html.index('<main id="main"') : html.index("</main>")]
    return " ".join(main.split())


@pytest.mark.parametrize(
    ("name", "swedish_words", "english_words"),
    [
        pytest.param(
            "recovery:temperature",
            [
                "Skriv in tempen",
                "Mät i munnen eller under armen, inte i ändtarmen.",
                "Ring avdelningen, dygnet runt:",
            ],
            ["Log a temperature", "Take it by mouth", "Call the unit, day or night"],
            id="temperature",
        ),
        pytest.param(
            "recovery:my-history",
            ["Mina rapporter", "Inga rapporter än.", "Rapportera symtom"],
            ["My reports", "No reports yet", "Report symptoms"],
            id="history",
        ),
        pytest.param(
            "recovery:my-calendar",
            ["Dina besök i telefonens kalender", "Starta din kalender", "Skapa min kalenderadress"],
            ["Your appointments in your phone", "Start your calendar", "Create my calendar address"],
            id="calendar",
        ),
        pytest.param(
            "recovery:my-access-log",
            [
                "Vem har sett mina uppgifter",
                "Ladda ner hela listan (CSV)",
                "dataskyddsförordningen",
                "Systemet",
                "Registrerade dina transplantationsdatum",
                "Tittade på vem som har sett dina uppgifter",
            ],
            [
                "Who has seen my data",
                "Download the whole list",
                "You have the right to know",
                "The system",
                "Looked at",
            ],
            id="access-log",
        ),
        pytest.param(
            "recovery:my-email",
            [
                "Byt min e-postadress",
                "Du loggar in med",
                "Skriv den nya adressen och ditt nuvarande lösenord.",
                "Ny e-postadress",
                "Ditt nuvarande lösenord",
            ],
            ["Your login uses", "Enter the new address", "New e-mail address", "Your current password"],
            id="email",
        ),
        pytest.param(
            "recovery:my-vaccinations",
            [
                "Vaccinationer och läkemedel",
                "Läkemedel som du ska fortsätta ta",
                "Aciklovir",
                "Läkemedlet förebygger bältros och munsår (HSV/VZV).",
                "Vaccinationer att ta nu",
                "Stelkramp, difteri och kikhosta",
                "\N{EN DASH} ditt team eller din vårdcentral kan ge den",
                "Kommande",
            ],
            ["Medicines to keep taking", "Tetanus, diphtheria", "Vaccinations due now", "your team or GP", "Coming up"],
            id="vaccinations",
        ),
        pytest.param(
            "recovery:my-immune",
            [
                "Ditt immunförsvars återhämtning",
                "Dina nya stamceller har börjat bilda vita blodkroppar (från 11 september, Dag +11).",
                "Dina CD4-celler",
                "Ditt team väntar tills de når 0,2 innan",
                "Kontroller av virus",
            ],
            ["immune system's recovery", "Day +11", "Your CD4 cells", "Checks for viruses"],
            id="immune",
        ),
        pytest.param(
            "recovery:my-reminders",
            [
                "Mina påminnelser",
                "Vi påminner dig om att ta tempen",
                "Hur vill du få dina påminnelser?",
                "Tysta timmar",
            ],
            ["My reminders", "We remind you", "How do you want your reminders?", "Quiet hours"],
            id="reminders",
        ),
    ],
)
def test_each_patient_page_is_in_swedish(client_for, svensk, name, swedish_words, english_words):
    html = page(client_for, svensk, name)
    for words in swedish_words:
        assert words in html
    for words in english_words:
        assert words not in html


def test_the_email_confirmation_page_is_in_swedish(client_for, svensk):
    html = page(client_for, svensk, "recovery:my-email-confirm", "not-a-token")
    assert "Bekräfta min nya e-postadress" in html
    assert "Byt min e-postadress" in html
    assert "Confirm my new e-mail" not in html


def test_the_home_page_tells_the_phase_the_risk_and_the_care_summary_in_swedish(client_for, svensk):
    html = page(client_for, svensk, "recovery:my-recovery")
    with translation.override("sv"):
        assert phase_text(Phase.RECOVERY).title in html
        assert phase_text(Phase.RECOVERY).title == "Återhämtning: du får tillbaka krafterna"
    assert "Dag +94" in html
    assert "Läkemedel och vaccinationer" in html
    assert "Fortsätt ta <strong>" in html
    assert "att ta nu:" in html
    assert "Day +94" not in html
    assert "getting your strength back" not in html
    assert "Medicines and vaccinations" not in html


def test_the_english_page_is_unchanged_with_the_catalogue_installed(client_for, svensk):
    """A patient whose setting is English gets the English words, even from a browser that asks for Swedish."""
    svensk.preferred_language = "en"
    svensk.save(update_fields=["preferred_language"])
    response = client_for(svensk.user).get(reverse("recovery:my-vaccinations"), HTTP_ACCEPT_LANGUAGE="sv")
    html = response.content.decode()
    assert "Vaccinations due now" in html
    assert "Tetanus, diphtheria and pertussis" in html
    assert "Stelkramp" not in html


def test_day_labels_relative_days_and_progress_in_swedish():
    with translation.override("sv"):
        assert day_label(30) == "Dag +30"
        assert day_label(-3) == "Dag -3"
        assert day_label(0) == "Dag 0"
        assert relative_days(0) == "i dag"
        assert relative_days(1) == "i morgon"
        assert relative_days(-1) == "i går"
        assert relative_days(12) == "om 12 dagar"
        assert relative_days(-3) == "för 3 dagar sedan"
        assert progress_label(0.09, 24) == "9 % av de första två åren har gått"
        assert progress_label(0.5, 12) == "50 % av ett år har gått"
        assert progress_label(0.25, 18) == "25 % av de första 18 månaderna har gått"
        assert fever_phrase(Decimal("38.5")) == "en temperatur på 38,5 °C eller mer"
        assert (
            "ring avdelningen direkt om du har en temperatur på 38,0 °C eller mer"
            in phase_text(Phase.APLASIA, fever_threshold=38).body
        )
        assert risk_text(InfectionRisk.HIGH).startswith("Infektionsrisk: högst.")
        swedish_bodies = {phase: phase_text(phase, fever_threshold=38).body for phase in Phase}
    for phase in Phase:
        english = phase_text(phase, fever_threshold=38).body
        if "call the unit straight away" in english:
            assert "ring avdelningen direkt" in swedish_bodies[phase], phase
            assert "38,0 °C" in swedish_bodies[phase], phase
    assert relative_days(12) == "in 12 days"
    assert progress_label(0.09, 24) == "9% of the way through the first two years"


def test_the_access_log_words_are_swedish_for_the_patient_and_stay_english_for_staff():
    with translation.override("sv"):
        assert describe_action("labs.record") == "Registrerade dina labbresultat"
        assert describe_action("patient.view") == "Öppnade din journal"
        assert describe_action("something.new") == "Arbetade med dina uppgifter"
        assert describe_action("labs.record", for_staff=True) == "Recorded the patient's lab results"


def test_the_outcome_summary_in_swedish_with_swedish_dates():
    outcome = patient_outcome(
        day0=date(2024, 1, 15),
        recorded_baseline=Decimal("3.0"),
        assessments=[Assessment(date(2024, 1, 10), Decimal("3.0")), Assessment(date(2025, 3, 1), Decimal("3.0"))],
        relapses=[RelapseRecord(date(2025, 3, 3))],
        scans=[],
        on=date(2025, 7, 15),
    )
    with translation.override("sv"):
        text = plain_language(outcome)
    assert "Ditt team noterade ett skov den 3 mars 2025." in text
    assert text.endswith("Ditt team pratar med dig om vad det här betyder för dig och vad som händer sedan.")
    assert "relapse" not in text


def test_reminder_facts_name_the_vaccine_and_medicine_in_the_patients_own_language(patient, other_patient):
    """Whoever's request plans the reminders, a Swedish patient's SMS names the vaccine in Swedish and an English
    patient's in English."""
    patient.preferred_language = "sv"
    patient.save(update_fields=["preferred_language"])
    with time_machine.travel(datetime(2026, 9, 12, 8, tzinfo=UTC), tick=False):
        transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
        transplant(other_patient, DAY0, engrafted=DAY0 + timedelta(days=11))
    with time_machine.travel(datetime(2026, 11, 25, 11, tzinfo=UTC), tick=False), translation.override("sv"):
        plan_reminders(patient)
        plan_reminders(other_patient)

    def facts(who, kind, key):
        return Notification.objects.filter(patient=who, kind=kind, key__startswith=key).first().detail

    key = "vaccination_due:pcv13:1:"
    assert (
        facts(patient, NotificationKind.VACCINATION_DUE, key)["vaccine_name"] == "PCV13 (konjugerat pneumokockvaccin)"
    )
    assert facts(other_patient, NotificationKind.VACCINATION_DUE, key)["vaccine_name"] == (
        "PCV13 (pneumococcal conjugate)"
    )
