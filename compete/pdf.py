"""PDFs from HTML with WeasyPrint: fonts and images from the static folder only.

WeasyPrint's base URL is the static folder on disk, never the app's own URL (a sync worker
would wait on itself), and the fetcher refuses anything but ``data:`` URIs and static files,
so rendering a PDF never touches the network.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import HTML
from weasyprint.urls import URLFetcher


class StaticOnlyFetcher(URLFetcher):
    """Fetch data: URIs and files under the static folder; nothing else, never the network."""

    def __init__(self, root: Path):
        super().__init__(allowed_protocols={"file", "data"}, fail_on_errors=True)
        self._root = root.resolve()

    def fetch(self, url, headers=None):
        if url.startswith("file:"):
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not path.is_relative_to(self._root):
                raise ValueError("Only files of the static folder can be used in a PDF.")
        return super().fetch(url, headers)


def html_to_pdf(html: str) -> bytes:
    """Render ``html`` (a full document) to PDF bytes."""
    static = Path(current_app.static_folder or "static")
    return HTML(
        string=html, base_url=static.as_uri() + "/", url_fetcher=StaticOnlyFetcher(static)
    ).write_pdf()
