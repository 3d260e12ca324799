"""公开预览 in the office's pages: the item as the public would see it, before it is signed off.

The item page and the confirmation page of a decision that publishes (``sign_off``, ``schedule``) embed
the public page's article; ``/items/{ref}/preview`` shows the whole public page with the site's own
stylesheet (served at ``/public-assets/``). All three come from the site's item renderer.
"""

from __future__ import annotations

from dataclasses import replace

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from workflow.core.definition import Definition
from workflow.publishing.site import SiteRenderer, site_config
from workflow.publishing.site.preview import leads_to_publication, preview_page, previewable, would_be
from workflow.publishing.site.render import STATIC
from workflow.settings import Settings
from workflow.store.hot import ItemRow
from workflow.web.access import may_read_body
from workflow.web.shell import WebShell

ASSETS_PATH = "/public-assets"
ASSETS_FOLDER = STATIC
STYLESHEET = f"{ASSETS_PATH}/site.css"


class PreviewPages:
    def __init__(self, shell: WebShell, settings: Settings) -> None:
        self.shell = shell
        self.settings = settings
        self._renderers: dict[str, SiteRenderer] = {}

    def renderer(self, lang: str) -> SiteRenderer:
        if lang not in self._renderers:
            # The office's facts in the reader's language.
            self._renderers[lang] = SiteRenderer(replace(site_config(self.settings, self.shell.engine), lang=lang))
        return self._renderers[lang]

    def section(
        self, request: Request, row: ItemRow, definition: Definition, readable: bool, *, dest: str | None = None,
        decision: bool = False,
    ) -> Markup | None:  # fmt: skip
        """The preview to embed, or None: the body is not the reader's to see, the item is past publication,
        or (``decision``) the decision confirmed does not publish."""
        if not readable or not previewable(definition, row.state):
            return None
        if decision and not leads_to_publication(dest):
            return None
        item = would_be(self.shell.engine, row.id)
        return self.renderer(self.shell.lang(request)).item_article(item, level=3)

    def page(self, request: Request) -> Response:
        """GET /items/{ref}/preview: the whole public page, for whoever may read the item's body."""
        with self.shell.read() as conn:
            person = self.shell.signed_in(request, conn)
            row, definition = self.shell.visible_item(request, conn, person, request.path_params["ref"])
        if not may_read_body(person, definition, row.holders, row.state) or not previewable(definition, row.state):
            raise self.shell.stop(request, 404, self.shell.tr(request)._("No such page or item."))
        item = would_be(self.shell.engine, row.id)
        return HTMLResponse(preview_page(self.renderer(self.shell.lang(request)), item, stylesheet=STYLESHEET))
