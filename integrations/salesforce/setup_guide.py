"""The admin setup guide the portal serves: ``salesforce/README.md`` as HTML, and the package
it deploys as a ZIP, so customer pages link here instead of naming repository paths or CLI
commands.

- ``guide()``: the README rendered server-side (CommonMark + tables, raw HTML off), then
  sanitised with nh3 to a small allow-list; headings get ids so pages can link to a step.
  The "For developers" section is for this repository's developers and is left out.
- ``package_zip()``: the deployable folder (``sfdx-project.json``, ``force-app/``,
  ``manifest/``, the README) as ``salesforce/…`` in a ZIP, the folder the guide's commands
  run from.

Both are cached by the files' modification times.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nh3
from django.conf import settings
from django.utils.text import slugify
from markdown_it import MarkdownIt

PACKAGE_DIR = Path(settings.BASE_DIR) / "salesforce"
README = PACKAGE_DIR / "README.md"
# What the deploy needs; the validation scripts and local CLI install stay out.
PACKAGE_PARTS = ("README.md", "sfdx-project.json", "force-app", "manifest")
DEVELOPER_SECTION = re.compile(r"^## For developers\b.*", re.MULTILINE | re.DOTALL)
# Anchors for the steps customer pages link to.
DEPLOY_ANCHOR = "1-deploy"
PERMISSION_SETS_ANCHOR = "2-assign-the-permission-sets"

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "a",
    "table", "thead", "tbody", "tr", "th", "td", "blockquote", "hr", "br",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "ol": {"start"}}


@dataclass(frozen=True)
class Guide:
    title: str
    html: str  # sanitised
    sections: tuple[tuple[str, str], ...]  # (anchor, heading text) of each h2


def _heading_ids(md: MarkdownIt, sections: list) -> None:
    """Give every heading an id from its text (made unique), recording the h2s."""
    seen: dict[str, int] = {}

    def rule(state):
        tokens = state.tokens
        for i, tok in enumerate(tokens):
            if tok.type != "heading_open":
                continue
            text = tokens[i + 1].content
            anchor = slugify(text) or "section"
            seen[anchor] = seen.get(anchor, 0) + 1
            if seen[anchor] > 1:
                anchor = f"{anchor}-{seen[anchor]}"
            tok.attrSet("id", anchor)
            if tok.tag == "h2":
                sections.append((anchor, text))

    md.core.ruler.push("heading_ids", rule)


def render(text: str) -> Guide:
    """Markdown → a sanitised ``Guide`` (raw HTML in the source is shown as text)."""
    text = DEVELOPER_SECTION.sub("", text)
    first = re.search(r"^# (.+)$", text, re.MULTILINE)
    if first:  # the page's own <h1>
        text = text[: first.start()] + text[first.end():]
    sections: list = []
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    _heading_ids(md, sections)
    html = md.render(text)
    clean = nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"}, link_rel="noopener noreferrer",
    )
    # A wide table scrolls inside its own box on a phone (added after sanitising: our markup).
    clean = clean.replace("<table>", '<div class="table-scroll"><table>').replace("</table>", "</table></div>")
    return Guide(title=first.group(1).strip() if first else "Setup guide", html=clean, sections=tuple(sections))


@lru_cache(maxsize=4)
def _guide_cached(path: str, mtime: float) -> Guide:
    return render(Path(path).read_text(encoding="utf-8"))


def guide() -> Guide:
    return _guide_cached(str(README), README.stat().st_mtime)


def _package_files() -> list[Path]:
    files = []
    for part in PACKAGE_PARTS:
        path = PACKAGE_DIR / part
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


@lru_cache(maxsize=4)
def _zip_cached(stamp: tuple) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _package_files():
            archive.write(path, Path("salesforce") / path.relative_to(PACKAGE_DIR))
    return buffer.getvalue()


def package_zip() -> bytes:
    """The deployable package as a ZIP (rebuilt when a file changes)."""
    return _zip_cached(tuple((str(p), p.stat().st_mtime) for p in _package_files()))
