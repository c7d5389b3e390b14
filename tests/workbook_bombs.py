"""Crafted workbooks for the safety tests: small files that declare, or unpack to, far too much."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

ZEROS_CHUNK = b"\0" * 1_000_000


def sheet_member(data: bytes, sheet: str) -> str:
    """The zip member holding a sheet's XML, found through workbook.xml and its relationships."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        book = archive.read("xl/workbook.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    [rel_id] = re.findall(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', book)
    [target] = re.findall(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rel_id}"', rels) or (
        re.findall(rf'<Relationship [^>]*Id="{rel_id}"[^>]*Target="([^"]+)"', rels)
    )
    return target.removeprefix("/") if target.startswith("/xl/") else f"xl/{target}"


def rewrite_member(data: bytes, member: str, edit: Callable[[str], str]) -> bytes:
    """The workbook with one member's XML text changed by `edit`, every other member as it was."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == member:
                content = edit(content.decode()).encode()
            target.writestr(info.filename, content)
    return out.getvalue()


def dimension_bomb(data: bytes, sheet: str = "patients", ref: str = "A1:XFD100000") -> bytes:
    """The sheet declares itself `ref` (100,000 rows x 16,384 columns) yet holds the same cells."""
    member = sheet_member(data, sheet)

    def edit(xml: str) -> str:
        declared, count = re.subn(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>', xml)
        assert count == 1, "the sheet has no <dimension>"
        return declared

    return rewrite_member(data, member, edit)


def far_cell(
    data: bytes, sheet: str = "patients", ref: str = "XFD100000", value: bool = True
) -> bytes:
    """The sheet with one more cell at `ref`: holding a number, or (value=False) only a style."""
    member = sheet_member(data, sheet)
    row = int(re.sub(r"^[A-Z]+", "", ref))
    cell = f'<c r="{ref}"><v>1</v></c>' if value else f'<c r="{ref}" s="0"/>'

    def edit(xml: str) -> str:
        assert "</sheetData>" in xml
        return xml.replace("</sheetData>", f'<row r="{row}">{cell}</row></sheetData>', 1)

    return rewrite_member(data, member, edit)


def zip_bomb(data: bytes, megabytes: int = 300, name: str = "xl/media/image1.bin") -> bytes:
    """The workbook plus a member of `megabytes` MB of zeros, deflated to a few hundred kB."""
    out = io.BytesIO(data)
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for _ in range(megabytes):
            member.write(ZEROS_CHUNK)
    return out.getvalue()


# The 8-byte signature and a header chunk of a PNG picture: a file that is plainly no workbook.
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def big_text_cell(data: bytes, sheet: str = "patients", megabytes: int = 40) -> bytes:
    """The sheet with one more row whose first cell holds `megabytes` MB of text (packs ~1000:1)."""
    member = sheet_member(data, sheet)
    text = "x" * (megabytes * 1_000_000)

    def edit(xml: str) -> str:
        cell = f'<c r="A9999" t="inlineStr"><is><t>{text}</t></is></c>'
        return xml.replace("</sheetData>", f'<row r="9999">{cell}</row></sheetData>', 1)

    return rewrite_member(data, member, edit)


def entity_bomb(data: bytes, sheet: str = "suites") -> bytes:
    """The sheet's XML with a DTD whose nested entities expand to 10^9 x "lol" (billion laughs)."""
    member = sheet_member(data, sheet)
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(1, 10)
    )

    def edit(xml: str) -> str:
        cell = '<c r="A50" t="inlineStr"><is><t>&lol9;</t></is></c>'
        xml = xml.replace("</sheetData>", f'<row r="50">{cell}</row></sheetData>', 1)
        return f"<!DOCTYPE worksheet [{entities}]>{xml}"

    return rewrite_member(data, member, edit)
