"""What the check-in asks about each symptom, in a patient's words: the PRO-CTCAE severity scale with examples.

Pure data, no Django. The grades are triage's own (0-4, `triage.GRADE_LABELS`): a patient's answer is stored as
that number and triaged unchanged. Each symptom of `triage.SYMPTOM_CODES` has its name (the same words as
`triage.SYMPTOM_LABELS`), one question, and one short example for each grade, so "Moderate" means the same to
every patient. `SYMPTOM_GROUPS` puts every symptom in one plain group for the check-in's symptom picker.

The English strings are marked with `gettext_noop` so that Django's `makemessages` finds them; the forms and
templates translate them where they are shown (Swedish in locale/fragments/checkin.po).

The examples are anchors written for this app, in the style of PRO-CTCAE's "None / Mild / Moderate / Severe /
Very severe" (domain.md section 6.1), not NCI's item text; the clinical team reviews them (docs/clinical-safety.md
H-36). They never soften a red flag: a red-flag symptom (config `red_flag_symptoms`) raises an alert from
grade 1 in the high-risk window whatever the example says.
"""

from dataclasses import dataclass

from recovery.clinical.triage import MS_SYMPTOMS
from recovery.clinical.words import gettext_noop

# The PRO-CTCAE severity words, by grade (the words of triage.GRADE_LABELS).
GRADE_WORDS: dict[int, str] = {
    0: gettext_noop("None"),
    1: gettext_noop("Mild"),
    2: gettext_noop("Moderate"),
    3: gettext_noop("Severe"),
    4: gettext_noop("Very severe"),
}


@dataclass(frozen=True)
class SymptomQuestion:
    """One symptom's words: its name, the question, and an example for each grade 0-4 (index = grade)."""

    code: str
    name: str
    question: str
    examples: tuple[str, str, str, str, str]


_QUESTIONS = (
    SymptomQuestion(
        "chills",
        gettext_noop("Shivering or shaking chills"),
        gettext_noop("How bad have the shivers or shaking chills been at their worst?"),
        (
            gettext_noop("No shivers or chills"),
            gettext_noop("Cold and shivery for a short while"),
            gettext_noop("Shivers that keep coming back, or you need extra blankets"),
            gettext_noop("Shaking you cannot stop, teeth chattering"),
            gettext_noop("Shaking so hard you cannot do anything else"),
        ),
    ),
    SymptomQuestion(
        "nausea",
        gettext_noop("Feeling sick (nausea)"),
        gettext_noop("How bad has the feeling sick (nausea) been at its worst?"),
        (
            gettext_noop("No nausea"),
            gettext_noop("Queasy now and then, still eating as usual"),
            gettext_noop("Eating less because of it"),
            gettext_noop("Hardly eating or drinking because of it"),
            gettext_noop("Cannot eat or drink at all"),
        ),
    ),
    SymptomQuestion(
        "vomiting",
        gettext_noop("Being sick (vomiting)"),
        gettext_noop("How bad has the being sick (vomiting) been at its worst?"),
        (
            gettext_noop("Not sick at all"),
            gettext_noop("Sick once or twice in a day"),
            gettext_noop("Sick three to five times in a day"),
            gettext_noop("Sick six times or more in a day"),
            gettext_noop("Cannot keep anything down, not even water"),
        ),
    ),
    SymptomQuestion(
        "diarrhoea",
        gettext_noop("Loose or watery stools (diarrhoea)"),
        gettext_noop("How bad have the loose or watery stools been at their worst?"),
        (
            gettext_noop("Stools as usual"),
            gettext_noop("A few more loose stools than usual"),
            gettext_noop("Four to six more a day than usual, or at night"),
            gettext_noop("Seven or more a day than usual, or you cannot hold them"),
            gettext_noop("Watery stools all the time, and you feel dry or faint"),
        ),
    ),
    SymptomQuestion(
        "mouth_sores",
        gettext_noop("Mouth or throat sores"),
        gettext_noop("How bad have the mouth or throat sores been at their worst?"),
        (
            gettext_noop("No sores"),
            gettext_noop("Sore, but eating as usual"),
            gettext_noop("Painful: soft food only"),
            gettext_noop("Very painful: only drinks or liquid food"),
            gettext_noop("Cannot swallow food or drink"),
        ),
    ),
    SymptomQuestion(
        "fatigue",
        gettext_noop("Tiredness (fatigue)"),
        gettext_noop("How bad has the tiredness been at its worst?"),
        (
            gettext_noop("No more tired than usual"),
            gettext_noop("A little more tired, rest helps"),
            gettext_noop("Tired enough to cut down what you do"),
            gettext_noop("Too tired to wash or dress without resting"),
            gettext_noop("In bed or a chair most of the day"),
        ),
    ),
    SymptomQuestion(
        "rash",
        gettext_noop("Rash"),
        gettext_noop("How bad has the rash been at its worst?"),
        (
            gettext_noop("No rash"),
            gettext_noop("A small patch that does not bother you"),
            gettext_noop("A larger area, or itchy"),
            gettext_noop("Much of the body, or very itchy or sore"),
            gettext_noop("Skin peeling or coming off"),
        ),
    ),
    SymptomQuestion(
        "shortness_of_breath",
        gettext_noop("Shortness of breath"),
        gettext_noop("How bad has the shortness of breath been at its worst?"),
        (
            gettext_noop("Breathing as usual"),
            gettext_noop("Out of breath on stairs or walking fast"),
            gettext_noop("Out of breath walking on the flat or getting dressed"),
            gettext_noop("Out of breath when talking or moving a little"),
            gettext_noop("Out of breath sitting still"),
        ),
    ),
    SymptomQuestion(
        "cough",
        gettext_noop("Cough"),
        gettext_noop("How bad has the cough been at its worst?"),
        (
            gettext_noop("No cough"),
            gettext_noop("A little cough now and then"),
            gettext_noop("Coughing often, it gets in the way"),
            gettext_noop("Coughing so much it keeps you awake or stops you doing things"),
            gettext_noop("Coughing nearly all the time"),
        ),
    ),
    SymptomQuestion(
        "painful_urination",
        gettext_noop("Pain or burning when passing urine"),
        gettext_noop("How bad has the pain or burning when passing urine been at its worst?"),
        (
            gettext_noop("No pain"),
            gettext_noop("Slight stinging"),
            gettext_noop("Burning or pain every time"),
            gettext_noop("Strong pain: you put off going"),
            gettext_noop("So painful you cannot pass urine"),
        ),
    ),
    SymptomQuestion(
        "bleeding",
        gettext_noop("Bleeding or new bruising"),
        gettext_noop("How bad has the bleeding or bruising been at its worst?"),
        (
            gettext_noop("No bleeding and no new bruises"),
            gettext_noop("A few small new bruises or red spots, or a little bleeding from the gums or nose that stops"),
            gettext_noop("Many new bruises, or a nosebleed that takes more than 10 minutes to stop"),
            gettext_noop("Bleeding that is hard to stop, or blood in your urine, stools or vomit"),
            gettext_noop("Heavy bleeding that does not stop"),
        ),
    ),
    SymptomQuestion(
        "appetite_loss",
        gettext_noop("Not wanting to eat (loss of appetite)"),
        gettext_noop("How bad has the loss of appetite been at its worst?"),
        (
            gettext_noop("Eating as usual"),
            gettext_noop("Eating a little less"),
            gettext_noop("Eating much less than usual"),
            gettext_noop("Eating hardly anything"),
            gettext_noop("Not eating at all"),
        ),
    ),
    SymptomQuestion(
        "pain",
        gettext_noop("Pain"),
        gettext_noop("How bad has the pain been at its worst?"),
        (
            gettext_noop("No pain"),
            gettext_noop("You notice it, but it does not get in the way"),
            gettext_noop("It gets in the way of some things you do"),
            gettext_noop("It stops you doing most things, or sleeping"),
            gettext_noop("The worst pain you can imagine"),
        ),
    ),
    SymptomQuestion(
        "confusion",
        gettext_noop("Confusion or unusual drowsiness"),
        gettext_noop("How bad has the confusion or drowsiness been at its worst?"),
        (
            gettext_noop("Thinking clearly and awake as usual"),
            gettext_noop("A bit muddled, or sleepier than usual"),
            gettext_noop("Mixing things up, or hard to stay awake"),
            gettext_noop("Not sure where you are or what day it is"),
            gettext_noop("Others find it hard to wake you or to understand you"),
        ),
    ),
    SymptomQuestion(
        "chest_pain",
        gettext_noop("Chest pain"),
        gettext_noop("How bad has the chest pain been at its worst?"),
        (
            gettext_noop("No chest pain"),
            gettext_noop("A slight ache or tightness that comes and goes"),
            gettext_noop("Pain or tightness that keeps coming back"),
            gettext_noop("Strong pain or tightness"),
            gettext_noop("Crushing pain, or pain spreading to the arm, jaw or back"),
        ),
    ),
    SymptomQuestion(
        "fainting",
        gettext_noop("Fainting or feeling faint"),
        gettext_noop("How bad has the fainting or feeling faint been at its worst?"),
        (
            gettext_noop("Not faint at all"),
            gettext_noop("Light-headed for a moment when you stand up"),
            gettext_noop("Light-headed often: you had to sit or lie down"),
            gettext_noop("You nearly fainted"),
            gettext_noop("You fainted (passed out)"),
        ),
    ),
    SymptomQuestion(
        "blistering_rash",
        gettext_noop("Painful blistering rash"),
        gettext_noop("How bad has the blistering rash been at its worst?"),
        (
            gettext_noop("No blisters"),
            gettext_noop("A few small blisters, a little sore"),
            gettext_noop("A patch of blisters that hurts"),
            gettext_noop("Many blisters, or very painful"),
            gettext_noop("Blisters over a large area, or in the mouth or eyes"),
        ),
    ),
    SymptomQuestion(
        "line_site",
        gettext_noop("Redness, pain or swelling where your line goes in"),
        gettext_noop("How bad has the redness, pain or swelling where your line goes in been at its worst?"),
        (
            gettext_noop("Looks and feels as usual"),
            gettext_noop("A little red or tender"),
            gettext_noop("Red, sore or swollen around the line"),
            gettext_noop("Warm, spreading redness, or fluid leaking"),
            gettext_noop("Very painful, with pus or a red streak along the line"),
        ),
    ),
    SymptomQuestion(
        "vision",
        gettext_noop("Eyesight (blurred or lost vision)"),
        gettext_noop("How bad has the change in your eyesight been at its worst?"),
        (
            gettext_noop("Eyesight as usual"),
            gettext_noop("Slightly blurred at times"),
            gettext_noop("Blurred or double, reading is hard"),
            gettext_noop("Hard to see well enough to get about"),
            gettext_noop("Sight lost in one or both eyes"),
        ),
    ),
    SymptomQuestion(
        "weakness",
        gettext_noop("Weakness or stiffness in arms or legs"),
        gettext_noop("How bad has the weakness or stiffness been at its worst?"),
        (
            gettext_noop("As strong as usual"),
            gettext_noop("A little weaker or stiffer, but doing everything"),
            gettext_noop("Some things are harder, such as stairs or opening jars"),
            gettext_noop("You need help or an aid to walk or use your hands"),
            gettext_noop("You cannot move an arm or a leg"),
        ),
    ),
    SymptomQuestion(
        "numbness",
        gettext_noop("Numbness or tingling"),
        gettext_noop("How bad has the numbness or tingling been at its worst?"),
        (
            gettext_noop("No new numbness or tingling"),
            gettext_noop("A little, now and then"),
            gettext_noop("Most of the time, or over a larger area"),
            gettext_noop("Hard to feel things or to use your hands or feet"),
            gettext_noop("No feeling at all in a part of your body"),
        ),
    ),
    SymptomQuestion(
        "balance",
        gettext_noop("Balance or coordination"),
        gettext_noop("How bad have the problems with balance or coordination been at their worst?"),
        (
            gettext_noop("Balance as usual"),
            gettext_noop("A little unsteady at times"),
            gettext_noop("Unsteady: you hold on to things"),
            gettext_noop("You need help or a walking aid to stay steady"),
            gettext_noop("You cannot stand or walk"),
        ),
    ),
    SymptomQuestion(
        "bladder",
        gettext_noop("Bladder or bowel control"),
        gettext_noop("How bad have the problems with bladder or bowel control been at their worst?"),
        (
            gettext_noop("Control as usual"),
            gettext_noop("You need to go more often or more urgently"),
            gettext_noop("Sometimes you do not reach the toilet in time"),
            gettext_noop("Often no control, or you cannot empty your bladder"),
            gettext_noop("No control at all, or you cannot pass urine"),
        ),
    ),
    SymptomQuestion(
        "cognition",
        gettext_noop("Thinking, memory or concentration"),
        gettext_noop("How bad have the problems with thinking, memory or concentration been at their worst?"),
        (
            gettext_noop("Thinking as usual"),
            gettext_noop("A little harder to concentrate or remember"),
            gettext_noop("You forget things that matter, or lose track of a conversation"),
            gettext_noop("Daily tasks are hard because of it"),
            gettext_noop("You cannot manage without help because of it"),
        ),
    ),
)

QUESTIONS: dict[str, SymptomQuestion] = {question.code: question for question in _QUESTIONS}

# The symptom picker's groups, in order: every symptom in exactly one, the MS domains last (as in the API's list).
SYMPTOM_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        gettext_noop("Breathing, chest and feeling faint"),
        ("shortness_of_breath", "chest_pain", "cough", "fainting"),
    ),
    (
        gettext_noop("Shivers, infection and bleeding"),
        ("chills", "line_site", "painful_urination", "bleeding"),
    ),
    (
        gettext_noop("Stomach, mouth and eating"),
        ("nausea", "vomiting", "diarrhoea", "mouth_sores", "appetite_loss"),
    ),
    (gettext_noop("Skin"), ("rash", "blistering_rash")),
    (gettext_noop("Tiredness, pain and thinking clearly"), ("fatigue", "pain", "confusion")),
    (gettext_noop("MS symptoms, new or worse than usual"), MS_SYMPTOMS),
)


def picker_order() -> tuple[str, ...]:
    """Every symptom code in the picker's order (groups in order, each group's codes in order)."""
    return tuple(code for _, codes in SYMPTOM_GROUPS for code in codes)


def in_question_order(codes) -> list[str]:
    """`codes` (known symptom codes) in the order the questions are asked: the picker's order."""
    chosen = set(codes)
    return [code for code in picker_order() if code in chosen]
