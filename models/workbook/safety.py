"""Limits on what reading an .xlsx workbook may cost, checked before and while it is read.

An .xlsx file is a zip archive of XML files. A few kilobytes can declare gigabytes: a member of
zeros deflated a thousandfold (a zip bomb), or a sheet whose `<dimension>` or a lone far cell
claims 100,000 rows by 16,384 columns, which a reader padding every row to the declared width
turns into billions of empty cells. `check_archive` looks at the zip's directory (nothing is
unpacked) and refuses what would unpack too large; the sheet reader in `files.py` reads only the
cells that exist and refuses values beyond `max_rows` x `max_columns`.

The sizes declared in the zip's directory are binding: Python's zipfile never unpacks more than
a member's declared size (it cuts the stream there, then fails its checksum).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REQUIRED_MEMBERS = ("[Content_Types].xml", "xl/workbook.xml")


@dataclass(frozen=True)
class WorkbookLimits:
    """What one workbook may hold; the defaults are far above any real planning workbook."""

    max_members: int = 200  # files inside the zip
    max_member_bytes: int = 50_000_000  # one member, unpacked
    max_total_bytes: int = 100_000_000  # all members, unpacked
    max_ratio: int = 100  # unpacked / packed, for members above ratio_from_bytes
    ratio_from_bytes: int = 1_000_000
    max_rows: int = 20_000  # per sheet, counting the header
    max_columns: int = 1_000  # per sheet: the roster has one column per horizon day


DEFAULT_LIMITS = WorkbookLimits()


def size_text(size: int) -> str:
    """Bytes for people: 2.1 GB, 50 MB, 830 kB, 12 bytes."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            shown = f"{size / scale:.1f}".removesuffix(".0")
            return f"{shown} {unit}"
    return f"{size} bytes"


def check_archive(
    source: str | Path | IO[bytes], limits: WorkbookLimits = DEFAULT_LIMITS
) -> list[str]:
    """What makes this file unsafe or impossible to open as an .xlsx workbook; empty when fine.

    Only the zip's directory is read. Stops at the first kind of problem (not a zip, too many
    members) and otherwise names every member that is too large or packed too tightly.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return ["the file is not an XLSX workbook (not a zip archive)"]
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            return [
                f"the file holds {len(members)} members, more than an XLSX workbook's "
                f"{limits.max_members} (limit)"
            ]
        problems: list[str] = []
        total = 0
        for member in members:
            total += member.file_size
            if member.flag_bits & 0x1:
                problems.append(f"{member.filename} is encrypted")
            if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                problems.append(
                    f"{member.filename} is packed with an unsupported method ({member.compress_type})"
                )
            if member.file_size > limits.max_member_bytes:
                problems.append(
                    f"{member.filename} would unpack to {size_text(member.file_size)} "
                    f"(limit {size_text(limits.max_member_bytes)})"
                )
            elif member.file_size > limits.ratio_from_bytes:
                ratio = member.file_size / max(member.compress_size, 1)
                if ratio > limits.max_ratio:
                    problems.append(
                        f"compression ratio {ratio:.0f}:1 of member {member.filename} is beyond "
                        f"{limits.max_ratio}:1: a zip bomb?"
                    )
        if total > limits.max_total_bytes:
            problems.append(
                f"the members would unpack to {size_text(total)} in all "
                f"(limit {size_text(limits.max_total_bytes)})"
            )
        names = {member.filename for member in members}
        missing = [name for name in REQUIRED_MEMBERS if name not in names]
        if missing:
            problems.append(
                "the file is not an XLSX workbook (a zip archive without "
                + ", ".join(missing)
                + ")"
            )
        return problems
