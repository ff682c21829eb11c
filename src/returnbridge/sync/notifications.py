"""The digest: cases that need action within N hours, and syncs or store effects that failed or are held; sent by
e-mail (SMTP) and/or to a chat webhook (Slack-compatible ``{"text": ...}``) on a schedule, or by "Send test".

Notifying is never fatal: every attempt, per channel, is written to ``notification_log`` with its error, which the
notifications page shows; nothing here raises into the scheduler. Settings live in their own one-row table; the
SMTP password is encrypted at rest with the app's secret box and never shown back.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

import httpx

from returnbridge.db.engine import transaction
from returnbridge.db.repositories.notifications import DueCase, Failure, NotificationRepository
from returnbridge.errors import UserFacingError

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

SEND_TIMEOUT = 15.0


class InvalidNotificationSettings(UserFacingError):
    pass


@dataclass(frozen=True)
class SettingsView:
    enabled: bool
    smtp_host: str
    smtp_port: int
    smtp_user: str
    has_password: bool
    smtp_starttls: bool
    mail_from: str
    mail_to: str
    webhook_url: str
    every_hours: int
    due_within_hours: int
    last_sent_at: datetime | None


@dataclass(frozen=True)
class _Channels:
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_starttls: bool
    mail_from: str
    mail_to: list[str]
    webhook_url: str


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    due: int
    failures: int


@dataclass(frozen=True)
class SendResult:
    channel: str
    ok: bool
    detail: str


def _addresses(text: str) -> list[str]:
    return [address for _, address in getaddresses([text]) if address]


def read_settings(runtime: Runtime) -> SettingsView:
    with transaction(runtime.sessions) as session:
        s = NotificationRepository(session).settings()
        return SettingsView(s.enabled, s.smtp_host, s.smtp_port, s.smtp_user, bool(s.smtp_password_encrypted),
                            s.smtp_starttls, s.mail_from, s.mail_to, s.webhook_url, s.every_hours,
                            s.due_within_hours, s.last_sent_at)


def _number(data: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    raw = str(data.get(name, "") or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidNotificationSettings(f"{name.replace('_', ' ')} must be a whole number from {low} to {high}")
    return int(raw)


def save_settings(runtime: Runtime, data: dict[str, Any]) -> SettingsView:
    """Store the settings from a form or JSON. An empty ``smtp_password`` keeps the stored one (the form never shows
    it); ``clear_password`` removes it."""
    host = str(data.get("smtp_host", "")).strip()
    mail_to = str(data.get("mail_to", "")).strip()
    mail_from = str(data.get("mail_from", "")).strip()
    webhook = str(data.get("webhook_url", "")).strip()
    if host and not (_addresses(mail_to) and _addresses(mail_from)):
        raise InvalidNotificationSettings("e-mail needs a sender (from) and at least one recipient (to)")
    if webhook and not webhook.startswith(("https://", "http://")):
        raise InvalidNotificationSettings("the chat webhook URL must start with https:// (or http:// on a LAN)")
    port = _number(data, "smtp_port", 1, 65535, 587)
    every = _number(data, "every_hours", 1, 24 * 7, 24)
    within = _number(data, "due_within_hours", 1, 24 * 14, 24)
    with transaction(runtime.sessions) as session:
        s = NotificationRepository(session).settings(for_update=True)
        s.enabled = str(data.get("enabled", "")).lower() in ("1", "true", "on", "yes")
        s.smtp_host, s.smtp_port, s.smtp_user = host, port, str(data.get("smtp_user", "")).strip()
        password = str(data.get("smtp_password", "") or "")
        if password:
            s.smtp_password_encrypted = runtime.box.encrypt(password)
        elif str(data.get("clear_password", "")).lower() in ("1", "true", "on", "yes"):
            s.smtp_password_encrypted = ""
        s.smtp_starttls = str(data.get("smtp_starttls", "")).lower() in ("1", "true", "on", "yes")
        s.mail_from, s.mail_to, s.webhook_url = mail_from, mail_to, webhook
        s.every_hours, s.due_within_hours = every, within
    return read_settings(runtime)


def _channels(runtime: Runtime) -> tuple[_Channels, int]:
    with transaction(runtime.sessions) as session:
        s = NotificationRepository(session).settings()
        password = runtime.box.decrypt(s.smtp_password_encrypted) if s.smtp_password_encrypted else ""
        return _Channels(s.smtp_host, s.smtp_port, s.smtp_user, password, s.smtp_starttls, s.mail_from,
                         _addresses(s.mail_to), s.webhook_url), s.due_within_hours


# --- the digest ------------------------------------------------------------------------------------------------


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "no deadline"
    left = moment - now
    hours = left.total_seconds() / 3600
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"overdue since {stamp}" if hours < 0 else f"due {stamp} (in {hours:.0f} h)"


def build_digest(runtime: Runtime, *, within_hours: int, now: datetime | None = None) -> Digest:
    now = now or datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        repo = NotificationRepository(session)
        due_count, due = repo.due_cases(now + timedelta(hours=within_hours))
        failures = repo.failures()
    return Digest(
        subject=f"ReturnBridge: {due_count} case(s) need action within {within_hours} h, "
                f"{len(failures)} sync problem(s)",
        text=_text(due_count, due, failures, within_hours, now, runtime.settings.public_url),
        due=due_count, failures=len(failures),
    )


def _text(due_count: int, due: list[DueCase], failures: list[Failure], within: int, now: datetime,
          public_url: str) -> str:
    lines = [f"Cases that need action within {within} hours: {due_count}"]
    for case in due:
        lines.append(f"- {case.account} · {case.type} {case.tiktok_id} · {case.status} · {_when(case.deadline, now)}")
    if due_count > len(due):
        lines.append(f"  … and {due_count - len(due)} more")
    lines.append("")
    lines.append(f"Failed or held syncs and store effects: {len(failures)}")
    for failure in failures:
        detail = failure.detail.splitlines()[0][:200] if failure.detail else ""
        lines.append(f"- {failure.what} · {failure.where}" + (f" · {detail}" if detail else ""))
    if public_url:
        lines += ["", f"Open the back-office: {public_url.rstrip('/')}/returns"]
    return "\n".join(lines)


# --- senders ---------------------------------------------------------------------------------------------------


def send_email(channels: _Channels, subject: str, text: str) -> None:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, channels.mail_from, ", ".join(channels.mail_to)
    message.set_content(text)
    with smtplib.SMTP(channels.smtp_host, channels.smtp_port, timeout=SEND_TIMEOUT) as smtp:
        smtp.ehlo()
        if channels.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if channels.smtp_user:
            smtp.login(channels.smtp_user, channels.smtp_password)
        smtp.send_message(message)


def send_webhook(url: str, text: str) -> None:
    answer = httpx.post(url, json={"text": text}, timeout=SEND_TIMEOUT)
    if answer.status_code >= 300:
        raise RuntimeError(f"the webhook answered HTTP {answer.status_code}: {answer.text[:200]}")


def _deliver(runtime: Runtime, subject: str, text: str, kind: str) -> list[SendResult]:
    channels, _ = _channels(runtime)
    results: list[SendResult] = []
    attempts: list[tuple[str, Any]] = []
    if channels.smtp_host:
        attempts.append(("email", lambda: send_email(channels, subject, text)))
    if channels.webhook_url:
        attempts.append(("webhook", lambda: send_webhook(channels.webhook_url, f"*{subject}*\n{text}")))
    if not attempts:
        results.append(SendResult("none", False, "no channel is set up: add SMTP settings or a chat webhook URL"))
    for channel, send in attempts:
        try:
            send()
        except Exception as error:  # any failure is logged and shown, never raised into the scheduler
            log.warning("notification by %s failed: %s", channel, error)
            results.append(SendResult(channel, False, f"{type(error).__name__}: {error}"))
        else:
            results.append(SendResult(channel, True, "sent"))
    with transaction(runtime.sessions) as session:
        repo = NotificationRepository(session)
        for result in results:
            repo.log(result.channel, kind, result.ok, result.detail)
    return results


def send_test(runtime: Runtime) -> list[SendResult]:
    """The "Send test" button: the current digest, marked as a test, to every channel set up."""
    _, within = _channels(runtime)
    digest = build_digest(runtime, within_hours=within)
    return _deliver(runtime, f"[test] {digest.subject}", digest.text, "test")


def send_digest_if_due(runtime: Runtime, *, now: datetime | None = None) -> list[SendResult] | None:
    """The periodic job: sends when switched on and ``every_hours`` have passed since the last digest; None when
    not due. The time is claimed first, so two schedulers racing send one digest."""
    now = now or datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        s = NotificationRepository(session).settings(for_update=True)
        if not s.enabled or (s.last_sent_at is not None and now - s.last_sent_at < timedelta(hours=s.every_hours)):
            return None
        s.last_sent_at = now
        within = s.due_within_hours
    digest = build_digest(runtime, within_hours=within, now=now)
    return _deliver(runtime, digest.subject, digest.text, "digest")


def recent_log(runtime: Runtime, limit: int = 30) -> list[dict[str, Any]]:
    with transaction(runtime.sessions) as session:
        return [{"at": e.at, "channel": e.channel, "kind": e.kind, "ok": e.ok, "detail": e.detail}
                for e in NotificationRepository(session).recent_log(limit)]
