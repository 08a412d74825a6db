"""QR images of a text: PNG and SVG files for the API, inline SVG for pages."""

import io

import qrcode
import qrcode.image.svg
from PIL import Image

from app.qrimage import qr_png, qr_svg, qr_svg_inline


def test_qr_png_is_a_square_png() -> None:
    data = qr_png("https://example.test/c/abc")
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as image:
        assert image.width == image.height and image.width % 8 == 0


def test_qr_svg_is_one_path_svg_file() -> None:
    data = qr_svg("https://example.test/c/abc")
    assert data.startswith(b"<?xml")
    assert b"<svg" in data and data.count(b"<path") == 1


def test_qr_svg_inline_matches_qrcode_defaults_with_border_two() -> None:
    text = "https://example.test/follow/xyz"
    expected = qrcode.make(
        text, image_factory=qrcode.image.svg.SvgPathImage, border=2
    ).to_string(encoding="unicode")
    inline = qr_svg_inline(text)
    assert str(inline) == expected
    assert inline.startswith("<svg") and "<?xml" not in inline
