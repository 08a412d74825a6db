"""The site-tree file format: its columns, their header aliases, site kinds, an example.

File format (one site per row; the first non-blank row is the header; * = required):

- `code` * (mã, mã điểm cầu): `[A-Za-z0-9_.-]{1,50}`, unique in the conference
  (case-sensitive).
- `name` * (tên, tên điểm cầu): 1–200 characters, no control characters; stored NFC.
- `kind` * (loại, loại điểm cầu): central, hub, ward, commune, special_zone, department,
  organization, other — or in Vietnamese: trung tâm, tỉnh / thành phố, phường, xã,
  đặc khu, sở / ban / ngành, tổ chức / đoàn thể, khác (any case, with or without accents).
- `parent_code` (mã cấp trên, cấp trên): empty = top level; the code of a row in the same
  file (in any order: parents may come after children) or of a site already in the
  conference.
- `room` (phòng, phòng họp): ≤ 200 characters.
- `contact_name` (người liên hệ, cán bộ phụ trách): ≤ 200 characters.
- `contact_phone` (số điện thoại, điện thoại, sđt): 6–20 of digits, spaces, . ( ) - and a
  leading +; a 9-digit mobile number that lost its leading 0 in Excel gets it back.
- `expected_attendees` (số đại biểu, số đại biểu dự kiến, số người): whole number
  0–100.000; "1.200" and "1,200" mean 1200; empty = 0.
- `connection_link` (đường dẫn kết nối, link): ≤ 500 characters, http(s):// if a URL.

Headers match case-, diacritics- and punctuation-insensitively ("Mã cấp trên (*)"
works); unknown columns are ignored with a warning. Encodings, delimiters and
XLSX sheets are read as `app/tabular/reader.py` describes.
"""


from app.tabular import export
from app.tabular.header import Columns, header_key
from endpoints.models import SITE_KIND_LABELS, SiteKind

COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "kind",
    "parent_code",
    "room",
    "contact_name",
    "contact_phone",
    "expected_attendees",
    "connection_link",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("code", "name", "kind")
COLUMN_LABELS: dict[str, str] = {
    "code": "Mã",
    "name": "Tên",
    "kind": "Loại",
    "parent_code": "Mã cấp trên",
    "room": "Phòng họp",
    "contact_name": "Người liên hệ",
    "contact_phone": "Số điện thoại",
    "expected_attendees": "Số đại biểu dự kiến",
    "connection_link": "Đường dẫn kết nối",
}
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("ma", "ma diem cau", "ma dc", "ma don vi", "site code"),
    "name": ("ten", "ten diem cau", "ten don vi", "site name"),
    "kind": ("loai", "loai diem cau", "cap", "type"),
    "parent_code": (
        "parent", "ma cap tren", "cap tren", "ma diem cau cap tren", "ma don vi cap tren",
        "ma cha", "parent site code",
    ),
    "room": ("phong", "phong hop", "dia diem"),
    "contact_name": ("nguoi lien he", "can bo phu trach", "nguoi phu trach", "lien he", "contact"),
    "contact_phone": ("so dien thoai", "dien thoai", "sdt", "so dt", "phone"),
    "expected_attendees": (
        "so dai bieu", "so dai bieu du kien", "dai bieu du kien", "so nguoi", "so luong",
        "attendees",
    ),
    "connection_link": ("duong dan ket noi", "duong dan", "link", "lien ket", "link ket noi"),
}
_KIND_ALIASES: dict[SiteKind, tuple[str, ...]] = {
    SiteKind.central: ("trung tam", "trung uong", "diem cau trung tam", "hoi truong"),
    SiteKind.hub: (
        "tinh", "thanh pho", "tinh thanh", "tinh thanh pho", "cap tinh", "diem cau cap tinh",
        "diem cau cap tinh thanh",
    ),
    SiteKind.ward: ("phuong",),
    SiteKind.commune: ("xa",),
    SiteKind.special_zone: ("dac khu", "special zone"),
    SiteKind.department: ("so", "ban", "nganh", "so ban nganh"),
    SiteKind.organization: (
        "to chuc", "doan the", "mat tran", "mttq", "to chuc chinh tri xa hoi",
    ),
    SiteKind.other: ("khac",),
}
SITE_COLUMNS = Columns(
    aliases={
        c: (c, c.replace("_", " "), COLUMN_LABELS[c], *HEADER_ALIASES[c]) for c in COLUMNS
    },
    required=REQUIRED_COLUMNS,
    labels=COLUMN_LABELS,
    example="mã, tên, loại, mã cấp trên",
)
_KIND_LOOKUP: dict[str, SiteKind] = {
    header_key(alias): kind for kind in SiteKind for alias in (kind.value, *_KIND_ALIASES[kind])
}
# The registry's own labels ("Sở, ban, ngành", "Điểm cầu cấp tỉnh/thành", …) work too.
_KIND_LOOKUP.update({header_key(label): kind for kind, label in SITE_KIND_LABELS.items()})


def parse_kind(value: str) -> SiteKind | None:
    """The site kind a cell names, in English or Vietnamese, or None."""
    return _KIND_LOOKUP.get(header_key(value))


SAMPLE_ROWS: tuple[tuple[str, ...], ...] = (
    ("mã", "tên", "loại", "mã cấp trên", "phòng họp", "người liên hệ", "số điện thoại",
     "số đại biểu dự kiến", "đường dẫn kết nối"),
    ("TW", "Hội trường Trung ương", "trung tâm", "", "Hội trường Diên Hồng", "Nguyễn Văn An",
     "0243 123 4567", "400", ""),
    ("HCM", "Điểm cầu Thành phố Hồ Chí Minh", "tỉnh", "TW", "Trung tâm Hội nghị 272",
     "Trần Thị Bình", "0901 234 567", "300", "https://hop.example.vn/hcm"),
    ("HCM-BN", "Đảng ủy phường Bến Nghé", "phường", "HCM", "Phòng họp tầng 2", "Lê Văn Cường",
     "0912 345 678", "60", ""),
    ("HCM-CG", "Đảng ủy xã Cần Giờ", "xã", "HCM", "Hội trường xã", "Phạm Thị Dung",
     "0987 654 321", "45", ""),
    ("HCM-CD", "Đảng ủy đặc khu Côn Đảo", "đặc khu", "HCM", "", "", "", "40", ""),
)


def sample_csv() -> bytes:
    """A small example file (UTF-8 with BOM, so Excel opens the accents right)."""
    return export.csv_bytes(SAMPLE_ROWS)
