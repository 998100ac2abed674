"""The check-in's words for each symptom: every symptom has its name, its question and an example for every grade."""

from recovery.clinical.symptom_questions import (
    GRADE_WORDS,
    QUESTIONS,
    SYMPTOM_GROUPS,
    in_question_order,
    picker_order,
)
from recovery.clinical.triage import GRADE_LABELS, MS_SYMPTOMS, SYMPTOM_CODES, SYMPTOM_LABELS


def test_the_grades_are_triage_s_own_scale_in_its_words():
    """0-4, None to Very severe: the values triage grades (unchanged), the words staff read in the reasons."""
    assert GRADE_WORDS == GRADE_LABELS
    assert list(GRADE_WORDS) == [0, 1, 2, 3, 4]


def test_every_symptom_has_words_for_every_grade():
    assert set(QUESTIONS) == set(SYMPTOM_CODES)
    for code in SYMPTOM_CODES:
        question = QUESTIONS[code]
        assert question.code == code
        assert question.name == SYMPTOM_LABELS[code], code  # the patient and the staff read the same name
        assert question.question.startswith("How bad"), code
        assert question.question.endswith("?"), code
        assert len(question.examples) == len(GRADE_WORDS), code
        assert all(example.strip() for example in question.examples), code
        assert len(set(question.examples)) == len(question.examples), f"{code}: two grades with the same example"


def test_every_symptom_is_in_exactly_one_group_of_the_picker():
    order = picker_order()
    assert sorted(order) == sorted(SYMPTOM_CODES)
    assert len(order) == len(set(order))
    assert all(title.strip() and codes for title, codes in SYMPTOM_GROUPS)
    assert SYMPTOM_GROUPS[-1][1] == MS_SYMPTOMS  # the MS domains together, asked as "new or worse than usual"


def test_questions_come_in_the_picker_s_order_whatever_order_they_were_chosen_in():
    assert in_question_order(["vision", "nausea", "shortness_of_breath"]) == ["shortness_of_breath", "nausea", "vision"]
    assert in_question_order([]) == []
