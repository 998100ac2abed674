"""The summary for the patient's own doctor as a document: headings, paragraphs and tables of plain text in the
active language (the caller activates the patient's), built from `recovery.queries.summary.PatientSummary`.

The PDF (`recovery/views/summary_pdf.py`) lays these blocks out and adds nothing but page furniture, so
`document_text` is exactly the text the PDF shows (the tests read it, and the PDF's own text).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.dateformat import format as format_date
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from recovery.clinical.vaccination import DoseStatus, PlannedDose, vaccine_name
from recovery.event_titles import event_title
from recovery.phase_text import day_label
from recovery.queries.prophylaxis import Course, Display
from recovery.queries.summary import PatientSummary, SummaryAlert
from recovery.templatetags.recovery_tags import flag_label, kind_label, phase_label

TODAY_MARK = "◆"


@dataclass(frozen=True)
class Block:
    kind: str  # title, subtitle, note, heading, para, small, table
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)  # a table's rows, the first its column names
    widths: tuple[float, ...] = ()  # a table's column widths, as fractions of the line
    marked: tuple[int, ...] = ()  # a table's rows (by index) to highlight: today's phase


COURSE_WORDS = {
    Display.NOT_STARTED: gettext_lazy("Not started"),
    Display.ACTIVE: gettext_lazy("Taking"),
    Display.AWAITING_CD4: gettext_lazy("Stop date reached, CD4 not recovered"),
    Display.STOP_ALLOWED: gettext_lazy("May stop now"),
    Display.STOPPED: gettext_lazy("Stopped"),
}
OVERDUE = gettext_lazy("Overdue")
DOSE_WORDS = {
    DoseStatus.GIVEN: gettext_lazy("Given"),
    DoseStatus.DUE: gettext_lazy("Due"),
    DoseStatus.OVERDUE: gettext_lazy("Overdue"),
    DoseStatus.UPCOMING: gettext_lazy("Upcoming"),
}


def day_text(on: date | None) -> str:
    return format_date(on, _("j M Y")) if on else ""


def time_text(at: datetime) -> str:
    return format_date(at, _("j M Y, H:i"))


def _day_of(summary: PatientSummary, on: date | None) -> str:
    day0 = summary.day0
    return day_label((on - day0).days) if on and day0 else ""


def _header(summary: PatientSummary) -> list[Block]:
    patient = summary.patient
    return [
        Block("title", _("Summary for the patient's doctor")),
        Block(
            "subtitle",
            _("%(name)s · born %(born)s · hospital number %(number)s")
            % {"name": patient.full_name, "born": day_text(patient.date_of_birth), "number": patient.hospital_number},
        ),
        Block(
            "small",
            _("Generated %(when)s (%(zone)s time) by %(centre)s.")
            % {"when": time_text(summary.generated_at), "zone": patient.timezone, "centre": summary.centre.name},
        ),
        Block(
            "note",
            _(
                "This is not a discharge letter. It shows what the transplant unit's records held when it was "
                "generated and may be out of date: check with the unit before acting on it."
            ),
        ),
    ]


def _contacts(summary: PatientSummary) -> list[Block]:
    centre = summary.centre
    blocks = [Block("heading", _("The transplant unit")), Block("para", centre.name)]
    if centre.phone_24h:
        blocks.append(Block("para", _("Phone, day and night: %(phone)s") % {"phone": centre.phone_24h}))
    else:
        blocks.append(Block("para", _("The unit's day-and-night number is not recorded here: ask the unit for it.")))
    return blocks


def _today(summary: PatientSummary) -> list[Block]:
    state = summary.state
    blocks = [Block("heading", _("Where the patient is today"))]
    if summary.day0 is None:
        blocks.append(
            Block(
                "para",
                _("Today, %(date)s: %(phase)s. No transplant date (Day 0) is recorded yet.")
                % {"date": day_text(summary.today), "phase": phase_label(state.phase)},
            )
        )
    else:
        blocks.append(
            Block(
                "para",
                _("Today, %(date)s: %(day)s, %(phase)s.")
                % {"date": day_text(summary.today), "day": day_label(state.day), "phase": phase_label(state.phase)},
            )
        )
        details = _("Day 0 (stem cell reinfusion): %(date)s.") % {"date": day_text(summary.day0)}
        if summary.regimen:
            details += " " + _("Regimen: %(regimen)s.") % {"regimen": summary.regimen}
        blocks.append(Block("para", details))
    for flag in state.flags:
        blocks.append(Block("para", _("Flag: %(flag)s.") % {"flag": flag_label(flag)}))
    rows = [[_("Phase"), _("From"), ""]]
    marked = []
    for index, row in enumerate(summary.phases, start=1):
        starts = day_text(row.starts) if row.starts else ""
        rows.append([phase_label(row.phase), starts, f"{TODAY_MARK} {_('today')}" if row.current else ""])
        if row.current:
            marked.append(index)
    blocks.append(Block("table", rows=rows, widths=(0.45, 0.3, 0.25), marked=tuple(marked)))
    if summary.events:
        blocks.append(Block("subheading", _("Still to be done, and planned in the next three months")))
        rows = [[_("Date"), _("Day"), _("What"), ""]]
        rows += [
            [day_text(e.on), day_label(e.day), event_title(e.title), str(OVERDUE) if e.overdue else ""]
            for e in summary.events
        ]
        if summary.earlier_overdue:
            count = summary.earlier_overdue
            blocks.append(
                Block(
                    "small",
                    ngettext(
                        "%(count)s earlier planned item is also still to be done.",
                        "%(count)s earlier planned items are also still to be done.",
                        count,
                    )
                    % {"count": count},
                )
            )
        blocks.append(Block("table", rows=rows, widths=(0.17, 0.13, 0.56, 0.14)))
    return blocks


def _engraftment_line(summary: PatientSummary, label: str, on: date | None) -> str:
    if on is None:
        return _("%(what)s: not recorded yet.") % {"what": label}
    return _("%(what)s: %(date)s (%(day)s).") % {"what": label, "date": day_text(on), "day": _day_of(summary, on)}


def _engraftment(summary: PatientSummary) -> list[Block]:
    if summary.day0 is None:
        return []
    return [
        Block("heading", _("Engraftment")),
        Block("para", _engraftment_line(summary, _("Neutrophil engraftment"), summary.neutrophil_engraftment)),
        Block("para", _engraftment_line(summary, _("Platelet engraftment"), summary.platelet_engraftment)),
    ]


def _stop_text(course: Course, threshold: float | None) -> str:
    if course.stop is not None:
        return _("stopped %(date)s") % {"date": day_text(course.stop.stopped_on)}
    plan = course.plan
    if plan.planned_stop is None:
        return _("date not set")
    text = _("from %(date)s") % {"date": day_text(plan.planned_stop)}
    if plan.until_cd4 and threshold is not None:
        once = _("once CD4 ≥ %(threshold)s ×10⁹/L")  # noqa: RUF001 - the multiplication sign
        text += " " + once % {"threshold": number_format(threshold)}
    return text


def _medicines(summary: PatientSummary) -> list[Block]:
    if summary.day0 is None:
        return []
    blocks = [Block("heading", _("Preventive medicines (prophylaxis)"))]
    if not summary.courses:
        return [*blocks, Block("para", _("No preventive medicine is planned."))]
    rows = [[_("Medicine"), _("What it prevents"), _("Started"), _("Stops"), _("Status")]]
    rows += [
        [c.name, c.purpose, day_text(c.plan.start), _stop_text(c, summary.cd4_threshold), str(COURSE_WORDS[c.display])]
        for c in summary.courses
    ]
    blocks.append(Block("table", rows=rows, widths=(0.16, 0.26, 0.14, 0.24, 0.2)))
    return blocks


def _dose_rows(doses: list[PlannedDose], *, given: bool) -> list[list[str]]:
    return [
        [
            _(vaccine_name(d.vaccine)),
            str(d.dose),
            day_text(d.given_date if given else d.due_date),
            str(DOSE_WORDS[DoseStatus(d.status)]),
        ]
        for d in doses
    ]


def _vaccinations(summary: PatientSummary) -> list[Block]:
    if summary.day0 is None:
        return []
    blocks = [Block("heading", _("Vaccinations"))]
    widths = (0.5, 0.1, 0.2, 0.2)
    if not (summary.doses_due or summary.doses_coming or summary.doses_given):
        return [*blocks, Block("para", _("No vaccination is planned."))]
    for title, doses, given in (
        (_("Due now"), summary.doses_due, False),
        (_("Coming up"), summary.doses_coming, False),
        (_("Given since the transplant"), summary.doses_given, True),
    ):
        blocks.append(Block("subheading", title))
        if doses:
            header = [_("Vaccine"), _("Dose"), _("Given") if given else _("Due from"), _("Status")]
            blocks.append(Block("table", rows=[header, *_dose_rows(doses, given=given)], widths=widths))
        else:
            blocks.append(Block("small", _("None.")))
    return blocks


def _alert_state(alert: SummaryAlert) -> str:
    if alert.status == "acknowledged" and alert.acknowledged_at is not None:
        return _("Seen by the unit %(when)s") % {"when": time_text(alert.acknowledged_at)}
    return _("Not yet seen by the unit")


def _alerts(summary: PatientSummary) -> list[Block]:
    if summary.for_patient:
        blocks = [
            Block("heading", _("Reports the unit is dealing with")),
            Block("small", _("The patient's own urgent and same-day reports that the unit has not yet closed.")),
        ]
        if not summary.alerts:
            return [*blocks, Block("para", _("None."))]
        rows = [[_("Report"), _("Sent"), _("State")]]
        rows += [
            [
                _("Needs the unit now") if a.severity == "urgent" else _("Needs the unit today"),
                time_text(a.raised_at),
                _alert_state(a),
            ]
            for a in summary.alerts
        ]
        return [*blocks, Block("table", rows=rows, widths=(0.35, 0.25, 0.4))]
    blocks = [Block("heading", _("Open alerts"))]
    if not summary.alerts:
        return [*blocks, Block("para", _("None."))]
    rows = [[_("Alert"), _("Level"), _("Raised"), _("State")]]
    rows += [
        [kind_label(a.kind), kind_label(a.severity), time_text(a.raised_at), _alert_state(a)] for a in summary.alerts
    ]
    return [*blocks, Block("table", rows=rows, widths=(0.3, 0.15, 0.22, 0.33))]


def summary_blocks(summary: PatientSummary) -> list[Block]:
    """The whole document, in the active language."""
    return [
        *_header(summary),
        *_contacts(summary),
        *_today(summary),
        *_engraftment(summary),
        *_medicines(summary),
        *_vaccinations(summary),
        *_alerts(summary),
    ]


def footer_text(summary: PatientSummary) -> str:
    """What each page's foot says (a page read alone still says when it was made and to check with the unit)."""
    return _("%(name)s · generated %(when)s · not a discharge letter: check with the unit") % {
        "name": summary.patient.full_name,
        "when": time_text(summary.generated_at),
    }


def document_text(blocks: list[Block]) -> str:
    """The blocks as plain text, a line per paragraph or table row (cells separated by " | ")."""
    lines = []
    for block in blocks:
        if block.kind == "table":
            lines += [" | ".join(cell for cell in row) for row in block.rows]
        else:
            lines.append(block.text)
    return "\n".join(lines)
