"""The office's report pages for leaders and auditors: timeliness per stage, person and sub-directory.

``/reports/timeliness?from=DATE&to=DATE`` shows the same charts and tables as
``gongkai report timeliness --format html``; ``&format=csv|xlsx|html`` downloads the file. Leaders
(the assessment, 考核), auditors and administrators see it; anyone else gets the 403 page and a
security log row. A date that is not a date, or a period that runs backwards, is said next to the
form and nothing is counted.
"""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response

from workflow.core.errors import GongkaiError, InvalidInput
from workflow.reports.timeliness import check_period
from workflow.reports.timeliness_formats import check_format, html_body, render
from workflow.reports.timeliness_source import timeliness_report
from workflow.web.access import REPORT_ROLES
from workflow.web.shell import WebShell

DOWNLOADS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


class ReportPages:
    def __init__(self, shell: WebShell) -> None:
        self.shell = shell

    def timeliness(self, request: Request) -> Response:
        shell = self.shell
        with shell.read() as conn:
            person = shell.signed_in(request, conn)
            shell.require(request, person, REPORT_ROLES)
        lang = shell.lang(request)
        params = request.query_params
        today = shell.engine.today()
        typed = {
            "from": params.get("from") or today.replace(month=1, day=1).isoformat(),
            "to": params.get("to") or today.isoformat(),
        }
        try:
            start, end = _date(typed["from"]), _date(typed["to"])
            check_period(start, end)
            fmt = params.get("format")
            if fmt is not None:
                check_format(fmt)
                if fmt not in DOWNLOADS:
                    raise InvalidInput("report.bad_format", value=fmt, allowed=", ".join(DOWNLOADS))
        except GongkaiError as error:
            return shell.page(
                request, "reports_timeliness.html", status=400, typed=typed, error=error.render(lang), body=None
            )
        report = timeliness_report(shell.engine, start, end)
        catalog = shell.engine.registry.catalog()
        if fmt is not None:
            name = f"gongkai-timeliness-{start.isoformat()}-{end.isoformat()}.{fmt}"
            return Response(
                render(report, fmt, lang, catalog), media_type=DOWNLOADS[fmt],
                headers={"content-disposition": f'attachment; filename="{name}"'},
            )  # fmt: skip
        return shell.page(
            request, "reports_timeliness.html", typed=typed, error=None, body=html_body(report, lang, catalog),
            query=f"from={start.isoformat()}&to={end.isoformat()}",
        )  # fmt: skip


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("input.bad_date", value=value) from None
