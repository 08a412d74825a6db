"""Errors of a file import, each with a stable code (the same for every domain's import)."""

from app.errors import AppError
from app.text import format_number


class ImportRejected(AppError):
    """The file has bad lines; `errors` lists each one and nothing was written."""

    status_code = 422
    code = "import_invalid"
    detail = "Tệp có dòng không hợp lệ; chưa nhập gì."


class FileTooLarge(AppError):
    status_code = 413
    code = "file_too_large"
    detail = "Tệp quá lớn."


class WorkbookTooLarge(AppError):
    """An XLSX that unpacks to more than an import may cost (a zip bomb, or just too big)."""

    status_code = 413
    code = "workbook_too_large"
    detail = "Tệp Excel giải nén ra quá lớn; hãy chia tệp hoặc lưu thành CSV UTF-8."


class TooManyRows(AppError):
    status_code = 413
    code = "too_many_rows"
    detail = "Tệp có quá nhiều dòng."


class UnsupportedFile(AppError):
    status_code = 415
    code = "unsupported_file"
    detail = "Chỉ nhận tệp CSV (.csv) hoặc Excel (.xlsx)."


class EncodingUnsupported(AppError):
    status_code = 415
    code = "encoding_unsupported"
    detail = (
        "Không đọc được bảng mã của tệp (có thể là TCVN3/VNI). Hãy mở tệp bằng Excel, "
        "chọn Lưu thành (Save As) → \"CSV UTF-8 (Comma delimited)\" rồi nhập lại."
    )


class MissingColumns(AppError):
    status_code = 422
    code = "missing_columns"
    detail = "Tệp thiếu cột bắt buộc."


class EmptyImport(AppError):
    status_code = 422
    code = "empty_file"
    detail = "Tệp không có dòng dữ liệu nào."


class ImportConflict(AppError):
    status_code = 409
    code = "import_conflict"
    detail = "Dữ liệu vừa bị thay đổi trong lúc nhập; chưa nhập gì, vui lòng thử lại."


def file_too_large(max_bytes: int) -> FileTooLarge:
    """The 413 for a file over the limit, naming the limit in MB."""
    return FileTooLarge(
        f"Tệp lớn hơn giới hạn {max_bytes / (1024 * 1024):.0f} MB; "
        "hãy chia tệp thành nhiều phần.",
        max_bytes=max_bytes,
    )


def too_many_rows(max_rows: int) -> TooManyRows:
    """The 413 for a file with more data rows than one import takes."""
    return TooManyRows(
        f"Tệp có hơn {format_number(max_rows)} dòng dữ liệu; mỗi lần chỉ nhập tối đa "
        f"{format_number(max_rows)} dòng. Hãy chia tệp thành nhiều phần.",
        max_rows=max_rows,
    )
