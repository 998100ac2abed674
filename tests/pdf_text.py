"""The text of a PDF as ReportLab writes it, for the tests (no PDF library is installed): each font's ToUnicode map
read back, and the strings of every page's content stream decoded through it, a line per text object.

Only what ReportLab writes is understood: `N 0 obj ... endobj` objects, streams plain, FlateDecode or
ASCII85Decode, a page's fonts in a font dictionary object, text shown with `(...) Tj` after `/Name size Tf`.
"""

import base64
import re
import zlib

REFERENCE = rb"(\d+) 0 R"
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _objects(pdf: bytes) -> dict[int, bytes]:
    """Each object's body; a stream's data is found by its /Length (binary data may hold any bytes)."""
    objects, i = {}, 0
    start = re.compile(rb"(\d+) 0 obj")
    while (match := start.search(pdf, i)) is not None:
        body_start = match.end()
        stream = pdf.find(b"stream", body_start)
        end = pdf.find(b"endobj", body_start)
        if 0 <= stream < end:
            length = int(re.search(rb"/Length (\d+)", pdf[body_start:stream]).group(1))
            data_start = stream + len(b"stream") + (2 if pdf[stream + 6 : stream + 8] == b"\r\n" else 1)
            end = pdf.find(b"endobj", data_start + length)
        objects[int(match.group(1))] = pdf[body_start:end]
        i = end + len(b"endobj")
    return objects


def _stream(body: bytes) -> bytes:
    dictionary, _, rest = body.partition(b"stream")
    length = int(re.search(rb"/Length (\d+)", dictionary).group(1))
    data = rest[2:] if rest.startswith(b"\r\n") else rest[1:]
    data = data[:length]
    if b"/ASCII85Decode" in dictionary:
        data = base64.a85decode(data.strip().removesuffix(b"~>").removeprefix(b"<~"))
    return zlib.decompress(data) if b"/FlateDecode" in dictionary else data


def _cmap(data: bytes) -> dict[int, str]:
    mapping = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
            mapping[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for section in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for start, end, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
            first = int(text, 16)
            for offset, code in enumerate(range(int(start, 16), int(end, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """The PDF literal string opening at data[start] == '(' and the index after it."""
    out, depth, i = bytearray(), 1, start + 1
    while i < len(data):
        char = data[i : i + 1]
        if char == b"\\":
            following = data[i + 1 : i + 2]
            octal = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            out += ESCAPES.get(following, following)
            i += 2
            continue
        if char == b"(":
            depth += 1
        elif char == b")":
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out += char
        i += 1
    raise ValueError("unterminated string")


def _fonts(objects: dict[int, bytes]) -> dict[bytes, dict[int, str]]:
    """Each font resource name (/F2+0) and its code -> text map (Latin-1 for a font without one)."""
    fonts = {}
    for body in objects.values():
        name = re.search(rb"/Name /(\S+)", body)
        if name is None or b"/Type /Font" not in body:
            continue
        to_unicode = re.search(rb"/ToUnicode " + REFERENCE, body)
        if to_unicode:
            fonts[name.group(1)] = _cmap(_stream(objects[int(to_unicode.group(1))]))
        else:
            fonts[name.group(1)] = {code: chr(code) for code in range(256)}
    return fonts


def _page_text(content: bytes, fonts: dict[bytes, dict[int, str]]) -> list[str]:
    lines, line, font = [], [], {}
    i = 0
    token = re.compile(rb"/(\S+)\s+[\d.]+\s+Tf|\(|\bET\b|\bT\*|\bTd\b|\bTm\b")
    while True:
        match = token.search(content, i)
        if match is None:
            break
        if match.group(1):
            font = fonts.get(match.group(1), {})
            i = match.end()
        elif match.group() == b"(":
            raw, i = _literal(content, match.start())
            line.append("".join(font.get(code, "\ufffd") for code in raw))
        else:
            if line:
                lines.append("".join(line))
                line = []
            i = match.end()
    if line:
        lines.append("".join(line))
    return lines


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page, in order, a line per text line."""
    objects = _objects(pdf)
    fonts = _fonts(objects)
    kids = re.search(rb"/Kids \[([^\]]*)\]", b"".join(body for body in objects.values() if b"/Type /Pages" in body))
    pages = [int(ref) for ref in re.findall(REFERENCE, kids.group(1))]
    texts = []
    for page in pages:
        contents = re.search(rb"/Contents " + REFERENCE, objects[page])
        texts.append("\n".join(_page_text(_stream(objects[int(contents.group(1))]), fonts)))
    return texts


def pdf_text(pdf: bytes) -> str:
    """All pages' text, with every run of white space as one space (a wrapped line reads as one)."""
    return " ".join(" ".join(page.split()) for page in pdf_pages(pdf))
