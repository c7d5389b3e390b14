"""Workbooks read safely: the zip checks before opening, sheets read as stored (never padded to
the size they declare, values capped at rows x columns), and the sandboxed child process."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest

from models import load_instance, to_json
from models.workbook import WorkbookError, read_instance, read_tables, write_template
from models.workbook.safety import DEFAULT_LIMITS, WorkbookLimits, check_archive, size_text
from models.workbook.sandbox import (
    SandboxFailure,
    SandboxProblems,
    read_workbook_isolated,
)
from tests.workbook_bombs import (
    PNG_BYTES,
    big_text_cell,
    dimension_bomb,
    entity_bomb,
    far_cell,
    rewrite_member,
    sheet_member,
    zip_bomb,
)


@pytest.fixture(scope="module")
def template_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_template(tmp_path_factory.mktemp("template") / "plan.xlsx").read_bytes()


def write(tmp_path: Path, data: bytes, name: str = "plan.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


REQUIRED = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}


# --- the zip, before opening ------------------------------------------------------------------


def test_a_real_workbook_passes_the_checks(template_bytes: bytes) -> None:
    assert check_archive(io.BytesIO(template_bytes)) == []


@pytest.mark.parametrize("data", [b"not a workbook", PNG_BYTES, b"", b"PK\x03\x04 broken"])
def test_what_is_not_a_zip_is_said_so(data: bytes) -> None:
    assert check_archive(io.BytesIO(data)) == [
        "the file is not an XLSX workbook (not a zip archive)"
    ]


def test_a_zip_without_the_workbook_parts_is_not_a_workbook() -> None:
    [problem] = check_archive(io.BytesIO(zipped({"readme.txt": b"hello"})))
    assert "not an XLSX workbook" in problem
    assert "[Content_Types].xml" in problem and "xl/workbook.xml" in problem


def test_too_many_members() -> None:
    members = REQUIRED | {f"xl/media/{i}.bin": b"x" for i in range(20)}
    [problem] = check_archive(io.BytesIO(zipped(members)), WorkbookLimits(max_members=10))
    assert problem == "the file holds 22 members, more than an XLSX workbook's 10 (limit)"


def test_a_member_that_would_unpack_too_large_is_named_with_its_size() -> None:
    data = zipped(REQUIRED | {"xl/worksheets/sheet1.xml": b"<a/>" * 5_000}, zipfile.ZIP_STORED)
    problems = check_archive(io.BytesIO(data), WorkbookLimits(max_member_bytes=10_000))
    assert problems == ["xl/worksheets/sheet1.xml would unpack to 20 kB (limit 10 kB)"]


def test_all_members_together_are_capped() -> None:
    members = REQUIRED | {f"xl/worksheets/sheet{i}.xml": b"<a/>" * 1_000 for i in range(5)}
    problems = check_archive(
        io.BytesIO(zipped(members, zipfile.ZIP_STORED)), WorkbookLimits(max_total_bytes=10_000)
    )
    assert problems == ["the members would unpack to 20 kB in all (limit 10 kB)"]


def test_a_tightly_packed_member_is_a_zip_bomb() -> None:
    data = zipped(REQUIRED | {"xl/worksheets/sheet1.xml": b"\0" * 2_000_000})
    [problem] = check_archive(io.BytesIO(data))
    assert problem.startswith("compression ratio ")
    assert "of member xl/worksheets/sheet1.xml is beyond 100:1: a zip bomb?" in problem
    # Small members may pack as tightly as they like (XML of empty rows does).
    assert check_archive(io.BytesIO(zipped(REQUIRED | {"a.xml": b"\0" * 900_000}))) == []


def test_hundreds_of_megabytes_of_zeros_are_refused_unopened(template_bytes: bytes) -> None:
    bomb = zip_bomb(template_bytes, megabytes=300)
    assert len(bomb) < 1_000_000
    problems = check_archive(io.BytesIO(bomb))
    assert "xl/media/image1.bin would unpack to 300 MB (limit 50 MB)" in problems
    assert problems[-1].startswith("the members would unpack to 300.")  # and some kB
    assert problems[-1].endswith("MB in all (limit 100 MB)")


def test_an_encrypted_member_is_refused() -> None:
    data = bytearray(zipped(REQUIRED))
    # Set the "encrypted" flag of the first member in the central directory.
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"PK\x01\x02"))
    data[central + 8] |= 0x1
    assert "[Content_Types].xml is encrypted" in check_archive(io.BytesIO(bytes(data)))


def test_sizes_are_said_for_people() -> None:
    assert [size_text(n) for n in (12, 830_000, 50_000_000, 2_147_483_648)] == [
        "12 bytes",
        "830 kB",
        "50 MB",
        "2.1 GB",
    ]


def test_read_tables_reports_the_checks_as_workbook_problems(
    template_bytes: bytes, tmp_path: Path
) -> None:
    _, problems = read_tables(write(tmp_path, zip_bomb(template_bytes, megabytes=60)))
    assert any(
        "cannot read the workbook: xl/media/image1.bin would unpack to 60 MB" in p.message
        for p in problems
    )
    _, problems = read_tables(write(tmp_path, PNG_BYTES))
    assert [p.message for p in problems] == [
        "cannot read the workbook: the file is not an XLSX workbook (not a zip archive)"
    ]


# --- sheets read as stored --------------------------------------------------------------------


def test_a_declared_dimension_is_not_padded_to(template_bytes: bytes, tmp_path: Path) -> None:
    """A sheet declaring 100,000 x 16,384 cells reads as the cells it holds, fast and small."""
    plain, _ = read_tables(write(tmp_path, template_bytes, "plain.xlsx"))
    bombed = dimension_bomb(template_bytes, "patients")
    for sheet in ("site", "roster", "hospitals"):
        bombed = dimension_bomb(bombed, sheet)
    started = time.monotonic()
    read, problems = read_tables(write(tmp_path, bombed, "bomb.xlsx"))
    assert time.monotonic() - started < 5
    assert problems == []
    assert {name: (t.header, t.rows) for name, t in read.items()} == {
        name: (t.header, t.rows) for name, t in plain.items()
    }


def test_a_value_beyond_the_rows_and_columns_names_the_sheet(
    template_bytes: bytes, tmp_path: Path
) -> None:
    for ref in ("XFD100000", "A20001", "ALM2"):  # ALM is column 1,001
        with pytest.raises(WorkbookError) as caught:
            read_instance(write(tmp_path, far_cell(template_bytes, "patients", ref)))
        [problem] = caught.value.problems
        assert problem.path == "patients"
        assert problem.message == (
            f"sheet 'patients' has a value in cell {ref}, beyond the 20,000 rows and 1000 columns "
            "a planning sheet may have"
        )


def test_values_up_to_the_limits_and_empty_cells_beyond_them_are_fine(
    template_bytes: bytes, tmp_path: Path
) -> None:
    expected = read_instance(write(tmp_path, template_bytes, "plain.xlsx"))
    styled = far_cell(template_bytes, "patients", "XFD1048576", value=False)
    assert read_instance(write(tmp_path, styled)) == expected
    limits = WorkbookLimits(max_rows=100, max_columns=100)  # CV is column 100
    with pytest.raises(WorkbookError) as caught:
        read_instance(write(tmp_path, far_cell(template_bytes, "suites", "CV100")), limits)
    # Within the limits the value is read: row 100 is a suite, lacking its id, type, positions.
    assert ("suites row 100, column id", "a value is required") in [
        (p.path, p.message) for p in caught.value.problems
    ]
    with pytest.raises(WorkbookError, match="in cell CW100, beyond the 100 rows and 100 columns"):
        read_instance(write(tmp_path, far_cell(template_bytes, "site", "CW100")), limits)
    assert DEFAULT_LIMITS.max_rows == 20_000 and DEFAULT_LIMITS.max_columns == 1_000


def test_a_sheet_that_is_no_worksheet_or_broken_xml_is_a_problem_of_that_sheet(
    template_bytes: bytes, tmp_path: Path
) -> None:
    member = sheet_member(template_bytes, "suites")
    broken = rewrite_member(template_bytes, member, lambda xml: xml.replace("</sheetData>", ""))
    _, problems = read_tables(write(tmp_path, broken))
    [problem] = problems
    assert problem.path == "suites" and problem.message.startswith("cannot read the sheet")


def test_entities_expanding_a_billion_fold_are_refused_by_the_xml_parser(
    template_bytes: bytes, tmp_path: Path
) -> None:
    started = time.monotonic()
    _, problems = read_tables(write(tmp_path, entity_bomb(template_bytes, "suites")))
    assert time.monotonic() - started < 5
    [problem] = problems
    assert problem.path == "suites"
    assert "amplification" in problem.message  # expat's own guard against billion laughs


# --- the sandboxed child process ----------------------------------------------------------------


def test_the_child_reads_a_workbook_as_the_process_itself_would(
    template_bytes: bytes, tmp_path: Path
) -> None:
    expected = json.loads(to_json(read_instance(write(tmp_path, template_bytes))))
    document = read_workbook_isolated(template_bytes)
    assert document == expected
    assert load_instance(document) == load_instance(expected)


def test_the_child_reports_problems_by_sheet_with_the_upload_named(template_bytes: bytes) -> None:
    with pytest.raises(SandboxProblems) as caught:
        read_workbook_isolated(far_cell(template_bytes, "patients"))
    assert [p.path for p in caught.value.problems] == ["patients"]
    with pytest.raises(SandboxProblems) as caught:
        read_workbook_isolated(PNG_BYTES)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (
            "workbook.xlsx",
            "cannot read the workbook: the file is not an XLSX workbook (not a zip archive)",
        )
    ]


def test_a_child_out_of_memory_or_time_is_a_failure_saying_which(template_bytes: bytes) -> None:
    # 40 MB of text in one cell (allowed to pack tightly here) with 150 MB of address space,
    # less than the child's libraries already take: the child runs out of memory.
    big = big_text_cell(template_bytes, "patients", megabytes=40)
    loose = WorkbookLimits(max_ratio=10**9)
    with pytest.raises(SandboxFailure, match="needed more than 150 MB of memory"):
        read_workbook_isolated(big, loose, memory_bytes=150_000_000)
    with pytest.raises(SandboxProblems):  # 1 GB is plenty: the row is read (and is wrong)
        read_workbook_isolated(big, loose)
    started = time.monotonic()
    with pytest.raises(SandboxFailure, match=r"within 1 GB / 0.2 s: it took longer than 0.2 s"):
        read_workbook_isolated(template_bytes, seconds=0.2)
    assert time.monotonic() - started < 5
