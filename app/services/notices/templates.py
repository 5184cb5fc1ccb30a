"""The texts of notices, in both languages, filled from a template's parameters.

A template is chosen by name from the diagrams (`notify.send template="..."`) and the services;
its parameters are plain strings. Each recipient reads it in their own language (their account's
locale, else Chinese: the platform's users are in China).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from string import Formatter


@dataclass(frozen=True)
class Template:
    subject: dict[str, str]
    body: dict[str, str]


TEMPLATES: dict[str, Template] = {
    "application_approved": Template(
        {"en": "Application {number} approved", "zh": "申请 {number} 已获批"},
        {"en": "Your application {number} was approved for ¥{amount}. Next, verify your identity on the application's "
               "page, then sign the contract.",
         "zh": "您的申请 {number} 已获批，批准金额 ¥{amount}。接下来请在申请页面完成身份验证，然后签署合同。"}),
    "application_rejected": Template(
        {"en": "Application {number} declined", "zh": "申请 {number} 未获批准"},
        {"en": "Your application {number} was declined: {reason}",
         "zh": "您的申请 {number} 未获批准，原因：{reason}"}),
    "application_returned": Template(
        {"en": "Application {number}: more information needed", "zh": "申请 {number} 需要补充材料"},
        {"en": "The funder asks for more on application {number}: {reason}. Edit it and resubmit.",
         "zh": "资金方需要您就申请 {number} 补充：{reason}。请修改后重新提交。"}),
    "loan_disbursed": Template(
        {"en": "Loan {loan} disbursed", "zh": "贷款 {loan} 已放款"},
        {"en": "¥{amount} of application {number} was paid to your account {account}. Loan {loan} is active; "
               "its repayment schedule, bills and payments are on the loan's page.",
         "zh": "申请 {number} 的 ¥{amount} 已付至您的账户 {account}。贷款 {loan} 已生效，还款计划、账单及还款记录见贷款页面。"}),
    # pledge monitoring (app/services/collateral): a pledge's LTV crossed a line of its product
    "ltv_warning": Template(
        {"en": "Loan {number}: the pledged goods' value fell (LTV {ltv})",
         "zh": "贷款 {number}：质押货物价值下跌（质押率 {ltv}）"},
        {"en": "At {goods} ¥{price} per {unit} ({as_of}) the pledge of application {number} is worth ¥{value}; "
               "the loan's outstanding principal ¥{principal} is {ltv} of it, at or above the warning line {line}.",
         "zh": "按 {goods} 每{unit} ¥{price}（{as_of}）计，申请 {number} 的质押物价值 ¥{value}，贷款未还本金 "
               "¥{principal}，质押率 {ltv}，已达预警线 {line}。"}),
    "ltv_margin_call": Template(
        {"en": "Loan {number}: margin call (LTV {ltv})", "zh": "贷款 {number}：追加担保通知（质押率 {ltv}）"},
        {"en": "At {goods} ¥{price} per {unit} ({as_of}) the pledge of application {number} is worth ¥{value}; "
               "the loan's outstanding principal ¥{principal} is {ltv} of it, at or above the margin call line "
               "{line}. Add goods to the pledge or repay part of the loan.",
         "zh": "按 {goods} 每{unit} ¥{price}（{as_of}）计，申请 {number} 的质押物价值 ¥{value}，贷款未还本金 "
               "¥{principal}，质押率 {ltv}，已达追加担保线 {line}。请补充质押货物或偿还部分贷款。"}),
    "ltv_liquidation": Template(
        {"en": "Loan {number}: the pledge reached the liquidation line (LTV {ltv})",
         "zh": "贷款 {number}：质押率已达处置线（质押率 {ltv}）"},
        {"en": "At {goods} ¥{price} per {unit} ({as_of}) the pledge of application {number} is worth ¥{value}; "
               "the loan's outstanding principal ¥{principal} is {ltv} of it, at or above the liquidation line "
               "{line}. The pledged goods may be disposed of.",
         "zh": "按 {goods} 每{unit} ¥{price}（{as_of}）计，申请 {number} 的质押物价值 ¥{value}，贷款未还本金 "
               "¥{principal}，质押率 {ltv}，已达处置线 {line}，质押货物可能被处置。"}),
    # pledge monitoring and disposal (app/services/collateral)
    "margin_call_deadline": Template(
        {"en": "Loan {number}: top up the pledge or repay by {deadline}",
         "zh": "贷款 {number}：请于 {deadline} 前补充质押或还款"},
        {"en": "The pledge of application {number} ({goods}) is at LTV {ltv}, at or above the margin call line. "
               "Add goods to the pledge at the warehouse, or repay part of the loan, by {deadline} (China time); "
               "otherwise the pledged goods will be disposed of.",
         "zh": "申请 {number} 的质押物（{goods}）质押率为 {ltv}，已达追加担保线。请于 {deadline}（北京时间）前到仓库"
               "补充质押货物或偿还部分贷款，否则质押货物将被处置。"}),
    "pledge_released": Template(
        {"en": "Loan {number}: {quantity} {unit} of {goods} released", "zh": "贷款 {number}：已解除质押 {goods} {quantity}{unit}"},
        {"en": "In proportion to the principal you repaid, the warehouse released {quantity} {unit} of {goods} "
               "from the pledge of application {number}; {left} {unit} stay pledged.",
         "zh": "按您已偿还的本金比例，仓库已解除申请 {number} 质押物中的 {goods} {quantity}{unit}，"
               "仍有 {left}{unit} 处于质押状态。"}),
    "disposal_surplus_returned": Template(
        {"en": "Loan {number}: ¥{amount} from the sale of the pledge returned to you",
         "zh": "贷款 {number}：质押物处置余款 ¥{amount} 已退还"},
        {"en": "The pledged goods of application {number} were sold for more than the loan owed: the surplus of "
               "¥{amount} is paid back to your account.",
         "zh": "申请 {number} 的质押货物处置所得超过贷款欠款，余款 ¥{amount} 已退还至您的账户。"}),
    "collateral_disposed": Template(
        {"en": "Loan {number}: the pledged goods were disposed of", "zh": "贷款 {number}：质押货物已处置"},
        {"en": "The pledged goods of application {number} were sold for ¥{price} (costs ¥{costs}); the proceeds "
               "went to the loan. Written off: ¥{written_off}; returned to you: ¥{surplus}.",
         "zh": "申请 {number} 的质押货物以 ¥{price} 售出（处置费用 ¥{costs}），所得已用于偿还贷款。"
               "核销金额：¥{written_off}；退还您的余款：¥{surplus}。"}),
    # post-loan (app/services/servicing): bill notices, overdue alerts, the loan closed
    "bill_due_soon": Template(
        {"en": "Loan {loan}: instalment {number} falls due on {date}", "zh": "贷款 {loan} 第 {number} 期将于 {date} 到期"},
        {"en": "¥{amount} of loan {loan} (instalment {number}) falls due on {date}. {how_en}",
         "zh": "贷款 {loan} 第 {number} 期应还 ¥{amount}，还款日 {date}。{how_zh}"}),
    "loan_overdue": Template(
        {"en": "Loan {loan} is overdue", "zh": "贷款 {loan} 已逾期"},
        {"en": "{borrower} did not pay ¥{amount} of loan {loan} (application {number}) due on {date}. A collections "
               "case was opened; see the loans' monitoring page.",
         "zh": "{borrower} 未按期偿还贷款 {loan}（申请 {number}）于 {date} 到期的 ¥{amount}，已发起催收，详见贷款监控页面。"}),
    "overdue_escalated": Template(
        {"en": "Escalated: loan {loan} is overdue", "zh": "逾期上报：贷款 {loan}"},
        {"en": "Finance escalated loan {loan} of {borrower} (application {number}): days past due {dpd}, ¥{amount} "
               "overdue. Finance's note: {note}",
         "zh": "资金方财务上报了 {borrower} 的贷款 {loan}（申请 {number}）：已逾期 {dpd} 天，逾期金额 ¥{amount}。"
               "财务备注：{note}"}),
    "loan_closed": Template(
        {"en": "Loan {loan} is repaid in full", "zh": "贷款 {loan} 已全部结清"},
        {"en": "Loan {loan} (application {number}) was repaid in full on {date}. Your settlement certificate is on the "
               "loan's page.",
         "zh": "贷款 {loan}（申请 {number}）已于 {date} 全部结清，结清证明可在贷款页面下载。"}),
    "collections_waiver_refused": Template(
        {"en": "Loan {loan}: the penalty waiver was not booked", "zh": "贷款 {loan} 的罚息减免未执行"},
        {"en": "The penalty waiver of ¥{asked} on loan {loan} was approved but not booked: by then only ¥{owed} of "
               "penalty interest was owed (the borrower paid meanwhile). Nothing was waived; propose it again on the "
               "collections case if needed: {link}",
         "zh": "贷款 {loan} 的罚息减免 ¥{asked} 已审批但未执行：审批时仅欠罚息 ¥{owed}（借款人在此期间已还款），"
               "未减免任何金额；如仍需减免，请在催收案件中重新提议：{link}"}),
    "collections_waiver_refused_all": Template(
        {"en": "Loan {loan}: the penalty waiver was not booked", "zh": "贷款 {loan} 的罚息减免未执行"},
        {"en": "The waiver of all penalty interest on loan {loan} was approved but not booked: by then no penalty "
               "interest was owed (the borrower paid it meanwhile). Nothing was waived. The collections case: {link}",
         "zh": "贷款 {loan} 的全部罚息减免已审批但未执行：审批时已无未还罚息（借款人在此期间已还款），未减免任何金额。"
               "催收案件：{link}"}),
    "auto_debit_received": Template(
        {"en": "Loan {loan}: instalment auto-debited", "zh": "贷款 {loan} 本期已自动扣款"},
        {"en": "¥{amount} was debited from your account for loan {loan} as you authorised, and booked on {date}.",
         "zh": "已按您的代扣授权从您的账户扣收贷款 {loan} 的 ¥{amount}，入账日期 {date}。"}),
    "auto_debit_overdue_first": Template(
        {"en": "Loan {loan}: auto-debit paid overdue instalment {older} first",
         "zh": "贷款 {loan} 自动扣款已先还逾期的第 {older_zh} 期"},
        {"en": "¥{amount} was debited from your account for loan {loan} as you authorised, and booked on {date}. By the "
               "repayment order, ¥{to_older} of it went first to overdue instalment {older}; instalment {bill} still "
               "owes ¥{bill_left}. Please pay it on the loan's page to avoid penalty interest.",
         "zh": "已按您的代扣授权从您的账户扣收贷款 {loan} 的 ¥{amount}，入账日期 {date}。按还款顺序，其中 ¥{to_older} "
               "先用于偿还已逾期的第 {older_zh} 期；第 {bill} 期尚欠 ¥{bill_left}，请在贷款页面还款，以免产生罚息。"}),
    "auto_debit_failed": Template(
        {"en": "Loan {loan}: the auto-debit failed", "zh": "贷款 {loan} 自动扣款失败"},
        {"en": "¥{amount} could not be debited from your account for loan {loan}: {reason}. Please pay on the "
               "loan's page today, online or by bank transfer, to avoid penalty interest.",
         "zh": "贷款 {loan} 的 ¥{amount} 未能从您的账户扣收：{reason}。请今日在贷款页面在线还款或银行转账，以免产生罚息。"}),
    "repayment_received": Template(
        {"en": "Loan {loan}: repayment received", "zh": "贷款 {loan} 还款已到账"},
        {"en": "Your online repayment of ¥{amount} to loan {loan} was received and booked on {date}.",
         "zh": "您对贷款 {loan} 的在线还款 ¥{amount} 已到账，入账日期 {date}。"}),
    "repayment_failed": Template(
        {"en": "Loan {loan}: online repayment failed", "zh": "贷款 {loan} 在线还款失败"},
        {"en": "Your online repayment of ¥{amount} to loan {loan} failed: {reason}. Nothing was paid; please try again.",
         "zh": "您对贷款 {loan} 的在线还款 ¥{amount} 失败：{reason}。未发生扣款，请重新支付。"}),
    "repayment_rejected": Template(
        {"en": "Loan {loan}: bank transfer not confirmed", "zh": "贷款 {loan} 的银行转账未被确认"},
        {"en": "Your bank transfer of ¥{amount} on {date} to loan {loan} was not confirmed by the funder: {reason}. "
               "Nothing was booked; see the loan's page.",
         "zh": "您于 {date} 对贷款 {loan} 的银行转账 ¥{amount} 未被资金方确认，原因：{reason}。该笔款项未入账，请查看贷款页面。"}),
    "contract_to_sign": Template(
        {"en": "Application {number}: the contract is ready to sign", "zh": "申请 {number} 的合同待签署"},
        {"en": "The contract of application {number} is ready for your signature (verification code by SMS): {link}",
         "zh": "申请 {number} 的合同已生成，请签署（验证码见短信）：{link}"}),
    "contract_to_sign_in_turn": Template(
        {"en": "Application {number}: the contract is ready, you sign after {first}",
         "zh": "申请 {number} 的合同待签署（{first}签署后轮到您）"},
        {"en": "The contract of application {number} is ready: {first} signs first, then you (verification code by "
               "SMS). The link shows whose turn it is, and lets you sign when it is yours: {link}",
         "zh": "申请 {number} 的合同已生成：由{first}先签署，随后由您签署（验证码见短信）。以下链接可查看签署进度，轮到您时即可签署：{link}"}),
    "contract_reminder": Template(
        {"en": "Application {number}: the contract awaits your signature", "zh": "申请 {number} 的合同仍待您签署"},
        {"en": "Please sign the contract of application {number}; unsigned after 7 days it expires: {link}",
         "zh": "请尽快签署申请 {number} 的合同，7日内未签署将失效：{link}"}),
    "signing_stopped": Template(
        {"en": "Application {number}: signing stopped", "zh": "申请 {number} 签署已终止"},
        {"en": "The signing of application {number} stopped: {reason}",
         "zh": "申请 {number} 的签署已终止：{reason_zh}"}),
    "disbursement_stopped": Template(
        {"en": "Application {number}: the disbursement was stopped", "zh": "申请 {number} 放款已终止"},
        {"en": "The funder stopped the disbursement of application {number}: {reason}. The deal has ended and no loan "
               "was booked.",
         "zh": "资金方已终止申请 {number} 的放款，原因：{reason}。本笔交易已终止，未生成贷款。"}),
    "lead_invitation": Template(
        {"en": "Your Loanflow account", "zh": "您的 Loanflow 账户"},
        {"en": "{company} is registered on Loanflow. Set your password for user {username}: {link}",
         "zh": "{company} 已在 Loanflow 开户。请为用户 {username} 设置密码：{link}"}),
    # collections (app/services/collections): the reminder SMS, litigation or disposal referred to the funder
    "collections_reminder": Template(
        {"en": "Loan {loan} is overdue: please pay", "zh": "贷款 {loan} 已逾期，请尽快还款"},
        {"en": "Loan {loan} is past due (days past due: {dpd}): ¥{amount} is overdue. Penalty interest accrues on it "
               "every day until it is paid: please pay it as soon as possible on the loan's page, or contact your "
               "funder to agree a date.",
         "zh": "您的贷款 {loan} 已逾期 {dpd} 天，逾期金额 ¥{amount}。逾期期间每日计收罚息，直至还清：请尽快在贷款页面还款，"
               "或联系资金方约定还款日期。"}),
    "collections_escalated": Template(
        {"en": "Loan {loan}: collections moved to {action_en}", "zh": "贷款 {loan} 催收升级：{action_zh}"},
        {"en": "Loan {loan} is past due (days past due: {dpd}) with ¥{amount} overdue; the collections case now calls for "
               "{action_en}. See the collections page.",
         "zh": "贷款 {loan} 已逾期 {dpd} 天，逾期金额 ¥{amount}，催收案件升级为：{action_zh}。详见催收页面。"}),
    # 催办 (app/services/notices/reminders.py): a task that waits too long, to whoever holds it or its group
    "task_reminder": Template(
        {"en": "Reminder: {task_en} ({number})", "zh": "催办：{task_zh}（{number}）"},
        {"en": "{sender} reminds you of the task \"{task_en}\" of {number}, waiting since {since}. Please deal with "
               "it as soon as you can: {link}",
         "zh": "{sender}催办您处理业务 {number} 的任务「{task_zh}」，该任务自 {since} 起等待处理。请尽快处理：{link}"}),
}
LANGUAGES = ("zh", "en")
# A reason an outside party did not give (a payment gateway's failure without words), in each language.
NO_REASON = {"en": "no reason was given", "zh": "对方未说明原因"}
# The causes an outside party names by a code (a payment gateway's `failure_code`: handlers.payments.FAILURE_CODES),
# in each language: a notice (its `reason_code` parameter) and a page say them in their reader's language, where
# the party's own words (`reason`) may be in another, or in two.
REASONS: dict[str, dict[str, str]] = {
    "insufficient_funds": {"en": "insufficient balance in the payer's account", "zh": "账户余额不足"},
    "account_frozen": {"en": "the payer's account is frozen", "zh": "付款账户已冻结"},
    "account_closed": {"en": "the payer's account is closed", "zh": "付款账户已销户"},
    "limit_exceeded": {"en": "over the account's single or daily limit", "zh": "超出账户单笔或当日限额"},
    "declined": {"en": "declined by the payer's bank", "zh": "付款银行拒绝交易"},
}


def fields_of(name: str) -> set[str]:
    """The parameters a template needs."""
    template = TEMPLATES[name]
    texts = [*template.subject.values(), *template.body.values()]
    return {field for text in texts for _, field, _, _ in Formatter().parse(text) if field}


def reason_in(code: str | None, words: str | None, language: str) -> str:
    """Why, in `language`: the cause `code` names (`REASONS`), else the outside party's own `words` as they
    are, else that it gave none."""
    language = language if language in LANGUAGES else "zh"
    if code and code in REASONS:
        return REASONS[code][language]
    return words if words and words.strip() else NO_REASON[language]


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_in(value: str, language: str) -> str:
    """A date parameter (YYYY-MM-DD) as the pages write dates: 2026年11月23日, Nov 23, 2026; anything else as it is."""
    if not ISO_DATE.fullmatch(value):
        return value
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    return f"{day.year}年{day.month}月{day.day}日" if language == "zh" else f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def money_fields(name: str) -> set[str]:
    """The fields a template says as money (written after ¥)."""
    template = TEMPLATES[name]
    return {field for text in [*template.subject.values(), *template.body.values()]
            for literal, field, _, _ in Formatter().parse(text) if field and literal.endswith("¥")}


def money_in(value: str) -> str:
    """An amount as the pages write it (13,883.04); anything not a plain amount as it is (written already)."""
    try:
        amount = Decimal(value) if re.fullmatch(r"-?\d+(\.\d+)?", value) else None
    except InvalidOperation:
        amount = None
    return f"{amount:,.2f}" if amount is not None else value


def render(name: str, params: Mapping[str, object], language: str) -> tuple[str, str]:
    """(subject, body) of template `name` in `language`; KeyError for an unknown template."""
    template = TEMPLATES[name]
    language = language if language in LANGUAGES else "zh"
    values = {field: date_in(str(params.get(field, "")), language) for field in fields_of(name)}
    values.update({field: money_in(values[field]) for field in money_fields(name)})  # ¥13,883.04, never ¥13883.04
    if "reason" in values:  # in the reader's language; ending where the template's sentence does (one full stop)
        values["reason"] = reason_in(str(params.get("reason_code") or ""), values["reason"], language).rstrip()\
            .rstrip("。.")
    return template.subject[language].format(**values), template.body[language].format(**values)
