"""The office's background worker: reminders, escalations and email delivery on a schedule.

    python run_worker.py                  # every GONGKAI_WORKER_INTERVAL seconds (default 60)
    python run_worker.py --once           # one pass now, then exit (for cron)
    python run_worker.py --once --at 2026-03-09T09:00+08:00   # one pass as of that moment
    python run_worker.py --once --dry-run # print what it would send; change nothing

APScheduler is only the local clock: every pass claims its work in the database, so a pass
that runs twice, or in several workers on PostgreSQL, does each thing once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
from types import FrameType

from notifications.notices import Notifier
from notifications.settings import MailSettings, transport_for
from workflow.clock import fixed, utc_now
from workflow.core.errors import GongkaiError, render_error
from workflow.publishing.channels.registry import channels
from workflow.settings import Settings
from workflow.wiring import link_signer, open_engine
from workflow.worker.passes import Worker

log = logging.getLogger("gongkai.worker")


def parse_at(text: str, zone: str) -> dt.datetime:
    """An ISO date-time; without a zone it is the office's time."""
    from zoneinfo import ZoneInfo

    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"--at: '{text}' is not an ISO date-time (e.g. 2026-03-09T09:00+08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    parser.add_argument("--at", help="with --once: the moment the pass runs as of (ISO date-time)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent; change nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.at and not args.once:
        parser.error("--at goes with --once")
    try:
        settings = Settings.from_env()
    except GongkaiError as error:
        print(render_error(error, Settings.lang_for_errors()), file=sys.stderr)
        return error.exit_code
    try:
        at = parse_at(args.at, settings.timezone) if args.at else None
        worker = build_worker(settings, MailSettings.from_env(), at=at, dry_run=args.dry_run)
    except GongkaiError as error:
        print(render_error(error, settings.lang), file=sys.stderr)
        return error.exit_code
    try:
        if args.once:
            report = worker.run_pass(worker.engine.clock())
            for line in report.would:
                print(line)
            return 0
        return run_forever(worker, settings.worker_interval)
    except GongkaiError as error:
        print(render_error(error, settings.lang), file=sys.stderr)
        return error.exit_code
    finally:
        if not args.dry_run:
            worker.release()


def build_worker(
    settings: Settings, mail: MailSettings, *, at: dt.datetime | None = None, dry_run: bool = False
) -> Worker:
    """The worker as configured; with ``at``, its engine's clock reads that moment (one pass ``--at``)."""
    engine = open_engine(settings, mail=mail, clock=fixed(at) if at is not None else utc_now)
    notifier = Notifier(mail, settings.lang, signer=link_signer(settings))
    return Worker(
        engine, notifier, lambda: transport_for(mail), dry_run=dry_run,
        security_log_days=settings.security_log_days, link_days=settings.action_link_days,
        channels=channels(engine, settings), compliance_check=settings.compliance_check,
        anchor_file=settings.anchor_file, batch=settings.worker_batch,
        budget_seconds=settings.worker_budget_seconds,
    )  # fmt: skip


def run_forever(worker: Worker, interval: int) -> int:
    """A pass every ``interval`` seconds (``GONGKAI_WORKER_INTERVAL``) until SIGTERM or Ctrl-C."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        lambda: worker.run_pass(worker.engine.clock()),
        "interval",
        seconds=interval,
        next_run_time=dt.datetime.now(dt.UTC),
        coalesce=True,  # a worker that was down runs one catch-up pass, not one per missed tick
        misfire_grace_time=interval * 10,
        max_instances=1,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the pass in hand", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker %s: a pass every %d s", worker.owner, interval)
    scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
