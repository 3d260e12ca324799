"""Helpers for the site tests: a builder over the test engine, items published through the engine, and
readers of the built pages."""

from __future__ import annotations

import html.parser
from collections.abc import Callable
from pathlib import Path

from tests.conftest import DEFINITIONS
from workflow.core.attachments import Upload
from workflow.engine import WorkflowEngine
from workflow.publishing.site import SiteBuilder, SiteConfig
from workflow.publishing.site.build import Progress

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def builder_for(
    engine: WorkflowEngine, site_dir: Path, *, lang: str = "zh", progress: Progress | None = None
) -> SiteBuilder:
    config = SiteConfig(
        site_dir=site_dir, office=engine.registry.office(), catalog=engine.registry.catalog(), lang=lang,
        zone=engine.zone, definitions_dir=DEFINITIONS,
    )  # fmt: skip
    return SiteBuilder(engine.db, config, engine.files, clock=engine.clock, progress=progress)


def publish(
    engine: WorkflowEngine,
    make_item: Callable[..., int],
    *,
    files: tuple[tuple[str, bytes], ...] = (),
    **kwargs: object,
) -> int:
    """An item created, cleared and signed off (published at the engine's clock)."""
    item_id = make_item(**kwargs)
    if files:
        import io

        engine.attach(item_id, "drafter_a", [Upload(name, io.BytesIO(content)) for name, content in files])
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "sign_off", "leader_a")
    return item_id


class Page(html.parser.HTMLParser):
    """A page read with the standard library's parser: its links, headings, labels, text, and whether every
    element it opened was closed in order."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.headings: list[int] = []
        self.labels: set[str] = set()
        self.inputs: list[str | None] = []
        self.html_attrs: dict[str, str | None] = {}
        self.title = ""
        self.texts: list[str] = []
        self.landmarks: set[str] = set()
        self.images_without_alt = 0
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_attrs = values
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "link" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "script" and values.get("src"):
            self.links.append(str(values["src"]))
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        if tag == "label" and values.get("for"):
            self.labels.add(str(values["for"]))
        if tag == "input" and values.get("type") != "hidden":
            self.inputs.append(values.get("id"))
        if tag == "img" and "alt" not in values:
            self.images_without_alt += 1
        if tag in ("main", "nav", "header", "footer"):
            self.landmarks.add(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]} ")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "title":
            self.title += data
        if data.strip():
            self.texts.append(data.strip())

    @property
    def text(self) -> str:
        return " ".join(self.texts)


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def site_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
