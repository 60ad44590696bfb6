"""The API reference pages, /docs and /redoc, load nothing from the internet."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from httpx import AsyncClient

# What each kind of reference must be served as for a browser (nosniff) to use it.
EXPECTED_TYPES = {"script": "text/javascript", "stylesheet": "text/css", "icon": "image/png"}


class References(HTMLParser):
    """(kind, url) of every script, stylesheet and icon a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        rel = (attributes.get("rel") or "").split()
        if tag == "script" and attributes.get("src"):
            self.found.append(("script", attributes["src"] or ""))
        elif tag == "link" and "stylesheet" in rel:
            self.found.append(("stylesheet", attributes.get("href") or ""))
        elif tag == "link" and "icon" in rel:
            self.found.append(("icon", attributes.get("href") or ""))


def references_of(page: str) -> list[tuple[str, str]]:
    parser = References()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize(("page", "kinds"), [("/docs", 3), ("/redoc", 2)])
async def test_the_api_docs_need_no_internet(
    gateway_client: AsyncClient, page: str, kinds: int
) -> None:
    response = await gateway_client.get(page)  # nobody logged in
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "http://" not in html
    assert "https://" not in html
    assert "/openapi.json" in html

    references = references_of(html)
    assert len(references) == kinds, references
    for kind, url in references:
        assert url.startswith("/docs/assets/"), url
        asset = await gateway_client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] == EXPECTED_TYPES[kind], url
        assert len(asset.content) > 500, url


async def test_the_docs_files_are_cached_for_long_as_their_path_names_the_version(
    gateway_client: AsyncClient,
) -> None:
    html = (await gateway_client.get("/redoc")).text
    ((_, url),) = [ref for ref in references_of(html) if ref[0] == "script"]
    assert "/redoc-2." in url
    response = await gateway_client.get(url)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/README.txt",
        "/docs/assets/redoc-2.5.4/LICENSE",
        "/docs/assets/../api_docs.py",
        "/docs/assets/%2e%2e/api_docs.py",
        "/docs/assets/",
    ],
)
async def test_the_docs_assets_serve_only_the_pages_files(
    gateway_client: AsyncClient, path: str
) -> None:
    response = await gateway_client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
