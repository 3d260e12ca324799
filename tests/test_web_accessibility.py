"""The pages' colours meet WCAG AA contrast (4.5:1 for text), in the stylesheet the pages use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import save_screenshot

CSS = Path(__file__).resolve().parent.parent / "workflow" / "web" / "static" / "gongkai.css"


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def variables() -> dict[str, str]:
    return dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text(encoding="utf-8")))


def rule(selector: str) -> str:
    found = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", CSS.read_text(encoding="utf-8"))
    assert found, selector
    return found.group(1)


def colour(declarations: str, name: str, palette: dict[str, str]) -> str:
    found = re.search(rf"(?<![-\w]){name}:\s*(#[0-9a-fA-F]{{6}}|var\(--[a-z]+\))", declarations)
    assert found, (name, declarations)
    value = found.group(1)
    return palette[value[6:-1]] if value.startswith("var(") else value


@pytest.mark.parametrize(
    ("foreground", "background"),
    [("fg", "bg"), ("muted", "bg"), ("accent", "bg"), ("late", "bg")],
)
def test_text_colours_on_the_page(foreground: str, background: str) -> None:
    palette = variables()
    assert contrast(palette[foreground], palette[background]) >= 4.5


@pytest.mark.parametrize(
    ("selector", "text_from"),
    [
        (".diff ins", "self"),
        (".diff del", "self"),
        ("button.primary", "self"),
        (".error", "late"),
        (".message", "fg"),
        ("table.list th", "fg"),
    ],
)
def test_text_on_coloured_backgrounds(selector: str, text_from: str) -> None:
    palette = variables()
    declarations = rule(selector)
    background = colour(declarations, "background", palette)
    foreground = colour(declarations, "color", palette) if text_from == "self" else palette[text_from]
    assert contrast(foreground, background) >= 4.5, (selector, foreground, background)


def test_large_text_mode_enlarges_everything() -> None:
    base = float(re.search(r":root\s*\{[^}]*font-size:\s*(\d+)px", CSS.read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]
    large = float(re.search(r"html\.large\s*\{\s*font-size:\s*(\d+)px", CSS.read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]
    assert large / base >= 1.3


# ---- the attachment forms of the item page (workflow/web/files.py) ----------------------------------


def test_the_attachment_forms_are_labelled_and_their_error_is_tied_to_the_file_input(
    tmp_path: Path, engine: Any, settings: Any, clock: Any, make_item: Any
) -> None:
    from tests import sample_files as files
    from tests.web_support import make_web

    web = make_web(engine, settings, tmp_path / "mail", clock)
    item_id = make_item()
    ref = engine.show(item_id).reference
    web.sign_in("drafter_a")
    token = web.csrf(f"/items/{ref}")
    web.client.post(f"/items/{ref}/attach", data={"csrf": token}, files=[("files", ("照片.png", files.png()))])
    page = web.client.get(f"/items/{ref}").text
    section = page[
        page.index('aria-labelledby="attachments-h"') : page.index("</section>", page.index("attachments-h"))
    ]
    for control in re.findall(r'<input (?![^>]*type="hidden")[^>]*>', section):
        found = re.search(r'id="([^"]+)"', control)
        assert found and f'<label for="{found.group(1)}">' in section, control
    described = re.search(r'aria-describedby="([^"]+)"', section)
    assert described and all(f'id="{part}"' in section for part in described.group(1).split())
    assert re.search(r'<button type="submit">[^<]+<span class="visually-hidden"> 照片.png</span></button>', section)
    assert all('scope="col"' in th for th in re.findall(r"<th(?:\s[^>]*)?>", section))
    refused = web.client.post(
        f"/items/{ref}/attach", data={"csrf": token}, files=[("files", ("年度报告.pdf", files.windows_exe()))]
    )
    html = refused.text
    error = re.search(r'<p id="attach_files_error" class="error" role="alert">([^<]+)</p>', html)
    assert error and "年度报告.pdf" in error.group(1)
    tied = re.search(r'<input id="attach_files"[^>]*>', html)
    assert tied and 'aria-describedby="attach_files_help attach_files_error"' in tied.group(0)
    assert 'aria-invalid="true"' in tied.group(0) and "autofocus" in tied.group(0)
    assert '<label for="attach_files">' in html


@pytest.mark.usefixtures("browser")
def test_attaching_and_downloading_by_keyboard_in_the_browser(
    tmp_path: Path, engine: Any, settings: Any, clock: Any, make_item: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    from tests import sample_files as files
    from tests.web_support import free_port, make_web, serving
    from workflow.web.app import SESSION_COOKIE

    web = make_web(engine, settings, tmp_path / "mail", clock)
    item_id = make_item(title="预算公开")
    ref = engine.show(item_id).reference
    (tmp_path / "2026年预算表.xlsx").write_bytes(files.xlsx())
    (tmp_path / "年度报告.pdf").write_bytes(files.windows_exe())
    port = free_port()
    with serving(web.app.asgi(), port):
        base = f"http://127.0.0.1:{port}"
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": web.tokens.session("drafter_a"), "url": base}])
        page.goto(f"{base}/items/{ref}")

        def tab_to(predicate: str) -> None:
            for _ in range(60):
                page.keyboard.press("Tab")
                if page.evaluate(f"(() => {{ const e = document.activeElement; return !!e && ({predicate}); }})()"):
                    return
            raise AssertionError(f"cannot reach {predicate} with the keyboard")

        tab_to("e.id === 'attach_files'")
        page.locator("#attach_files").set_input_files(str(tmp_path / "2026年预算表.xlsx"))  # the file chooser
        tab_to("e.textContent.trim() === '上传附件'")
        page.keyboard.press("Enter")
        expect(page.locator("table.attachments")).to_contain_text("2026年预算表.xlsx")

        tab_to("e.id === 'attach_files'")
        page.locator("#attach_files").set_input_files(str(tmp_path / "年度报告.pdf"))
        tab_to("e.textContent.trim() === '上传附件'")
        page.keyboard.press("Enter")
        expect(page.locator("#attach_files_error")).to_contain_text("年度报告.pdf 是程序")
        assert page.evaluate("document.activeElement.id") == "attach_files"  # back at the input, error read out
        save_screenshot(page, f"attach-refused-{engine.db.dialect.name}")

        page.goto(f"{base}/items/{ref}")
        tab_to("e.textContent.trim() === '2026年预算表.xlsx'")
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        assert download.value.suggested_filename == "2026年预算表.xlsx"
        assert Path(download.value.path()).read_bytes() == (tmp_path / "2026年预算表.xlsx").read_bytes()
