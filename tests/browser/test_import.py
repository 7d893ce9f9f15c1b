"""A unit contact imports a registration file in the browser: progress, then the report."""

from __future__ import annotations

import os
from io import BytesIO

from openpyxl import Workbook
from playwright.sync_api import Page, expect

from compete.domain.idnumber import mask_id_number, with_check_digit


def _file(tmp_path) -> str:
    wb = Workbook()
    ws = wb.active
    ws.title = "报名表"
    ws.append(["姓名", "证件号码", "手机号码"])
    good = with_check_digit("44010619950307123")
    ws.append(["新选手", good, "13800138000"])
    ws.append(["错号码", good[:-1] + ("0" if good[-1] != "0" else "1"), "13800138001"])
    path = tmp_path / "entries.xlsx"
    out = BytesIO()
    wb.save(out)
    path.write_bytes(out.getvalue())
    return str(path), good


def test_a_bad_file_shows_every_bad_row_and_saves_nothing(
    page: Page, live_server, live_env, tmp_path, shot
):
    path, good = _file(tmp_path)
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("unit")
    page.get_by_label("密码").fill(
        os.environ.get("COMPETE_DEMO_PASSWORD", "") or live_env["COMPETE_DEMO_PASSWORD"]
    )
    page.get_by_role("button", name="登录", exact=True).last.click()
    page.goto(live_server + "/")
    page.locator("main").get_by_role("link", name="广州市技师学院", exact=True).click()
    row = page.locator("tr", has_text="焊工（学生组）")
    row.locator("summary").click()
    row.locator("input[type=file]").set_input_files(path)
    row.get_by_role("button", name="导入").click()
    table = page.locator("#problems")
    expect(table).to_be_visible(timeout=15000)
    shot(page, "import-report")
    text = table.inner_text()
    assert "3" in text  # the row with the wrong check digit is named
    assert good[:-1] not in page.content()  # ID numbers in the report are masked
    assert mask_id_number(good)[:4] in page.content() or "校验码" in text
