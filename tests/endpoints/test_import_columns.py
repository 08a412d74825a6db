"""The site-tree file format: kinds in English or Vietnamese, the example file's header."""

from app.tabular import reader
from app.tabular.header import map_header
from endpoints import import_columns
from endpoints.models import SiteKind


def test_parse_kind_english_vietnamese_and_registry_labels() -> None:
    assert import_columns.parse_kind("central") == SiteKind.central
    assert import_columns.parse_kind("Tỉnh / Thành phố") == SiteKind.hub
    assert import_columns.parse_kind("XÃ") == SiteKind.commune
    assert import_columns.parse_kind("Sở, ban, ngành") == SiteKind.department
    assert import_columns.parse_kind("quận") is None


def test_sample_csv_header_maps_every_column() -> None:
    table = reader.read_table(import_columns.sample_csv(), "mau.csv", max_rows=100)
    cmap, warnings = map_header(table.header, import_columns.SITE_COLUMNS)
    assert set(cmap.index) == set(import_columns.COLUMNS) and warnings == []
    assert len(table.rows) == len(import_columns.SAMPLE_ROWS) - 1
