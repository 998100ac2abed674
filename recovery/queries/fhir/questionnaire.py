"""FHIR QuestionnaireResponse (one per check-in) and the Questionnaire it answers (issue 17).

The check-in (`SymptomReport`) asks when, the temperature, each symptom's grade on the PRO-CTCAE severity scale
(0-4, `recovery.clinical.symptom_questions`), free text and "does it feel urgent?". The symptoms and the grades are
this app's own codes (local code systems, listed in the Questionnaire); the temperature is also sent as a
vital-signs Observation (`temp-<uuid>`, see observation.py). The texts are the English ones of the check-in
(the patient saw them in their own language). The id of a response is the report's uuid.
"""

from django.db.models import QuerySet

from recovery.clinical.symptom_questions import GRADE_WORDS, QUESTIONS, picker_order
from recovery.models import Patient, SymptomReport
from recovery.queries.fhir.common import DateRange, ResourceType, instant, patient_reference

QUESTIONNAIRE_ID = "symptom-checkin"
QUESTIONNAIRE_URL = "urn:recovery-tracker:questionnaire:symptom-checkin"
QUESTIONNAIRE_VERSION = "1"
SYMPTOM_SYSTEM = "urn:recovery-tracker:code-system:symptom"
GRADE_SYSTEM = "urn:recovery-tracker:code-system:symptom-grade"  # PRO-CTCAE severity words, 0-4

RECORDED_AT, TEMPERATURE, SYMPTOMS, NOTES, FEELS_URGENT = "recorded-at", "temperature", "symptoms", "notes", "urgent"
_TEXTS = {
    RECORDED_AT: "When was the temperature taken or were the symptoms noticed?",
    TEMPERATURE: "Temperature (°C)",
    SYMPTOMS: "Symptoms, each at its worst",
    NOTES: "Anything else you want to tell us?",
    FEELS_URGENT: "Does this feel urgent?",
}


def grade_coding(grade: int) -> dict:
    return {"system": GRADE_SYSTEM, "code": str(grade), "display": GRADE_WORDS.get(grade, str(grade))}


def symptom_coding(code: str) -> dict:
    question = QUESTIONS.get(code)
    return {"system": SYMPTOM_SYSTEM, "code": code, "display": question.name if question else code}


def questionnaire() -> dict:
    """The symptom check-in as a FHIR Questionnaire: every symptom of the check-in, in the picker's order."""
    symptoms = [
        {
            "linkId": code,
            "code": [symptom_coding(code)],
            "text": QUESTIONS[code].question,
            "type": "choice",
            "answerOption": [{"valueCoding": grade_coding(grade)} for grade in sorted(GRADE_WORDS)],
        }
        for code in picker_order()
    ]
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": QUESTIONNAIRE_URL,
        "version": QUESTIONNAIRE_VERSION,
        "name": "SymptomCheckIn",
        "title": "Symptom check-in after aHSCT",
        "status": "active",
        "subjectType": ["Patient"],
        "description": "The patient's check-in: temperature and symptom grades on the PRO-CTCAE severity scale "
        "(0 none, 1 mild, 2 moderate, 3 severe, 4 very severe).",
        "item": [
            {"linkId": RECORDED_AT, "text": _TEXTS[RECORDED_AT], "type": "dateTime", "required": True},
            {"linkId": TEMPERATURE, "text": _TEXTS[TEMPERATURE], "type": "quantity"},
            {"linkId": SYMPTOMS, "text": _TEXTS[SYMPTOMS], "type": "group", "item": symptoms},
            {"linkId": NOTES, "text": _TEXTS[NOTES], "type": "text"},
            {"linkId": FEELS_URGENT, "text": _TEXTS[FEELS_URGENT], "type": "boolean"},
        ],
    }


def symptom_order(symptoms: dict) -> list[str]:
    """The graded codes in the question order; a code the check-in no longer asks about comes last (kept, not
    dropped: the answer was given)."""
    known = [code for code in picker_order() if code in symptoms]
    return known + sorted(code for code in symptoms if code not in QUESTIONS)


def questionnaire_response(report: SymptomReport, patient: Patient) -> dict:
    items: list[dict] = [{"linkId": RECORDED_AT, "answer": [{"valueDateTime": instant(report.recorded_at)}]}]
    if report.temperature_c is not None:
        value = {"value": float(report.temperature_c), "unit": "°C", "system": "http://unitsofmeasure.org"}
        items.append({"linkId": TEMPERATURE, "answer": [{"valueQuantity": {**value, "code": "Cel"}}]})
    graded = [
        {
            "linkId": code,
            "text": QUESTIONS[code].question if code in QUESTIONS else code,
            "answer": [{"valueCoding": grade_coding(int(report.symptoms[code]))}],
        }
        for code in symptom_order(report.symptoms or {})
    ]
    if graded:
        items.append({"linkId": SYMPTOMS, "item": graded})
    if report.notes:
        items.append({"linkId": NOTES, "answer": [{"valueString": report.notes}]})
    items.append({"linkId": FEELS_URGENT, "answer": [{"valueBoolean": report.feels_urgent}]})
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(report.uuid),
        "questionnaire": f"{QUESTIONNAIRE_URL}|{QUESTIONNAIRE_VERSION}",
        "status": "completed",
        "subject": patient_reference(patient),
        "authored": instant(report.created_at),
        "item": items,
    }
    if not report.entered_via and report.entered_by_id is not None and report.entered_by_id == patient.user_id:
        resource["source"] = patient_reference(patient)  # the patient answered themself
    return resource


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """The check-ins of `patients` recorded in the window: one query."""
    reports = (
        SymptomReport.objects.filter(patient__in=patients)
        .filter(dates.q("recorded_at"))
        .select_related("patient")
        .order_by("patient_id", "recorded_at", "id")
    )
    return [questionnaire_response(report, report.patient) for report in reports]


QUESTIONNAIRE_RESPONSE = ResourceType(
    "QuestionnaireResponse",
    search=search,
    description="Each symptom check-in: temperature and symptom grades (PRO-CTCAE severity, 0-4).",
)
QUESTIONNAIRE = ResourceType(
    "Questionnaire",
    definitions=lambda: [questionnaire()],
    description="The symptom check-in the responses answer.",
)
