"""QR codes for tickets, result slips and certificates: opaque token URLs only.

A QR code is read by anyone holding the paper, so it carries a URL with a random token and
nothing personal. As a cheap last guard, both functions refuse a URL containing a run of 15 or
more digits (an ID number, old or new) or an 11-digit mobile number. Error correction level M
(about 15% of the modules may be damaged) suits printed tickets.
"""

from __future__ import annotations

import re
from io import BytesIO

import qrcode
from qrcode.constants import ERROR_CORRECT_M

BORDER = 4  # the quiet zone the standard asks for, in modules

_ID_LIKE = re.compile(r"\d{15,}|\d{17}[Xx]")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def check_url(url: str) -> str:
    """``url`` if it may go into a QR code; ValueError if it looks like it carries personal data."""
    if not url:
        raise ValueError("A QR code needs a URL.")
    if _ID_LIKE.search(url) or _MOBILE.search(url):
        raise ValueError("A QR code may carry an opaque token, never an ID or phone number.")
    return url


def qr_matrix(url: str) -> list[list[bool]]:
    """The modules of the QR code for ``url`` (True = dark), quiet zone included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(check_url(url))
    code.make(fit=True)
    return code.get_matrix()


def qr_svg(url: str) -> str:
    """Inline SVG markup (no external references) of the QR code for ``url``.

    One path of unit squares on a white background, scaled by the container: give the element
    a width and height in CSS.
    """
    matrix = qr_matrix(url)
    size = len(matrix)
    squares = "".join(
        f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}"'
        f' shape-rendering="crispEdges" class="qr" role="img" aria-label="QR">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{squares}"/></svg>'
    )


def qr_png(url: str, *, box_size: int = 8) -> bytes:
    """PNG bytes of the QR code for ``url``, ``box_size`` pixels per module."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=BORDER)
    code.add_data(check_url(url))
    code.make(fit=True)
    buffer = BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
