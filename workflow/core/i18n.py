"""User-facing text: Chinese by default, English by setting. Keys are stable identifiers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow.core.errors import GongkaiError

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "error.generic": ("出错了", "Something went wrong"),
    "error.definition": ("流程定义有 {count} 处错误", "{count} problems in the definitions"),
    "error.not_allowed": ("规则不允许此操作", "A rule refuses this"),
    "error.not_permitted": ("无权执行此操作", "Not permitted"),
    "error.conflict": ("他人已先行操作", "Someone else acted first"),
    "error.busy": ("系统繁忙，请稍后再试", "Busy, please try again"),
    "error.not_found": ("找不到", "Not found"),
    "error.invalid_input": ("输入有误", "Invalid input"),
    "error.configuration": ("配置有误", "Configuration error"),
    "error.calendar": ("工作日历缺少数据", "The working-day calendar has no data"),
    "error.audit": ("审计链校验失败", "The audit chain does not verify"),
    # definitions
    "definition.bad_yaml": ("YAML 格式错误: {detail}", "bad YAML: {detail}"),
    "definition.unreadable": ("无法读取文件: {detail}", "cannot read the file: {detail}"),
    "definition.duplicate_key": ("键 '{key}' 重复出现", "key '{key}' appears twice"),
    "definition.not_mapping": ("定义必须是一个映射 (键: 值)", "a definition must be a mapping (key: value)"),
    "definition.not_mapping_key": ("'{key}' 必须是映射 (键: 值)", "'{key}' must be a mapping (key: value)"),
    "definition.not_list": ("'{key}' 必须是非空列表", "'{key}' must be a non-empty list"),
    "definition.not_bool": ("'{key}' 必须是 true 或 false", "'{key}' must be true or false"),
    "definition.unknown_key": ("未知的键 '{key}' (可用: {allowed})", "unknown key '{key}' (allowed: {allowed})"),
    "definition.missing_key": ("缺少必需的键 '{key}'", "missing required key '{key}'"),
    "definition.bad_name": (
        "名称 '{value}' 无效: 只能用小写字母、数字和下划线, 以字母开头",
        "invalid name '{value}': use lower-case letters, digits and underscores, starting with a letter",
    ),
    "definition.bad_label": (
        "label 必须同时有非空的 zh 和 en 两项",
        "label must have both zh and en, non-empty",
    ),
    "definition.bad_prefix": (
        "编号前缀 '{value}' 无效: 1 到 8 个大写字母",
        "invalid reference prefix '{value}': 1 to 8 capital letters",
    ),
    "definition.bad_field_type": (
        "字段 '{field}' 的 type 无效 (可用: {allowed})",
        "field '{field}' has an invalid type (allowed: {allowed})",
    ),
    "definition.bad_choices": (
        "字段 '{field}' 是 choice 类型, 需要非空的 choices 列表",
        "field '{field}' is a choice: it needs a non-empty list of choices",
    ),
    "definition.choices_not_choice": (
        "字段 '{field}' 不是 choice 类型, 不能有 choices",
        "field '{field}' is not a choice: it cannot have choices",
    ),
    "definition.unknown_state": ("未知的状态 '{state}'", "unknown state '{state}'"),
    "definition.unknown_role": ("未知的角色 '{role}'", "unknown role '{role}'"),
    "definition.unknown_trigger": ("未知的操作 '{trigger}'", "unknown trigger '{trigger}'"),
    "definition.unknown_guard": (
        "未知的条件 '{guard}' (可用: {allowed})",
        "unknown guard '{guard}' (allowed: {allowed})",
    ),
    "definition.bad_guard_shape": (
        "条件必须是名称, 或 '名称: 参数' 形式的单键映射",
        "a guard is a name, or a one-key mapping 'name: parameters'",
    ),
    "definition.duplicate_trigger": (
        "操作 '{trigger}' 在状态 '{state}' 已定义过 (第 {other} 行)",
        "trigger '{trigger}' is already declared from state '{state}' (line {other})",
    ),
    "definition.unreachable": (
        "状态 '{state}' 从初始状态无法到达",
        "state '{state}' cannot be reached from the initial state",
    ),
    "definition.dead_end": (
        "状态 '{state}' 不是终态, 却没有通往其他状态的操作",
        "state '{state}' is not terminal but has no transition to another state",
    ),
    "definition.terminal_has_exit": (
        "终态 '{state}' 不能再有操作",
        "terminal state '{state}' cannot have transitions out",
    ),
    "definition.initial_terminal": ("初始状态 '{state}' 不能是终态", "initial state '{state}' cannot be terminal"),
    "definition.bad_late_after": (
        "late_after 需要 from_field (日期字段) 和 working_days (正整数)",
        "late_after needs from_field (a date field) and working_days (a positive integer)",
    ),
    "definition.fires_at_field": (
        "fires_at '{field}' 必须是已声明的 datetime 字段",
        "fires_at '{field}' must be a declared datetime field",
    ),
    "definition.fires_at_guards": (
        "定时转换 (fires_at) 由后台任务执行, 不能带 guards",
        "a timed transition (fires_at) is fired by the worker and cannot have guards",
    ),
    "definition.fires_at_internal": (
        "定时转换 (fires_at) 必须有 dest",
        "a timed transition (fires_at) needs a dest",
    ),
    "definition.late_after_field": (
        "late_after 的 from_field '{field}' 必须是已声明的日期字段",
        "late_after's from_field '{field}' must be a declared date field",
    ),
    "definition.duplicate_name": (
        "流程名称 '{name}' 已被另一个文件使用",
        "definition name '{name}' is used by another file",
    ),
    "guard.takes_no_params": ("条件 '{guard}' 不带参数", "guard '{guard}' takes no parameters"),
    "guard.field_names": (
        "条件 '{guard}' 需要一个字段名或字段名列表",
        "guard '{guard}' needs a field name or a list of field names",
    ),
    "guard.unknown_field": (
        "条件 '{guard}' 引用了未声明的字段 '{field}'",
        "guard '{guard}' names undeclared field '{field}'",
    ),
    "guard.not_same_actor_as_shape": (
        "条件 '{guard}' 需要 roles 和/或 triggers 两个名称列表",
        "guard '{guard}' needs lists of names under roles and/or triggers",
    ),
    "guard.quorum_count": (
        "条件 '{guard}' 需要 count: 至少 2 的整数",
        "guard '{guard}' needs count: an integer of at least 2",
    ),
    "deadline.bad_length": (
        "期限需要 working_days 或 calendar_days 之一 (正整数)",
        "a deadline needs one of working_days or calendar_days (a positive integer)",
    ),
    "deadline.bad_starts": (
        "starts 只能是 {{field: 日期字段}} 或 {{state: 状态}}; 省略则从创建时起算",
        "starts is {{field: a date field}} or {{state: a state}}; leave it out to start on creation",
    ),
    "deadline.bad_extension": (
        "extension 需要 trigger 和 working_days (正整数)",
        "extension needs trigger and working_days (a positive integer)",
    ),
    "deadline.bad_before": (
        "reminders.before 必须是正整数列表 (提前的工作日数)",
        "reminders.before must be a list of positive integers (working days before)",
    ),
    "deadline.on_terminal": ("终态 '{state}' 不能有期限", "terminal state '{state}' cannot have a deadline"),
    "catalog.no_categories": (
        "公开目录需要非空的 categories 列表",
        "the catalogue needs a non-empty list of categories",
    ),
    "catalog.bad_entry": (
        "目录项需要 code (文本) 和 name (zh 与 en)",
        "a catalogue entry needs code (text) and name (zh and en)",
    ),
    "catalog.bad_cycle": (
        "目录 {code} 的 update_every_days 必须是正整数 (天)",
        "update_every_days of category {code} must be a positive number of days",
    ),
    "catalog.duplicate_code": ("目录编码 '{code}' 重复", "catalogue code '{code}' appears twice"),
    # refusals
    "refuse.unknown_trigger": (
        "没有名为 '{trigger}' 的操作 (当前状态: {state})",
        "there is no trigger '{trigger}' (current state: {state})",
    ),
    "refuse.wrong_state": (
        "当前状态 '{state}' 不能执行 '{trigger}'",
        "'{trigger}' is not allowed from state '{state}'",
    ),
    "refuse.role": (
        "{person} 在此事项上不担任 '{role}' 角色, 不能执行 '{trigger}'",
        "{person} does not hold the role '{role}' on this item, required for '{trigger}'",
    ),
    "refuse.create_role": (
        "{person} 不担任 '{role}' 角色, 不能创建 '{definition}' 事项",
        "{person} does not hold the role '{role}' needed to create a '{definition}' item",
    ),
    "refuse.edit_role": (
        "{person} 在此状态下不能修改正文 (需要角色: {roles})",
        "{person} may not edit in this state (role needed: {roles})",
    ),
    "refuse.not_editable": (
        "状态 '{state}' 下不能修改正文, 送审后的内容即签发的内容 (可修改的状态: {editable})",
        "the body cannot be edited in state '{state}': what is reviewed is what is signed off "
        "(editable in: {editable})",
    ),
    "refuse.comment_required": ("'{trigger}' 需要填写意见 (--comment)", "'{trigger}' requires a comment (--comment)"),
    "refuse.field_required": (
        "'{trigger}' 需要字段 '{field}' (--field {field}=...)",
        "'{trigger}' requires the field '{field}' (--field {field}=...)",
    ),
    "refuse.fields_missing": ("缺少必填字段: {fields}", "required fields missing: {fields}"),
    "refuse.bad_choice": (
        "字段 '{field}' 的值 '{value}' 无效 (可用: {allowed})",
        "field '{field}': '{value}' is not allowed (allowed: {allowed})",
    ),
    "refuse.bad_date": (
        "字段 '{field}' 的值 '{value}' 不是日期 (YYYY-MM-DD)",
        "field '{field}': '{value}' is not a date (YYYY-MM-DD)",
    ),
    "refuse.bad_datetime": (
        "字段 '{field}' 的值 '{value}' 不是日期时间 (YYYY-MM-DDTHH:MM, 无时区即本机关所在时区)",
        "field '{field}': '{value}' is not a date-time (YYYY-MM-DDTHH:MM; without an offset, office time)",
    ),
    "refuse.not_yet": (
        "'{trigger}' 定于 {at} 执行, 时间未到",
        "'{trigger}' is scheduled for {at}; that time has not come",
    ),
    "refuse.not_timed": (
        "'{trigger}' 不是定时转换, 须由有权限的人执行",
        "'{trigger}' is not a timed transition; a person with the role must fire it",
    ),
    "input.reserved_user_name": (
        "用户名 '{name}' 保留给系统 (后台任务) 使用",
        "the user name '{name}' is reserved for the system (the worker)",
    ),
    "refuse.empty_field": ("字段 '{field}' 不能为空", "field '{field}' cannot be empty"),
    "refuse.separation_role": (
        "职责分离: {person} 是此事项的 '{role}', 不能执行 '{trigger}'",
        "separation of duties: {person} is this item's '{role}' and may not fire '{trigger}'",
    ),
    "refuse.separation_trigger": (
        "职责分离: {person} 已执行过 '{other}', 不能再执行 '{trigger}'",
        "separation of duties: {person} fired '{other}' and may not fire '{trigger}'",
    ),
    "refuse.already_voted": ("{trigger}: 同一人只能签署一次", "{trigger}: each person signs once"),
    "refuse.once_only": ("'{trigger}' 每个事项只能执行一次", "'{trigger}' can be done only once per item"),
    "refuse.assign_role": ("{person} 无权分派 (需要角色: {roles})", "{person} may not assign (role needed: {roles})"),
    "refuse.assign_terminal": ("事项已结束 ({state}), 不能再分派", "the item has ended ({state}); nothing to assign"),
    "refuse.assign_separation_role": (
        "职责分离: {person} 是此事项的 '{other}', 不能被分派为 '{role}' (否则无人可执行 '{trigger}')",
        "separation of duties: {person} is this item's '{other}' and cannot be assigned as '{role}'"
        " (nobody could then fire '{trigger}')",
    ),
    "refuse.assign_separation_trigger": (
        "职责分离: {person} 已执行过 '{other}', 不能被分派为 '{role}' (否则无人可执行 '{trigger}')",
        "separation of duties: {person} fired '{other}' and cannot be assigned as '{role}'"
        " (nobody could then fire '{trigger}')",
    ),
    "refuse.people_admin": (
        "{person} 无权更改用户 {subject} (需要角色: {role})",
        "{person} may not change the person {subject} (role needed: {role})",
    ),
    "refuse.self_grant": (
        "{person} 不能给自己授予角色 ({roles}): 须由另一位管理员授予",
        "{person} may not grant themself a role ({roles}): another administrator must",
    ),
    "refuse.available": ("你现在可以执行: {triggers}", "you may fire now: {triggers}"),
    "refuse.available_none": ("你现在没有可执行的操作", "there is nothing you may fire now"),
    "refuse.last_action": (
        "最近一次: {actor} 于 {at} 执行 '{trigger}'",
        "last action: {actor} fired '{trigger}' at {at}",
    ),
    "conflict.database": (
        "他人同时操作, 未做任何更改: {detail}",
        "someone else acted at the same time; nothing was changed: {detail}",
    ),
    "busy.database": (
        "系统繁忙 (其他操作正在写入数据库), 未做任何更改, 请稍后再试: {detail}",
        "busy (another change is being written to the database); nothing was changed, please try again: {detail}",
    ),
    "conflict.moved": (
        "冲突: 事项 {reference} 已被他人先行处理, 未做任何更改",
        "conflict: {reference} was changed by someone else first; nothing was changed",
    ),
    # input
    "input.unknown_field": (
        "'{definition}' 没有字段 '{field}' (可用: {allowed})",
        "'{definition}' has no field '{field}' (allowed: {allowed})",
    ),
    "input.empty_title": ("标题不能为空", "the title cannot be empty"),
    "input.category_required": (
        "'{definition}' 事项必须指定公开目录 (--category): {allowed}",
        "a '{definition}' item needs a catalogue category (--category): {allowed}",
    ),
    "input.unknown_category": (
        "未知的公开目录 '{category}' (可用: {allowed})",
        "unknown catalogue category '{category}' (allowed: {allowed})",
    ),
    "input.bad_user_name": (
        "用户名 '{name}' 无效: 不能有空格、@ 或 :, 最长 64 字符",
        "invalid user name '{name}': no spaces, @ or :, at most 64 characters",
    ),
    "input.bad_email": ("邮箱地址 '{email}' 无效", "invalid email address '{email}'"),
    "input.no_roles": ("至少要指定一个角色 (--role): {allowed}", "give at least one role (--role): {allowed}"),
    "input.unknown_role": ("未知的角色 '{role}' (可用: {allowed})", "unknown role '{role}' (allowed: {allowed})"),
    "input.user_exists": ("用户 '{name}' 已存在", "user '{name}' already exists"),
    "input.delegate_self": ("{name} 不能委托给自己", "{name} cannot delegate to themself"),
    "input.delegate_period": ("委托期间无效: {starts} 晚于 {ends}", "invalid period: {starts} is after {ends}"),
    "input.role_not_in_definition": (
        "'{definition}' 中没有角色 '{role}' 的操作 (可分派: {allowed})",
        "no one acts as '{role}' in '{definition}' (roles to assign: {allowed})",
    ),
    "input.roles_nothing_asked": ("请用 --add 或 --remove 指定角色", "give a role with --add or --remove"),
    "input.roles_both": ("同一角色不能同时授予和撤销: {roles}", "a role cannot be both added and removed: {roles}"),
    "input.roles_unchanged": (
        "{name} 的角色没有变化 (现有: {roles})",
        "nothing changes for {name} (roles now: {roles})",
    ),
    "input.no_roles_left": (
        "{name} 将没有任何角色; 如其离职请停用 (users deactivate)",
        "{name} would have no role left; deactivate them instead (users deactivate)",
    ),
    "input.already_active": ("用户 {name} 已是启用状态", "{name} is already active"),
    "input.already_inactive": ("用户 {name} 已停用", "{name} is already deactivated"),
    "input.inactive_person": ("用户 {name} 已停用, 不能作为代理人", "{name} is deactivated and cannot stand in"),
    "input.assignee_lacks_role": (
        "{person} 不担任 '{role}' 角色, 不能被分派",
        "{person} does not hold the role '{role}'",
    ),
    "input.bad_field_syntax": ("字段写法应为 KEY=VALUE: '{value}'", "a field is written KEY=VALUE: '{value}'"),
    "input.bad_date": ("'{value}' 不是日期 (YYYY-MM-DD)", "'{value}' is not a date (YYYY-MM-DD)"),
    "input.unreadable_file": ("无法读取文件 {path}: {detail}", "cannot read {path}: {detail}"),
    "notfound.item": ("找不到事项 '{item}'", "no item '{item}'"),
    "notfound.user": ("找不到用户 '{name}'", "no user '{name}'"),
    "notfound.definition": (
        "找不到流程定义 '{name}' (可用: {available})",
        "no definition '{name}' (available: {available})",
    ),
    "notfound.definition_version": (
        "数据库中没有流程 '{name}' 的版本 {version}",
        "the database has no version {version} of definition '{name}'",
    ),
    # configuration
    "config.bad_lang": (
        "GONGKAI_LANG 只能是 zh 或 en, 而不是 '{value}'",
        "GONGKAI_LANG must be zh or en, not '{value}'",
    ),
    "config.no_audit_key": (
        "未设置 GONGKAI_AUDIT_KEY: 审计链需要一个至少 32 个字符的密钥, 保存在数据库之外",
        "GONGKAI_AUDIT_KEY is not set: the audit chain needs a secret of at least 32 characters, "
        "kept outside the database",
    ),
    "config.security_log_too_short": (
        "GONGKAI_SECURITY_LOG_DAYS={days} 太短: 网络日志至少保存 {minimum} 天 (网络安全法第二十一条)",
        "GONGKAI_SECURITY_LOG_DAYS={days} is too short: network logs are kept at least {minimum} days"
        " (Cybersecurity Law art. 21)",
    ),
    "config.not_positive": (
        "{name} 应为正整数, 而不是 '{value}'",
        "{name} must be a positive whole number, not '{value}'",
    ),
    "config.no_secret_key": (
        "未设置 GONGKAI_SECRET_KEY (或 GONGKAI_SECRET_KEY_FILE): 网页服务需要它签署链接和会话, 至少 32 个字符",
        "GONGKAI_SECRET_KEY (or GONGKAI_SECRET_KEY_FILE) is not set: the web app signs links and sessions with it;"
        " at least 32 characters",
    ),
    "config.short_secret_key": (
        "GONGKAI_SECRET_KEY 太短: {length} 个字符, 至少需要 {minimum} 个",
        "GONGKAI_SECRET_KEY is too short: {length} characters, at least {minimum} needed",
    ),
    "config.short_audit_key": (
        "GONGKAI_AUDIT_KEY 太短: {length} 个字符, 至少需要 {minimum} 个",
        "GONGKAI_AUDIT_KEY is too short: {length} characters, at least {minimum} needed",
    ),
    "config.unreadable_key_file": (
        "无法读取 GONGKAI_AUDIT_KEY_FILE {path}: {detail}",
        "cannot read GONGKAI_AUDIT_KEY_FILE {path}: {detail}",
    ),
    "config.bad_database_url": (
        "GONGKAI_DATABASE_URL 无效: '{url}'",
        "GONGKAI_DATABASE_URL is not a database URL: '{url}'",
    ),
    "config.unsupported_database": (
        "不支持的数据库 '{backend}': 请用 sqlite 或 postgresql",
        "unsupported database '{backend}': use sqlite or postgresql",
    ),
    "config.database_unusable": (
        "无法使用数据库 ({detail}): 数据库服务是否在运行, 是否已执行 gongkai init?",
        "cannot use the database ({detail}): is the server running, and was 'gongkai init' run?",
    ),
    "config.not_initialised": (
        "数据库 {database} 不存在: 请先运行 gongkai init",
        "the database {database} does not exist: run 'gongkai init' first",
    ),
    "config.no_database_folder": ("数据库所在目录不存在: {folder}", "the database folder does not exist: {folder}"),
    "calendar.no_data": (
        "工作日历没有 {year} 年的官方数据: 请更新 chinesecalendar 或在 definitions/calendar.yaml 中补充",
        "the working-day calendar has no official data for {year}: update chinesecalendar "
        "or add the days to definitions/calendar.yaml",
    ),
    "calendar.bad_file": ("calendar.yaml 必须是映射 (键: 值)", "calendar.yaml must be a mapping (key: value)"),
    "calendar.unknown_key": (
        "未知的键 '{key}' (可用: days_off, working_days, covered_years)",
        "unknown key '{key}' (allowed: days_off, working_days, covered_years)",
    ),
    "calendar.not_list": ("'{key}' 必须是列表", "'{key}' must be a list"),
    "calendar.bad_entry": (
        "每一项需要 date (YYYY-MM-DD), 可选 reason",
        "each entry needs a date (YYYY-MM-DD) and may give a reason",
    ),
    "calendar.duplicate_day": ("日期 {date} 出现了两次", "the date {date} appears twice"),
    "calendar.bad_years": ("covered_years 必须是年份列表", "covered_years must be a list of years"),
    "calendar.missing_warning": (
        "警告: 工作日历没有 {years} 年的官方节假日数据, 这些年份只按周末计算, 结果可能有误; "
        "请更新 chinesecalendar 或在 definitions/calendar.yaml 中补充并声明 covered_years",
        "warning: no official holiday data for {years}: those years were counted with weekends only and "
        "the result may be wrong; update chinesecalendar or enter the days in definitions/calendar.yaml "
        "and declare them in covered_years",
    ),
    "calendar.year_ok": (
        "{year} 年: 有官方数据, {working} 个工作日, {holidays} 天法定节假日, {makeup} 个调休上班日 ({version})",
        "{year}: official data, {working} working days, {holidays} holiday days, {makeup} make-up working days "
        "({version})",
    ),
    "calendar.year_missing": (
        "{year} 年: 没有官方数据! 只能按周末计算, 法定期限可能算错",
        "{year}: NO official data! Only weekends would be counted and statutory deadlines may be wrong",
    ),
    "worker.sqlite_second": (
        "已有一个工作进程 ({owner}) 在使用这个 SQLite 数据库 (租约到 {until}): SQLite 只支持一个工作进程; "
        "多个工作进程请使用 PostgreSQL",
        "another worker ({owner}) is using this SQLite database (its lease runs until {until}): SQLite supports "
        "one worker; run several on PostgreSQL",
    ),
    # audit
    "audit.verified": ("{count} entries verified (已校验 {count} 条记录)", "{count} entries verified"),
    "audit.fault_changed": (
        "审计记录 #{seq} 被篡改: 其内容与签名不符",
        "audit entry #{seq} was changed: its content does not match its signature",
    ),
    "audit.fault_missing": ("审计记录 #{seq} 缺失", "audit entry #{seq} is missing"),
    "audit.fault_reordered": (
        "审计记录 #{seq} 顺序错乱: 它的前一条不是链上的前一条",
        "audit entry #{seq} is out of order: it is not linked to the entry before it",
    ),
    "audit.fault_head_mismatch": (
        "审计链末尾 (#{seq}) 与记录的链头不符",
        "the end of the audit chain (#{seq}) does not match the recorded head",
    ),
    "audit.fault_anchor_mismatch": (
        "审计记录 #{seq} 与保存在数据库之外的锚点不符: 审计链被改写",
        "audit entry #{seq} does not match the anchor kept outside the database: the chain was rewritten",
    ),
    "audit.anchor_bad": ("锚点文件 {path} 无效: {detail}", "anchor file {path} is not valid: {detail}"),
    "audit.after_good": ("(此前 {count} 条记录校验通过)", "({count} entries before it verified)"),
    # mail: rendering, transports, outbox
    "mail.unknown_event": (
        "未知的邮件类型 '{event}' (可用: {allowed})",
        "unknown email event '{event}' (allowed: {allowed})",
    ),
    "mail.item_required": ("邮件类型 '{event}' 需要一个事项", "the email event '{event}' needs an item"),
    "mail.due_required": (
        "邮件类型 '{event}' 需要截止日期, 事项 {reference} 没有",
        "the email event '{event}' needs a due date; item {reference} has none",
    ),
    "mail.empty_digest": ("待办汇总邮件至少要列出一个事项", "a digest lists at least one item"),
    "config.bad_web_url": (
        "网址 '{url}' 无效: 需要以 http:// 或 https:// 开头的完整网址 (GONGKAI_BASE_URL)",
        "invalid web address '{url}': a full http:// or https:// URL is needed (GONGKAI_BASE_URL)",
    ),
    "config.bad_smtp_url": (
        "邮件服务器地址 {url} 无效 (GONGKAI_SMTP_URL)",
        "invalid mail server URL {url} (GONGKAI_SMTP_URL)",
    ),
    "config.bad_smtp_scheme": (
        "邮件服务器地址 {url} 的协议不受支持 (可用: {allowed})",
        "the mail server URL {url} has an unsupported scheme (allowed: {allowed})",
    ),
    "config.smtp_password_in_clear": (
        "邮件服务器地址 {url} 会以明文发送密码: 请改用 smtp+starttls:// 或 smtps://",
        "the mail server URL {url} would send the password unencrypted: use smtp+starttls:// or smtps://",
    ),
    "config.smtp_credentials_not_ascii": (
        "邮件服务器地址 {url} 的用户名或密码含有非 ASCII 字符, 无法用于 SMTP 登录",
        "the user or password of the mail server URL {url} has non-ASCII characters, which SMTP login cannot send",
    ),
    "config.bad_mail_from": (
        "发件人地址 '{value}' 无效 (GONGKAI_MAIL_FROM)",
        "invalid sender address '{value}' (GONGKAI_MAIL_FROM)",
    ),
    "delivery.failed": ("邮件未能发出: {detail}", "the email was not delivered: {detail}"),
    "delivery.temporary": (
        "邮件暂时未能发出, 稍后重试: {detail}",
        "the email was not delivered this time, will retry: {detail}",
    ),
    "delivery.permanent": ("邮件被拒收, 不再重试: {detail}", "the email was refused for good: {detail}"),
    "outbox.bad_recipient": ("收件人地址 '{recipient}' 无效", "invalid recipient address '{recipient}'"),
    "outbox.key_too_long": ("邮件去重键过长: {key}", "the email's dedupe key is too long: {key}"),
    "outbox.bad_owner": ("发送者名称 '{owner}' 无效", "invalid lease owner '{owner}'"),
    "outbox.not_found": ("找不到待发邮件 #{id}", "no outbox message #{id}"),
    "outbox.not_failed": (
        "邮件 #{id} 的状态是 {status}, 只有发送失败的邮件才能重试",
        "message #{id} is {status}: only failed messages can be retried",
    ),
    "outbox.requeued": ("邮件 #{id} 已重新排队, 将尽快发送", "message #{id} is queued again and will be sent shortly"),
    "outbox.empty": ("没有邮件", "no messages"),
    "outbox.status.pending": ("待发送", "pending"),
    "outbox.status.sending": ("发送中", "sending"),
    "outbox.status.sent": ("已发送", "sent"),
    "outbox.status.failed": ("发送失败", "failed"),
    "outbox.status.skipped": ("未发送 (已过时)", "skipped (obsolete)"),
    "person.active": ("已启用", "active"),
    "person.inactive": ("已停用", "deactivated"),
    "person.digest_on": ("每日汇总", "daily digest"),
    "person.digest_off": ("逐条邮件", "single emails"),
}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(key: str, lang: str = "zh", /, **params: Any) -> str:
    """The message for ``key`` in ``lang`` with ``params`` filled in; the key itself if unknown."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    template = pair[1] if lang == "en" else pair[0]
    return template.format_map(_Lenient(params))


def render_error(error: GongkaiError, lang: str) -> str:
    """One line: the rule that refused, what happened last, what the user may do instead."""
    text = error.render(lang)
    if error.key == "error.definition":
        return text
    parts = [text]
    last = error.params.get("last")
    if isinstance(last, dict):
        parts.append(translate("refuse.last_action", lang, **last))
    available = error.params.get("available")
    if isinstance(available, list):
        if available:
            parts.append(translate("refuse.available", lang, triggers=", ".join(available)))
        else:
            parts.append(translate("refuse.available_none", lang))
    return "; ".join(parts)


TRIGGER_LABELS: dict[str, tuple[str, str]] = {
    "create": ("创建", "Create"),
    "edit": ("修改正文", "Edit"),
    "assign": ("指派", "Assign"),
    "submit": ("送审", "Submit"),
    "clear": ("审查通过", "Clear"),
    "send_back": ("退回", "Send back"),
    "withhold": ("不予公开", "Withhold"),
    "sign_off": ("签发", "Sign off"),
    "schedule": ("定时发布", "Schedule"),
    "publish": ("发布", "Publish"),
    "unschedule": ("取消定时", "Unschedule"),
    "withdraw": ("撤回", "Withdraw"),
    "revise": ("修订", "Revise"),
    "register": ("登记", "Register"),
    "request_correction": ("要求补正", "Request correction"),
    "correction_received": ("已收到补正", "Correction received"),
    "consult_third_party": ("征求第三方意见", "Consult third party"),
    "third_party_replied": ("第三方已答复", "Third party replied"),
    "draft_reply": ("拟定答复", "Draft reply"),
    "extend": ("延长答复期限", "Extend"),
    "pass_legality": ("合法性审核通过", "Pass legality review"),
    "file_record": ("报送备案", "File for the record"),
    "repeal": ("废止", "Repeal"),
    "confirm_current": ("确认仍然有效", "Confirm still current"),
    # people changes (item-less audit rows)
    "person.add": ("添加用户", "Add person"),
    "person.roles": ("更改角色", "Change roles"),
    "person.deactivate": ("停用用户", "Deactivate person"),
    "person.activate": ("启用用户", "Activate person"),
    "person.delegate": ("委托代理", "Name a substitute"),
    "person.digest": ("选择邮件方式", "Choose digest"),
}


def trigger_label(trigger: str, lang: str) -> str:
    """A decision as people call it; an unknown trigger is shown by its name."""
    labels = TRIGGER_LABELS.get(trigger)
    if labels is None:
        return trigger
    return labels[1] if lang == "en" else labels[0]


CHOICE_LABELS: dict[str, tuple[str, str]] = {
    # draft_reply outcomes: the rows of the annual report's table (arts. 36-39)
    "disclosed": ("予以公开", "Disclosed"),
    "partly_disclosed": ("部分公开", "Partly disclosed"),
    "refused_state_secret": ("不予公开: 属于国家秘密", "Refused: state secret"),
    "refused_other_law": ("不予公开: 其他法律行政法规禁止公开", "Refused: other laws forbid"),
    "refused_security_stability": ("不予公开: 危及“三安全一稳定”", "Refused: endangers security or stability"),
    "refused_third_party": ("不予公开: 保护第三方合法权益", "Refused: third-party rights"),
    "refused_internal_affairs": ("不予公开: 属于三类内部事务信息", "Refused: internal affairs"),
    "refused_process_info": ("不予公开: 属于四类过程性信息", "Refused: process information"),
    "refused_enforcement_file": ("不予公开: 属于行政执法案卷", "Refused: law-enforcement case file"),
    "refused_inquiry": ("不予公开: 属于行政查询事项", "Refused: administrative inquiry matter"),
    "unavailable_not_held": ("无法提供: 本机关不掌握相关政府信息", "Cannot provide: not held"),
    "unavailable_needs_creation": ("无法提供: 没有现成信息需要另行制作", "Cannot provide: would have to be made"),
    "unavailable_still_unclear": ("无法提供: 补正后申请内容仍不明确", "Cannot provide: still unclear after correction"),
    "not_processed_petition": ("不予处理: 信访举报投诉类申请", "Not processed: petition or complaint"),
    "not_processed_repeated": ("不予处理: 重复申请", "Not processed: repeated"),
    "not_processed_publication": ("不予处理: 要求提供公开出版物", "Not processed: asks for published material"),
    "not_processed_excessive": ("不予处理: 无正当理由大量反复申请", "Not processed: excessive"),
    "not_processed_confirmation": (
        "不予处理: 要求行政机关确认或重新出具已获取信息",
        "Not processed: confirm or reissue",
    ),
    "other_no_correction": ("其他处理: 申请人无正当理由逾期不补正", "Other: no correction in time"),
    "other_fee_unpaid": ("其他处理: 申请人逾期未按收费通知要求缴纳费用", "Other: fee not paid in time"),
    "other": ("其他处理: 其他", "Other"),
    # requester_type: the columns of the annual report
    "natural_person": ("自然人", "Natural person"),
    "business": ("商业企业", "Business"),
    "research": ("科研机构", "Research institution"),
    "public_interest": ("社会公益组织", "Public-interest organisation"),
    "legal_service": ("法律服务机构", "Legal service"),
    # channel
    "in_person": ("当面申请", "In person"),
    "post": ("信函", "Post"),
    "fax": ("传真", "Fax"),
    "online": ("网络", "Online"),
    "email": ("电子邮件", "Email"),
    "phone": ("电话", "Phone"),
}


def choice_label(value: str, lang: str) -> str:
    """A field's choice as people call it; an unknown one is shown as it is stored."""
    labels = CHOICE_LABELS.get(value)
    if labels is None:
        return value
    return labels[1] if lang == "en" else labels[0]
