"""The words on the pages, in Chinese (default) and English."""

from __future__ import annotations

from typing import Any

TEXT: dict[str, tuple[str, str]] = {
    "app": ("政务公开办理", "Disclosure workflow"),
    "skip": ("跳到主要内容", "Skip to main content"),
    "inbox": ("我的待办", "My inbox"),
    "audit": ("审计日志", "Audit log"),
    "outbox": ("邮件发件箱", "Outbox"),
    "signin": ("登录", "Sign in"),
    "signout": ("退出", "Sign out"),
    "signed_in_as": ("当前用户: {name}", "Signed in as {name}"),
    "large_on": ("大字模式", "Large text"),
    "large_off": ("标准字号", "Standard text"),
    "lang_switch": ("English", "中文"),
    "prefs": ("显示设置", "Display settings"),
    # sign-in
    "signin_title": ("用邮件链接登录", "Sign in with an email link"),
    "signin_intro": (
        "输入您在本机关登记的电子邮箱, 我们会发送一个一次性登录链接, 30 分钟内有效。无需密码。",
        "Enter the email address the office has for you; we send a one-time sign-in link, valid for 30 minutes."
        " No password.",
    ),
    "email": ("电子邮箱", "Email address"),
    "send_link": ("发送登录链接", "Send the sign-in link"),
    "signin_sent_title": ("请查收邮件", "Check your email"),
    "signin_sent": (
        "如果 {email} 是本机关登记的邮箱, 一分钟内会收到登录链接。",
        "If {email} is registered with the office, a sign-in link arrives within a minute.",
    ),
    "signin_throttled": (
        "登录请求过于频繁, 请 15 分钟后再试。",
        "Too many sign-in requests; please try again in 15 minutes.",
    ),
    "signin_bad_email": ("请输入有效的电子邮箱。", "Please enter a valid email address."),
    "signin_confirm_title": ("确认登录", "Confirm sign-in"),
    "signin_confirm": ("以 {name} 的身份登录本系统。", "Sign in as {name}."),
    "signin_button": ("登录", "Sign in"),
    "signin_mail_subject": ("【政务公开】登录链接", "[gongkai] Your sign-in link"),
    "signin_mail_body": (
        "{name}，您好：\n\n请打开以下链接登录（30 分钟内有效，只能使用一次）：\n{url}\n\n"
        "如果不是您本人申请，请忽略本邮件。",
        "Hello {name},\n\nOpen this link to sign in (valid for 30 minutes, once):\n{url}\n\n"
        "If you did not ask for it, ignore this email.",
    ),
    # inbox
    "inbox_empty": ("目前没有等待您办理的事项。", "Nothing is waiting for you."),
    "inbox_count": ("共 {count} 项待办, 其中 {overdue} 项已逾期", "{count} items waiting, {overdue} overdue"),
    "reference": ("编号", "Reference"),
    "title": ("标题", "Title"),
    "chain": ("流程", "Chain"),
    "state": ("当前环节", "State"),
    "due": ("截止日期", "Due"),
    "days_left": ("剩余工作日", "Working days left"),
    "overdue_by": ("已逾期 {days} 个工作日", "{days} working days overdue"),
    "left": ("还剩 {days} 个工作日", "{days} working days left"),
    "due_today": ("今天到期", "due today"),
    "no_due": ("无", "none"),
    # item
    "fields": ("字段", "Fields"),
    "deadlines": ("期限", "Deadlines"),
    "deadline_met": ("已按期完成", "met"),
    "deadline_met_late": ("逾期完成", "met late"),
    "deadline_running": ("进行中", "running"),
    "deadline_paused": ("暂停计时", "paused"),
    "deadline_suspended": ("中止 (待补正)", "suspended (awaiting correction)"),
    "deadline_not_started": ("未开始", "not started"),
    "paused_days": ("暂停 {days} 个工作日", "paused {days} working days"),
    "body": ("正文", "Body"),
    "body_hidden": (
        "正文在公开前仅承办人、审查人和签发领导可见。",
        "Before publication only the drafter, the reviewers and the leader see the body.",
    ),
    "revisions": ("修订记录", "Revisions"),
    "revision": ("第 {n} 稿", "Revision {n}"),
    "changes": ("正文修改情况", "What changed in the body"),
    "changes_since": (
        "自 {who} 于 {when} {action}以来的修改:",
        "Changes since {who} decided ({action}) at {when}:",
    ),
    "unchanged_since": (
        "自 {who} 于 {when} 办理以来, 正文没有修改。",
        "The body has not changed since {who} decided at {when}.",
    ),
    "changes_since_revision": ("与第 {n} 稿相比的修改:", "Changes since revision {n}:"),
    "no_changes": ("正文没有修改。", "The body did not change."),
    "first_revision": ("第一次送达此环节, 全文如下:", "First time at this step; the whole body:"),
    "history": ("办理经过", "History"),
    "when": ("时间", "When"),
    "who": ("办理人", "Who"),
    "action": ("操作", "Action"),
    "from_to": ("环节", "Step"),
    "comment": ("意见", "Comment"),
    "comment_required": ("意见 (必填)", "Comment (required)"),
    "your_actions": ("您可以办理", "What you may do"),
    "read_only": ("您只能查看此事项。", "You may only read this item."),
    "on_behalf": ("代 {name}", "for {name}"),
    # action links
    "confirm_title": ("确认办理: {action}", "Confirm: {action}"),
    "confirm_intro": (
        "请核对以下信息, 然后按下按钮。打开此页面不会做任何操作。",
        "Check the item below, then press the button. Opening this page did nothing.",
    ),
    "confirm_as": ("办理人: {name}", "Acting as: {name}"),
    "done_title": ("已办理", "Done"),
    "done": (
        "{reference}: {action} 已完成, 事项转入“{state}”。",
        "{reference}: {action} done; the item is now in “{state}”.",
    ),
    "view_item": ("查看事项", "View the item"),
    "refused_title": ("链接无法使用", "This link cannot be used"),
    "refused_expired": (
        "此链接已过期 (有效期 7 天)。请登录后在事项页面办理。",
        "This link has expired (links last 7 days). Sign in and act from the item page.",
    ),
    "refused_invalid": (
        "此链接无效: 可能被改动或不完整。请使用邮件中的原始链接。",
        "This link is not valid: it was altered or cut short. Use the link exactly as emailed.",
    ),
    "refused_used": ("此链接已经使用过, 每个链接只能使用一次。", "This link was used already; each link works once."),
    "refused_other_user": (
        "此链接是发给 {owner} 的, 您当前以 {name} 的身份登录。",
        "This link was sent to {owner}; you are signed in as {name}.",
    ),
    "refused_inactive": ("此链接的收件人已停用。", "The person this link was sent to is no longer active."),
    "stale_title": ("事项已有变化", "The item has moved on"),
    "stale": (
        "{reference} 已由 {actor} 于 {at} 办理 ({action}), 此链接不再有效, 未做任何更改。",
        "{reference} was acted on by {actor} at {at} ({action}); this link no longer applies and changed nothing.",
    ),
    "not_allowed_now": ("您现在不能办理此操作: {reason}", "You may not do this now: {reason}"),
    "csrf_refused": (
        "表单已失效, 请返回并刷新页面后重试。未做任何更改。",
        "The form expired; go back, reload the page and try again. Nothing was changed.",
    ),
    # audit and outbox
    "audit_filters": ("筛选", "Filter"),
    "item": ("事项", "Item"),
    "person": ("人员", "Person"),
    "trigger": ("操作", "Action"),
    "since": ("起始日期", "From"),
    "until": ("截止日期", "Until"),
    "apply": ("筛选", "Apply"),
    "csv": ("下载 CSV", "Download CSV"),
    "audit_none": ("没有符合条件的记录。", "No entries match."),
    "audit_shown": ("显示最近 {count} 条", "Showing the latest {count}"),
    "outbox_none": ("没有待发送或发送失败的邮件。", "No pending or failed messages."),
    "recipient": ("收件人", "Recipient"),
    "subject": ("主题", "Subject"),
    "status": ("状态", "Status"),
    "attempts": ("尝试次数", "Attempts"),
    "last_error": ("最近错误", "Last error"),
    "retry": ("重新发送", "Retry"),
    "requeued": ("邮件 #{id} 已重新排队。", "Message #{id} queued again."),
    "forbidden": ("您没有查看此页面的权限。", "You may not see this page."),
    "not_found": ("找不到此页面或事项。", "No such page or item."),
    "status_pending": ("待发送", "pending"),
    "status_sending": ("发送中", "sending"),
    "status_failed": ("失败", "failed"),
    "status_sent": ("已发送", "sent"),
    "status_skipped": ("未发送 (已过时)", "skipped (obsolete)"),
    "back_inbox": ("返回待办", "Back to the inbox"),
    # the database could not do it
    "busy_title": ("系统繁忙，请稍后再试", "Busy, please try again"),
    "busy": (
        "其他操作正在写入数据, 您的操作没有执行, 未做任何更改。请过几秒钟后返回上一页重新提交。",
        "Another change was being written, so yours was not made and nothing changed."
        " Wait a few seconds, go back and send it again.",
    ),
    "race_title": ("他人同时操作", "Someone else acted at the same time"),
    "race": (
        "他人同时进行了相同的操作, 您的操作没有执行, 未做任何更改。请返回并刷新页面。",
        "Someone else did the same at the same moment, so yours was not made and nothing changed."
        " Go back and reload the page.",
    ),
    "unusable_title": ("系统暂时无法使用", "The system cannot be used right now"),
    "unusable": (
        "数据库暂时无法使用, 未做任何更改。此问题已记录, 请稍后再试或联系管理员。",
        "The database cannot be used right now; nothing was changed. The problem was logged:"
        " try again later or tell the administrator.",
    ),
}


def translate(key: str, lang: str, **params: Any) -> str:
    zh, en = TEXT[key]
    text = en if lang == "en" else zh
    return text.format(**params) if params else text
