"""XLSForm (.xlsx/.xls/.csv/.md) -> XForm with pyxform, then ODK Validate (JavaRosa)
when java exists."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from pyxform.errors import PyXFormError
from pyxform.validators.odk_validate import ODKValidateError
from pyxform.xls2json_backends import get_xlsform
from pyxform.xls2xform import convert

from forms.errors import FormError

_MAX_ID = 100  # the longest id kept (Central has no limit; our column holds more)
SUPPORTED = (".xlsx", ".xlsm", ".xls", ".csv", ".md")
_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_SHEET = re.compile(r"On the '([^']+)' sheet|the '([^']+)' sheet")


@dataclass(frozen=True, slots=True)
class CompiledForm:
    """The XForm text pyxform produced, its warnings, and whether ODK Validate ran."""

    xform: bytes
    warnings: list[str]
    validated: bool
    itemsets_csv: str | None


def java_available() -> bool:
    """True when a ``java`` executable is on PATH (ODK Validate needs it)."""
    return shutil.which("java") is not None


def compile_xlsform(
    source: bytes | str | os.PathLike,
    filename: str | None = None,
    fallback_form_id: str | None = None,
    validate: bool | None = None,
) -> CompiledForm:
    """Compile an XLSForm to XForm bytes.

    ``source`` is a path or the file's bytes; ``filename`` gives the type of bytes.
    ``fallback_form_id`` becomes the form id when the settings sheet has none (as
    Central's X-XlsForm-FormId-Fallback does). ODK Validate runs when ``validate``
    is true, or when it is None and java is present. Raises FormError.
    """
    if validate is None:
        validate = java_available()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        filename = filename or path.name
        data = path.read_bytes()
    else:
        data = source
    suffix = Path(filename or "form.xlsx").suffix.lower()
    if suffix not in SUPPORTED:
        raise FormError(f"Unsupported file type '{suffix}': use one of {', '.join(SUPPORTED)}.")
    if suffix == ".xlsx":
        check_xlsx_archive(data)
    # Central's rule: the fallback (pyodk's or the web form's, already percent-decoded) is
    # the id when the settings sheet names none, else the file's stem; any character goes.
    stem = (fallback_form_id or Path(filename or "").stem).strip()[:_MAX_ID] or "data"
    warnings: list[str] = []
    try:
        workbook = get_xlsform(data, file_type=suffix)
        workbook.fallback_form_name = stem
        result = convert(xlsform=asdict(workbook), warnings=warnings, validate=validate)
    except ODKValidateError as e:
        raise FormError(_validate_message(str(e))) from None
    except PyXFormError as e:
        raise _form_error(e) from None
    except Exception as e:  # readers of third-party formats raise anything
        raise FormError(f"The file could not be read as an XLSForm: {e}") from None
    return CompiledForm(
        xform=result.xform.encode("utf-8"),
        warnings=list(dict.fromkeys(result.warnings)),
        validated=validate,
        itemsets_csv=result.itemsets,
    )


#: The largest form definition accepted (an upload of XLSForm or XForm, web or API).
MAX_FORM_BYTES = 10_000_000
#: An XLSForm of the program is < 1 MB unpacked; these stop a "zip bomb" before openpyxl
#: unpacks it (the declared sizes are not trusted: every member is inflated and counted).
MAX_XLSX_MEMBERS = 500
MAX_XLSX_UNPACKED = 50_000_000
MAX_XLSX_RATIO = 200


def check_xlsx_archive(data: bytes) -> None:
    """Refuse an .xlsx that is not a zip, has too many parts, or unpacks too large."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FormError("The file is not an .xlsx workbook (not a valid zip archive).") from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise FormError(f"The workbook has {len(members)} parts; at most {MAX_XLSX_MEMBERS}.")
    total = 0
    with archive:
        for member in members:
            budget = min(
                MAX_XLSX_UNPACKED - total, max(member.compress_size, 1) * MAX_XLSX_RATIO + 65_536
            )
            try:
                with archive.open(member) as part:
                    while chunk := part.read(65_536):
                        total += len(chunk)
                        budget -= len(chunk)
                        if budget < 0:
                            raise FormError(
                                "The workbook unpacks to far more than a form needs "
                                "(a damaged or hostile file); it was not read."
                            )
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                NotImplementedError,
                RuntimeError,
                OSError,
            ) as e:
                raise FormError(f"The workbook is damaged: {e}") from None


def _form_error(e: PyXFormError) -> FormError:
    message = str(e)
    context = getattr(e, "context", None) or {}
    row = context.get("row")
    sheet = context.get("sheet")
    if row is None and (m := _ROW.search(message)):
        row = int(m.group(1))
    if sheet is None and (m := _SHEET.search(message)):
        sheet = m.group(1) or m.group(2)
    return FormError(message, sheet=sheet, row=row)


def _validate_message(raw: str) -> str:
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("at ", "Caused by"))][:8]
    return "ODK Validate (the JavaRosa engine used by Collect) rejected the form: " + " ".join(
        useful
    )
