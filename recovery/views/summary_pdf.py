"""The summary for the patient's own doctor as a PDF (issue 17 item 5): for staff, of a patient of their centre,
and for the patient, of themself. Always in the PATIENT's language (`Patient.preferred_language`), whoever
downloads it, with dates in the patient's zone; audited like every read.

The words are `recovery/views/summary_document.py`'s; this module lays them out with ReportLab in the DejaVu fonts
vendored in `recovery/fonts/` (their licence beside them), which hold Swedish letters and the signs (≥, °, the
multiplication sign) alike.
"""

import io
import re
from pathlib import Path
from xml.sax.saxutils import escape

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from recovery import access
from recovery.access import Action
from recovery.models import Patient
from recovery.queries.summary import PatientSummary, patient_summary
from recovery.services.audit import AuditContext, record_event
from recovery.views.summary_document import Block, footer_text, summary_blocks

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"

INK = colors.HexColor("#1b2a3a")
MUTED = colors.HexColor("#55606b")
ACCENT = colors.HexColor("#0b5cad")
RULE = colors.HexColor("#c9d2db")
HEADER_FILL = colors.HexColor("#eef3f8")
TODAY_FILL = colors.HexColor("#fff3c4")
NOTE_FILL = colors.HexColor("#fff8e1")
NOTE_EDGE = colors.HexColor("#e0a800")

MARGIN = 16 * mm
PAGE_WIDTH, PAGE_HEIGHT = A4
FRAME_PADDING = 6  # points: SimpleDocTemplate's frame pads its content by this much on each side
LINE_WIDTH = PAGE_WIDTH - 2 * (MARGIN + FRAME_PADDING)


def register_fonts() -> None:
    """The vendored fonts, once per process."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=13, textColor=INK, alignment=TA_LEFT)
    return {
        "title": ParagraphStyle("title", base, fontName=FONT_BOLD, fontSize=17, leading=21, textColor=ACCENT),
        "subtitle": ParagraphStyle("subtitle", base, fontName=FONT_BOLD, fontSize=11, leading=15, spaceBefore=3),
        "small": ParagraphStyle("small", base, fontSize=8.5, leading=11.5, textColor=MUTED, spaceBefore=2),
        "note": ParagraphStyle("note", base, fontName=FONT_BOLD, fontSize=9.5, leading=13),
        "heading": ParagraphStyle(
            "heading", base, fontName=FONT_BOLD, fontSize=12.5, leading=16, textColor=ACCENT, spaceBefore=11
        ),
        "subheading": ParagraphStyle("subheading", base, fontName=FONT_BOLD, fontSize=10, leading=13, spaceBefore=6),
        "para": ParagraphStyle("para", base, spaceBefore=2),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=11),
        "head_cell": ParagraphStyle("head_cell", base, fontName=FONT_BOLD, fontSize=8.5, leading=11),
    }


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(block: Block, styles: dict[str, ParagraphStyle]) -> Table:
    rows = [
        [_paragraph(cell, styles["head_cell" if index == 0 else "cell"]) for cell in row]
        for index, row in enumerate(block.rows)
    ]
    widths = [LINE_WIDTH * fraction for fraction in block.widths] if block.widths else None
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT", spaceBefore=4)
    commands = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for row in block.marked:
        commands.append(("BACKGROUND", (0, row), (-1, row), TODAY_FILL))
    table.setStyle(TableStyle(commands))
    return table


def _note(block: Block, styles: dict[str, ParagraphStyle]) -> Table:
    box = Table([[_paragraph(block.text, styles["note"])]], colWidths=[LINE_WIDTH], spaceBefore=8, spaceAfter=2)
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), NOTE_FILL),
                ("BOX", (0, 0), (-1, -1), 0.8, NOTE_EDGE),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return box


def _flowables(blocks: list[Block]) -> list:
    styles = _styles()
    story = []
    for block in blocks:
        if block.kind == "table":
            story.append(_table(block, styles))
        elif block.kind == "note":
            story.append(_note(block, styles))
        else:
            story.append(_paragraph(block.text, styles[block.kind]))
    story.append(Spacer(1, 6))
    return story


def render_pdf(blocks: list[Block], *, footer: str, title: str, compress: bool = True) -> bytes:
    """The blocks as an A4 PDF, each page with `footer` and its number."""
    register_fonts()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=title,
        author="",
        creator="",
        producer="",
        subject="",
        pageCompression=1 if compress else 0,
        invariant=1,
    )
    page_label = _("Page %(number)s")

    def furniture(canvas, doc):
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        left, right = MARGIN + FRAME_PADDING, PAGE_WIDTH - MARGIN - FRAME_PADDING
        canvas.line(left, MARGIN + 2 * mm, right, MARGIN + 2 * mm)
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(left, MARGIN - 2 * mm, footer)
        canvas.drawRightString(right, MARGIN - 2 * mm, page_label % {"number": doc.page})
        canvas.restoreState()

    document.build(_flowables(blocks), onFirstPage=furniture, onLaterPages=furniture)
    return out.getvalue()


def summary_pdf(summary: PatientSummary, *, compress: bool = True) -> bytes:
    """The patient's summary as a PDF, in the patient's language whoever asks."""
    with translation.override(summary.patient.preferred_language):
        blocks = summary_blocks(summary)
        return render_pdf(
            blocks, footer=footer_text(summary), title=_("Summary for the patient's doctor"), compress=compress
        )


def safe_filename(*parts: str) -> str:
    """ASCII letters, digits, dots and dashes only: nothing a header or a file system could misread."""
    name = "-".join(re.sub(r"[^A-Za-z0-9.]+", "-", part).strip("-.") for part in parts if part)
    return (name or "summary")[:100] + ".pdf"


def _response(
    request: HttpRequest, patient: Patient, *, for_patient: bool, action: str, filename_parts
) -> HttpResponse:
    summary = patient_summary(patient, for_patient=for_patient)
    body = summary_pdf(summary)
    record_event(context=AuditContext.from_request(request), action=action, patient=patient)
    response = HttpResponse(body, content_type="application/pdf")
    filename = safe_filename(*filename_parts, summary.today.isoformat())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_safe
def patient_summary_pdf(request: HttpRequest, patient_id) -> HttpResponse:
    """Staff: the summary of a patient of their centre (404 for anyone else's)."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    return _response(
        request,
        patient,
        for_patient=False,
        action="summary.pdf",
        filename_parts=("summary", patient.hospital_number or str(patient.uuid)),
    )


@login_required
@require_safe
def my_summary_pdf(request: HttpRequest) -> HttpResponse:
    """The patient: their own summary, with the alerts they may read (`queries.summary`)."""
    patient = access.own_patient(request.user)
    return _response(request, patient, for_patient=True, action="summary.pdf_own", filename_parts=("my-summary",))
