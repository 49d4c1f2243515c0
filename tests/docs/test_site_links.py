"""Build the documentation site and check every internal link, and that it works offline.

``mkdocs build --strict`` already refuses links to missing pages and anchors in the
Markdown; this checks the HTML that comes out (navigation, generated reference pages,
snippets, the theme's own links): every ``href``/``src`` inside the site must name a file
that exists, and a ``#fragment`` an ``id`` on that page. Scripts, stylesheets and images
must come from the site itself, so it works without the internet.

Needs the ``docs`` dependency group: ``nox -s docs`` runs this test after building (in
``nox -s tests`` it is skipped).
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.support import processes

pytest.importorskip("mkdocs", reason="needs the docs dependency group (nox -s docs runs it)")

ROOT = Path(__file__).resolve().parents[2]


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if values.get("name") and tag == "a":
            self.ids.add(str(values["name"]))
        for attribute in ("href", "src"):
            url = values.get(attribute)
            if url is not None:
                self.links.append((tag, url))


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(errors="replace"))
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    processes.run(sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", out, cwd=ROOT)
    return out


def nav_pages() -> list[str]:
    """The Markdown files mkdocs.yml's ``nav`` lists (its own indented ``- Title: x.md``)."""
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text[text.index("\nnav:\n") :]
    return re.findall(r"^  - .+?:\s*(\S+\.md)\s*$", nav, re.MULTILINE)


def test_every_page_is_in_the_navigation_and_built(site: Path) -> None:
    listed = nav_pages()
    assert sorted(listed) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    built = [site / f"{md[:-3]}.html" for md in listed]  # use_directory_urls: false
    assert [page for page in built if not page.exists()] == []


def test_every_internal_link_resolves(site: Path) -> None:
    pages = {path: parse(path) for path in site.rglob("*.html")}
    assert set(pages) >= {site / f"{md[:-3]}.html" for md in nav_pages()}
    broken = []
    for path, page in pages.items():
        for _, url in page.links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//") or not (parts.path or parts.fragment):
                continue
            if parts.path.startswith("/"):  # 404.html: rooted at site_url's path, "/"
                target = site / unquote(parts.path).lstrip("/")
            elif parts.path:
                target = (path.parent / unquote(parts.path)).resolve()
            else:
                target = path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{path.relative_to(site)}: {url} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(site)}: {url} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(sorted(set(broken)))


def test_scripts_styles_and_images_come_from_the_site(site: Path) -> None:
    external = set()
    for path in site.rglob("*.html"):
        for tag, url in parse(path).links:
            loads = tag in {"script", "img"} or (tag == "link" and url.endswith(".css"))
            if loads and (urlsplit(url).scheme or url.startswith("//")):
                external.add(f"{path.relative_to(site)}: <{tag}> {url}")
    assert not external, "the site would need the internet:\n" + "\n".join(sorted(external))


def test_the_reference_pages_are_generated(site: Path) -> None:
    http = (site / "http-reference.html").read_text()
    for operation in ("product_list", "product_create", "auth_token_obtain", "category_list"):
        assert f'id="{operation}"' in http
    python = (site / "reference.html").read_text()
    for name in ("create_api", "register_exception_handlers", "Settings", "check_jwt"):
        assert name in python
    assert "mermaid-11.17.2.min.js" in (site / "architecture.html").read_text()
