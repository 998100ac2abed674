"""Property tests of the check-in: no input gives a 500, a valid report is stored as sent, nothing typed is lost.

Hypothesis runs many examples inside one test function, and the database is rolled back per test function,
not per example: reports accumulate across examples. So each example stands on its own (its own time, its
own report id) and nothing here depends on what earlier examples stored. The clock is the real one: every
time sent is a few minutes to a few days in the past.
"""

import html
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone as django_timezone
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from recovery.clinical.triage import SYMPTOM_CODES
from recovery.middleware import CONTROL_CHARACTERS
from recovery.models import SymptomReport
from tests.factories import transplant

# Hundreds of generated requests: part of `make test`, not of the quicker `make check`.
pytestmark = pytest.mark.slow

# The number of examples comes from the Hypothesis profile (tests/conftest.py): a few locally, 150 in CI.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

REPORT_FIELDS = ["recorded_at", "temperature_c", "symptoms", "notes", "feels_urgent"]


@pytest.fixture
def in_aplasia(patient):
    """The patient on Day +5 (today, real clock): fevers are urgent, triage takes its busiest paths."""
    day0 = django_timezone.localdate(django_timezone.now(), patient.tz) - timedelta(days=5)
    transplant(patient, day0)
    return patient


def url(patient) -> str:
    return f"/api/v1/patients/{patient.uuid}/symptom-reports/"


# (a) Arbitrary JSON bodies --------------------------------------------------------------------------------------


class Raw(str):
    """JSON text sent as it is: numbers Python's json.dumps would not write (1e400, NaN, 400-digit integers)."""


def to_json(value) -> str:
    """JSON text for `value`; strings are escaped (\\ud800 stays an escape, so lone surrogates reach the server)."""
    if isinstance(value, Raw):
        return str(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_json(item) for item in value) + "]"
    return "{" + ", ".join(f"{json.dumps(key)}: {to_json(item)}" for key, item in value.items()) + "}"


ODD_TEXT = [
    "",
    " ",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "1e999",
    "38,5",
    "38.5",
    "null",
    "true",
    "\x00",
    "\ud800",
    "a\udfffb",
    "<script>alert(1)</script>",
    "2026-11-20",
    "2026-11-20T10:00",
    "2026-13-45T25:61:00+01:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59.999999+00:00",
]
RAW_NUMBERS = [Raw(text) for text in ("1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" + "0" * 400, "1e-400")]

texts = st.text(max_size=40) | st.sampled_from(ODD_TEXT)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(RAW_NUMBERS)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


def _recent_times() -> st.SearchStrategy[str]:
    """Times that pass the DRF field, some of them in the future or far in the past."""
    return st.builds(
        lambda minutes, offset: (
            (datetime.now(UTC) - timedelta(minutes=minutes)).astimezone(timezone(timedelta(minutes=offset))).isoformat()
        ),
        st.integers(min_value=-600, max_value=10 * 24 * 60) | st.integers(min_value=-(10**8), max_value=10**8),
        st.integers(min_value=-12 * 60, max_value=14 * 60),
    )


plausible = {
    "recorded_at": _recent_times() | json_values,
    "temperature_c": st.floats(min_value=30, max_value=45) | st.integers(min_value=30, max_value=45) | json_values,
    "symptoms": st.dictionaries(st.sampled_from(SYMPTOM_CODES) | texts, json_values | st.integers(-2, 6), max_size=6)
    | json_values,
    "notes": texts | json_values,
    "feels_urgent": st.booleans() | json_values,
}
report_bodies = st.builds(
    lambda known, extra: {**extra, **known},
    st.fixed_dictionaries({}, optional=plausible),
    st.dictionaries(texts, json_values, max_size=3),
)
# Bodies that get past the JSON types to the service and triage: a time in the past, mostly sensible values.
near_valid_bodies = st.fixed_dictionaries(
    {
        "recorded_at": st.builds(
            lambda minutes: (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(),
            st.integers(min_value=1, max_value=7 * 24 * 60),
        )
    },
    optional={
        "temperature_c": st.none() | st.floats(min_value=33, max_value=44) | st.integers(min_value=33, max_value=44),
        "symptoms": st.dictionaries(st.sampled_from(SYMPTOM_CODES), st.integers(min_value=-1, max_value=5), max_size=8),
        "notes": texts,
        "feels_urgent": st.booleans(),
    },
)
bodies = (
    report_bodies.map(to_json)
    | near_valid_bodies.map(to_json)
    | near_valid_bodies.map(to_json)
    | json_values.map(to_json)
    | st.text(max_size=60)
)


@FUZZ
@given(body=bodies)
@example(body="[" * 50_000 + "]" * 50_000)
@example(body='{"recorded_at": "2026-01-01T10:00:00+01:00", "symptoms": {"\\ud800": 1}}')
@example(body='{"recorded_at": "0001-01-01T00:00:00Z", "temperature_c": 37}')
@example(body='{"recorded_at": "0001-01-01T00:30:00+01:00", "temperature_c": 37}')
@example(body='{"temperature_c": 1e400, "recorded_at": "2026-01-01T10:00:00Z"}')
def test_any_json_body_is_a_201_or_a_400(api_for, in_aplasia, body):
    """Whatever JSON (or not-JSON) the patient's app sends, the answer is 201 or 400 with a JSON object."""
    response = api_for(in_aplasia.user).post(
        url(in_aplasia), body.encode("utf-8", "surrogatepass"), content_type="application/json"
    )
    event(f"HTTP {response.status_code}")
    assert response.status_code in (201, 400), (response.status_code, body[:300])
    assert isinstance(response.json(), dict)


# (b) Every valid report is stored as sent -----------------------------------------------------------------------

# Any text but control characters other than tab and line breaks (refused before any view: see the form test).
note_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)).filter(lambda c: not CONTROL_CHARACTERS.match(c)),
    max_size=300,
)


@FUZZ
@given(
    tenths=st.none() | st.integers(min_value=340, max_value=430),
    grades=st.dictionaries(st.sampled_from(SYMPTOM_CODES), st.integers(min_value=0, max_value=4)),
    notes=note_text,
    feels_urgent=st.booleans(),
    microseconds_ago=st.integers(min_value=10**6, max_value=4 * 24 * 3600 * 10**6),
    offset_minutes=st.integers(min_value=-48, max_value=56).map(lambda quarters: quarters * 15),
)
def test_every_valid_report_is_stored_as_sent(
    api_for, in_aplasia, tenths, grades, notes, feels_urgent, microseconds_ago, offset_minutes
):
    """34.0-43.0 °C (or none), grades 0-4 for any codes, any notes, any offset: 201, and nothing is lost."""
    temperature = None if tenths is None else tenths / 10
    assume(temperature is not None or any(grades.values()) or notes.strip() or feels_urgent)
    zone = timezone(timedelta(minutes=offset_minutes))
    recorded_at = (datetime.now(UTC) - timedelta(microseconds=microseconds_ago)).astimezone(zone)
    payload = {
        "recorded_at": recorded_at.isoformat(),
        "temperature_c": temperature,
        "symptoms": grades,
        "notes": notes,
        "feels_urgent": feels_urgent,
    }
    response = api_for(in_aplasia.user).post(url(in_aplasia), payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["temperature_c"] == temperature
    assert body["symptoms"] == grades
    assert body["notes"] == notes.strip()
    assert body["feels_urgent"] is feels_urgent
    assert datetime.fromisoformat(body["recorded_at"]) == recorded_at
    report = SymptomReport.objects.get(uuid=body["id"])
    assert report.temperature_c == (None if tenths is None else Decimal(tenths) / 10)
    assert report.symptoms == grades
    assert report.notes == notes.strip()
    assert report.feels_urgent is feels_urgent
    assert report.recorded_at == recorded_at
    assert report.entered_by == in_aplasia.user


# (c) The check-in's steps keep what was typed ------------------------------------------------------------------

form_text = st.text(max_size=30)  # no lone surrogates: a browser cannot send them in a form


def _local_minutes_ago() -> st.SearchStrategy[str]:
    return st.integers(min_value=-600, max_value=4 * 24 * 60).map(
        lambda minutes: (
            (datetime.now(UTC) - timedelta(minutes=minutes))
            .astimezone(ZoneInfo("Europe/Stockholm"))  # the cast's time zone
            .strftime("%Y-%m-%dT%H:%M")
        )
    )


detail_fields = {
    "temperature": form_text
    | st.sampled_from(["37.5", "38,4", "101.1", "50", "33.9", "9e9", "-0", "NaN", "1e5", " 38 ", "37.25", "1,2,3"]),
    "unit": st.sampled_from(["C", "F"]) | form_text,
    "recorded_at": _local_minutes_ago() | form_text | st.sampled_from(["0001-01-01T00:30", "9999-12-31T23:59"]),
    "notes": form_text | st.text(min_size=2001, max_size=2100),
    "feels_urgent": st.sampled_from(["on", "", "off", "false"]) | form_text,
}
# Last steps that get past the form's own checks to the service: a unit and a local time in the past.
near_valid_details = st.fixed_dictionaries(
    {
        "unit": st.sampled_from(["C", "F"]),
        "recorded_at": st.integers(min_value=1, max_value=4 * 24 * 60).map(
            lambda minutes: (
                (datetime.now(UTC) - timedelta(minutes=minutes))
                .astimezone(ZoneInfo("Europe/Stockholm"))
                .strftime("%Y-%m-%dT%H:%M")
            )
        ),
    },
    optional={
        "temperature": detail_fields["temperature"],
        "notes": form_text,
        "feels_urgent": st.sampled_from(["on", ""]),
    },
)
details = st.fixed_dictionaries({}, optional=detail_fields) | near_valid_details
grades = st.dictionaries(st.sampled_from(SYMPTOM_CODES), st.integers(min_value=0, max_value=4), min_size=1, max_size=4)


@FUZZ
@given(chosen=grades, data=details)
@example(chosen={"cough": 1}, data={"temperature": "9e999999", "unit": "F", "recorded_at": "2026-01-01T10:00"})
@example(chosen={"cough": 1}, data={"temperature": "37", "unit": "C", "recorded_at": "0001-01-01T00:30"})
@example(
    chosen={"pain": 4},
    data={"temperature": "<b>&\"'", "unit": "C", "recorded_at": "<i>", "notes": "</textarea><script>x</script>"},
)
def test_check_in_steps_never_fail_and_keep_what_was_typed(client_for, in_aplasia, chosen, data):
    """Any text in the last step: no 500. Refused, the step comes back with the typed values (escaped) in it and
    nothing is sent; accepted, the answers are sent as chosen and graded."""
    client = client_for(in_aplasia.user)
    client.raise_request_exception = False
    assert client.post("/my/check-in/", {"symptoms": list(chosen)}).status_code == 302
    for code, grade in chosen.items():
        assert client.post(f"/my/check-in/symptom/{code}/", {"grade": str(grade)}).status_code == 302
    before = SymptomReport.objects.count()
    response = client.post("/my/check-in/more/", data)
    event(f"HTTP {response.status_code}")
    # control characters are removed before the view (the rest of what was typed is kept)
    data = {key: CONTROL_CHARACTERS.sub("", value) for key, value in data.items()}
    assert response.status_code in (200, 302), (response.status_code, data)
    if response.status_code == 200:
        page = response.content.decode()
        assert 'data-testid="error-summary"' in page  # the errors are shown, at the top
        for name in ("temperature", "notes", "recorded_at"):
            if name in data:
                assert html.escape(data[name]) in page, (name, data[name])
        assert "<script>x</script>" not in page
        assert client.get("/my/check-in/answers/").status_code == 302  # not sendable as it is
        assert SymptomReport.objects.count() == before
        return
    page = client.get("/my/check-in/answers/")
    assert page.status_code == 200
    sent = client.post("/my/check-in/answers/")
    assert sent.status_code in (200, 302), sent.status_code
    if sent.status_code == 302:
        report = SymptomReport.objects.order_by("-id").first()
        assert report.symptoms == chosen
        assert report.notes == data.get("notes", "").strip()


step_data = st.dictionaries(
    # (a control character in a field's name is a 400 before any view: tests/test_control_characters.py)
    st.sampled_from(["symptoms", "grade", "fine", "change"])
    | st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    form_text | st.sampled_from(["cough", "nausea", "0", "4", "5", "-1", "1.0", ""]),
    max_size=4,
)


@FUZZ
@given(
    picker=step_data,
    question=step_data,
    code=st.sampled_from(SYMPTOM_CODES) | st.from_regex(r"[-a-zA-Z0-9_]{1,20}", fullmatch=True),
)
def test_any_answer_to_the_picker_or_a_question_is_a_page_or_a_redirect(client_for, in_aplasia, picker, question, code):
    """Whatever is posted to the first step or a question (known or not): 200 with the step again, or 302."""
    client = client_for(in_aplasia.user)
    client.raise_request_exception = False
    for url, data in (("/my/check-in/", picker), (f"/my/check-in/symptom/{code}/", question)):
        response = client.post(url, data)
        event(f"{url.split('/')[3] or 'picker'} HTTP {response.status_code}")
        assert response.status_code in (200, 302), (url, response.status_code, data)
        if response.status_code == 200:
            assert 'data-testid="error-summary"' in response.content.decode()
