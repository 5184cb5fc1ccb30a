"""The commands speak English by default, as other tools read them, and Chinese with `LOANFLOW_LANG=zh`
(`app/cli_language.py`): `processes`, `orgs`, `users`, `seed`, `timers`, `channels`, `processes compat`,
`contracts`, `eod` and `ledger`, `history`, `loans`, `processes map-operator` and `processes mappings`. Each English line is exactly what the command
printed before it could speak Chinese; its Chinese says the same with the data (codes, amounts, dates,
ids) as it is."""
from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from rich.cells import cell_len
from sqlalchemy import select, update

from app.cli_eod import STEP_WORDS
from app.extensions import db
from app.models import InstanceEvent
from app.services.ledger.eod import STEPS, run_eod
from handlers.contracts import render_contract
from handlers.esign import SandboxCA
from tests.integration.instance_api import start
from tests.integration.ledger_support import book, borrower, business_day, product
from tests.unit.contract_sample import BORROWER, sample_contract
from tests.unit.lending.reference import cli_options, schedule_cases

COMPAT = Path(__file__).resolve().parents[1] / "fixtures" / "compat"


@pytest.fixture
def zh(monkeypatch):
    """Run a command in Chinese: `zh(runner.invoke, args=[...])`."""
    def invoke(call, **kwargs):
        monkeypatch.setenv("LOANFLOW_LANG", "zh")
        try:
            return call(**kwargs)
        finally:
            monkeypatch.delenv("LOANFLOW_LANG")
    return invoke


def _no_english(text: str, *words: str) -> None:
    """None of the line's English words is left in its Chinese."""
    left = [w for w in words if re.search(rf"\b{re.escape(w)}\b", text)]
    assert not left, f"{left} in {text!r}"


def test_channels_create(runner, zh):
    en = runner.invoke(args=["channels", "create", "MKT9", "Loan Marketplace Nine"])
    assert en.exit_code == 0, en.output
    assert en.stdout.splitlines()[0] == ("channel MKT9 (Loan Marketplace Nine) created; its key (shown once, "
                                         "send it as X-Channel-Key):")
    cn = zh(runner.invoke, args=["channels", "create", "MKT8", "Loan Marketplace Eight"])
    assert cn.exit_code == 0, cn.output
    first, key = cn.stdout.splitlines()
    assert first.startswith("渠道 MKT8（Loan Marketplace Eight）已创建；") and "X-Channel-Key" in first
    _no_english(first, "channel", "created", "its", "key", "shown", "once", "send")
    assert len(key) >= 32 and " " not in key  # the key itself, the last line, as it is

    again = runner.invoke(args=["channels", "create", "MKT9", "Again"])
    assert again.exit_code == 1 and again.stderr == "error: A channel with the code MKT9 exists already.\n"
    again = zh(runner.invoke, args=["channels", "create", "MKT9", "Again"])
    assert again.exit_code == 1 and again.stderr == "错误：代码为 MKT9 的渠道已存在。\n"


def test_processes_compat(app, runner, zh, tmp_path):
    folder = tmp_path / "diagrams"
    shutil.copytree(COMPAT, folder)
    en = runner.invoke(args=["processes", "compat", str(folder), "--json", str(tmp_path / "en.json")])
    cn = zh(runner.invoke, args=["processes", "compat", str(folder), "--json", str(tmp_path / "zh.json")])
    assert en.exit_code == 0 and cn.exit_code == 0, (en.output, cn.output)
    en_lines, cn_lines = en.stdout.splitlines(), cn.stdout.splitlines()
    assert en_lines[0] == "file\tprocess\tparsed\timported\tlint\tdeployed\tran\treason"
    assert cn_lines[0] == "文件\t流程\t已解析\t导入\t检查\t已部署\t已运行\t原因"
    assert {"false completions: 0", "tracebacks: 0", "disagreements: 0"} <= set(en_lines)
    assert {"虚假完成：0", "异常回溯：0", "检查与部署结论不一致：0"} <= set(cn_lines)
    en_rows = {line.split("\t")[1]: line.split("\t") for line in en_lines[1:] if line.count("\t") == 7}
    cn_rows = {line.split("\t")[1]: line.split("\t") for line in cn_lines[1:] if line.count("\t") == 7}
    assert en_rows["compat_runs"][2:7] == ["yes", "0", "yes", "yes", "yes"]
    assert cn_rows["compat_runs"][2:7] == ["是", "0", "是", "是", "是"]
    assert en_rows["compat_groovy"][5:7] == ["no", "no"] and cn_rows["compat_groovy"][5:7] == ["否", "否"]
    # the summary: its lines said in the reader's language, the figures the same
    ran, total = re.fullmatch(r"ran (\d+) of (\d+) executable processes", en_lines[-1]).groups()
    assert cn_lines[-1] == f"在 {total} 个可执行流程中运行了 {ran} 个"
    assert en_lines[-2].startswith("runnable with what the folder holds: ")
    assert cn_lines[-2].startswith("凭文件夹中已有内容可运行：") and cn_lines[-3].startswith("按原样无法运行：")
    summary = cn_lines[cn_lines.index("检查与部署结论不一致：0") + 1:]
    assert summary and all(line.startswith("未运行，") for line in summary[:-3]), summary
    _no_english(" ".join(summary), "not", "run", "ran", "ceiling", "runnable", "executable", "processes")
    # the diagrams are checked and run in English either way: the same reasons, groups and JSON
    assert {k: (r[0], r[3], r[7]) for k, r in en_rows.items()} == {k: (r[0], r[3], r[7]) for k, r in cn_rows.items()}
    assert (json.loads((tmp_path / "en.json").read_text(encoding="utf-8"))
            == json.loads((tmp_path / "zh.json").read_text(encoding="utf-8")))


def test_contracts_verify(app, runner, zh, tmp_path):
    unsigned = tmp_path / "plain.pdf"
    unsigned.write_bytes(render_contract(sample_contract()))
    foreign = SandboxCA.create(datetime.now(UTC))
    pem = tmp_path / "ca.pem"
    pem.write_bytes(foreign.certificate.public_bytes(serialization.Encoding.PEM))
    args = ["contracts", "verify", str(unsigned), "--trust", str(pem)]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert (en.exit_code, en.stdout) == (1, "no signatures\n")
    assert (cn.exit_code, cn.stdout) == (1, "没有签名\n")

    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    args = ["contracts", "verify", str(unsigned), "--trust", str(bad)]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.exit_code == cn.exit_code == 2
    assert en.stderr.startswith("error: --trust must name PEM certificates: ")
    assert cn.stderr.startswith("错误：--trust 须指定 PEM 格式的证书：")
    _no_english(cn.stderr.split("：")[1], "must", "name", "certificates")


@pytest.fixture
def signed(ctx, tmp_path: Path) -> Path:
    """The sample contract signed by the borrower with a credential of the simulator's sandbox CA."""
    from app.services.simulators import esign_ca
    from handlers.esign.pades import sign_pdf

    root = esign_ca.sandbox_ca().certificate
    credential = esign_ca.credential(BORROWER.role, BORROWER.name, BORROWER.identifier)
    pdf = sign_pdf(render_contract(sample_contract()), "sig_borrower", credential.certificate, credential.key, [root])
    db.session.commit()
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return path


def test_contracts_verify_a_signature(runner, zh, signed):
    args = ["contracts", "verify", str(signed)]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.exit_code == cn.exit_code == 0, (en.output, cn.output)
    at = en.stdout.rsplit("signed at ", 1)[1].strip()
    assert datetime.fromisoformat(at)
    assert en.stdout == f"1. sig_borrower: {BORROWER.name} · intact: yes · trusted: yes · signed at {at}\n"
    assert cn.stdout == f"1. sig_borrower：{BORROWER.name} · 完整：是 · 可信：是 · 签署于 {at}\n"


@pytest.fixture
def ledger_day(ctx, clock) -> date:
    """A product, a loan booked on 10 January 2026 and the end of that day run."""
    day = date(2026, 1, 10)
    business_day(clock, day)
    product()
    book(borrower())
    run_eod(day)
    db.session.commit()
    return day


def test_eod_and_ledger(runner, zh, ledger_day):
    args = ["eod", "run", "--date", ledger_day.isoformat()]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.stdout == "nothing to do: the batch has run up to 2026-01-10\n"
    assert cn.stdout == "无需处理：日终批处理已运行至 2026-01-10\n"

    en, cn = runner.invoke(args=["eod", "runs"]), zh(runner.invoke, args=["eod", "runs"])
    assert re.fullmatch(r"2026-01-10 completed attempt 1 +\d+\.\ds  \n", en.stdout), en.stdout
    assert re.fullmatch(r"2026-01-10 completed 第 1 次尝试 +\d+\.\ds  \n", cn.stdout), cn.stdout

    en, cn = runner.invoke(args=["eod", "deliver"]), zh(runner.invoke, args=["eod", "deliver"])
    assert (en.stdout, cn.stdout) == ("delivered 0 message(s)\n", "已投递 0 条消息\n")

    en, cn = runner.invoke(args=["ledger", "trial-balance"]), zh(runner.invoke, args=["ledger", "trial-balance"])
    assert en.exit_code == cn.exit_code == 0
    assert en.stdout.splitlines()[-1] == f"{'total':<22}{'0.00':>20}"
    assert cn.stdout.splitlines()[-1] == "合计" + " " * 18 + f"{'0.00':>20}"  # 22 columns wide on the screen
    assert en.stdout.splitlines()[:-1] == cn.stdout.splitlines()[:-1]  # the accounts are codes

    en = runner.invoke(args=["ledger", "add-account", "sme_interest", "SME interest", "--kind", "income"])
    cn = zh(runner.invoke, args=["ledger", "add-account", "sme_fees", "SME fees", "--kind", "income"])
    assert (en.stdout, cn.stdout) == ("added sme_interest\n", "已添加科目 sme_fees\n")
    en = runner.invoke(args=["ledger", "map-account", "CREDIT12", "interest_income", "sme_interest"])
    cn = zh(runner.invoke, args=["ledger", "map-account", "CREDIT12", "fee_income", "sme_fees"])
    assert en.stdout == "CREDIT12: interest_income posts to sme_interest\n"
    assert cn.stdout == "CREDIT12：fee_income 记入科目 sme_fees\n"


def test_every_step_of_the_batch_has_its_words():
    assert set(STEP_WORDS) == set(STEPS)


def test_history_verify(app, client, auth, runner, zh, deploy):
    args = ["history", "verify", "999999"]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert (en.exit_code, en.stderr) == (1, "error: no process instance 999999\n")
    assert (cn.exit_code, cn.stderr) == (1, "错误：没有流程实例 999999\n")

    deploy("twelve_steps.bpmn")
    instance_id = int(start(client, auth, "twelve_steps", "lang-1", amount=1)["id"])
    args = ["history", "verify", str(instance_id)]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    checked = re.fullmatch(rf"instance {instance_id}: intact \((\d+) events checked\)", en.stdout.splitlines()[0])
    assert checked, en.stdout
    assert en.stdout.splitlines()[1] == "1 instance(s) checked, 0 broken"
    assert cn.stdout.splitlines() == [f"实例 {instance_id}：完整（已检查 {checked.group(1)} 个事件）",
                                      "已检查 1 个实例，其中 0 个断裂"]

    with app.app_context():
        first = db.session.scalar(select(InstanceEvent.id).where(InstanceEvent.instance_id == instance_id)
                                  .order_by(InstanceEvent.id))
        db.session.execute(update(InstanceEvent).where(InstanceEvent.id == first).values(details={"forged": 1}))
        db.session.commit()
        db.session.remove()
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.exit_code == cn.exit_code == 1
    assert en.stdout.splitlines() == [
        f"instance {instance_id}: BROKEN at event {first} (altered): The event's content no longer matches its "
        "hash: it was changed after it was written.", "1 instance(s) checked, 1 broken"]
    assert cn.stdout.splitlines() == [
        f"实例 {instance_id}：在事件 {first} 处断裂（altered）：该事件的内容与其哈希值不符：写入后被改动过。",
        "已检查 1 个实例，其中 1 个断裂"]


def test_loans_schedule_and_simulate(runner, zh, tmp_path):
    case = schedule_cases()[0]
    args = ["loans", "schedule", *cli_options(case["terms"])]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.exit_code == cn.exit_code == 0, (en.output, cn.output)
    en_lines, cn_lines = en.stdout.splitlines(), cn.stdout.splitlines()
    assert en_lines[0] == "  #  due date         principal      interest           total         balance"
    assert cn_lines[0].split() == ["#", "还款日", "本金", "利息", "合计", "剩余本金"]
    assert cell_len(cn_lines[0]) == len(en_lines[0])  # each word in its column on the screen
    assert cn_lines[1:-1] == en_lines[1:-1]  # the instalments are numbers and dates
    assert en_lines[-1] == "total interest 900.00, total repayment 5900.00"
    assert cn_lines[-1] == "利息合计 900.00，还款合计 5900.00"

    request = tmp_path / "credit.json"
    request.write_text(json.dumps({"terms": case["terms"], "transactions": [{"date": "2022-11-15", "amount": "9000"}]}))
    args = ["loans", "simulate", str(request)]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.stdout == cn.stdout  # JSON
    assert en.stderr == "note: 3976.67 paid beyond the loan is kept as credit\n"
    assert cn.stderr == "注意：超出贷款应还的 3976.67 已作为溢缴款保留\n"

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    args = ["loans", "simulate", str(broken)]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.exit_code == cn.exit_code == 1
    assert en.stderr.startswith(f"error: {broken} is not valid JSON: ")
    assert cn.stderr.startswith(f"错误：{broken} 不是有效的 JSON：")


def test_processes_map_operator_and_mappings(app, runner, zh):
    args = ["processes", "map-operator", "class", "X", "risk.assess", "--param", "nope"]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert (en.exit_code, en.stderr) == (2, "error: --param 'nope' is not NAME=EXPRESSION\n")
    assert (cn.exit_code, cn.stderr) == (2, "错误：--param 'nope' 不是 NAME=EXPRESSION 形式\n")

    args = ["processes", "map-operator", "class", "X", "no.such"]
    en, cn = runner.invoke(args=args), zh(runner.invoke, args=args)
    assert en.exit_code == cn.exit_code == 1
    assert en.stderr.splitlines()[:2] == ["error: The mapping is not valid.",
                                          "  operator_name: Choose a registered operator."]
    assert en.stderr.splitlines()[2].startswith("  registered operators: ")
    assert cn.stderr.splitlines()[:2] == ["错误：映射无效。", "  operator_name: 请选择一个已注册的操作符。"]
    assert cn.stderr.splitlines()[2].startswith("  已注册的操作符：")
    assert en.stderr.splitlines()[2].split(": ", 1)[1] == cn.stderr.splitlines()[2].split("：", 1)[1]

    en = runner.invoke(args=["processes", "map-operator", "topic", "score", "risk.assess"])
    cn = zh(runner.invoke, args=["processes", "map-operator", "topic", "scoring", "risk.assess"])
    assert (en.stdout, cn.stdout) == ("topic score -> risk.assess\n", "topic scoring -> risk.assess\n")
    en, cn = runner.invoke(args=["processes", "mappings"]), zh(runner.invoke, args=["processes", "mappings"])
    assert en.stdout == cn.stdout == "topic\tscore\trisk.assess\t{}\ntopic\tscoring\trisk.assess\t{}\n"


def test_timers_run_due_says_what_it_woke_and_started(app, runner, zh, deploy, clock):
    deploy("timer_start_hourly.bpmn")
    at = "2026-11-28T10:00:00+00:00"  # an hour after the deploy: the timer start event fires
    en = runner.invoke(args=["timers", "run-due", "--now", at])
    app.extensions["loanflow_clock"] = clock
    assert en.exit_code == 0, en.output
    assert en.stdout == "woke 0 instance(s); started 1 at timer start events\n"
    cn = zh(runner.invoke, args=["timers", "run-due", "--now", "2026-11-28T11:00:00+00:00"])
    app.extensions["loanflow_clock"] = clock
    assert cn.exit_code == 0, cn.output
    assert cn.stdout == "唤醒了 0 个实例；定时开始事件启动了 1 个实例\n"
    bad = zh(runner.invoke, args=["timers", "run-due", "--now", "yesterday"])
    assert bad.exit_code == 2 and bad.stderr == "错误：--now 必须是 ISO 8601 时间，收到的是 'yesterday'\n"


def test_users_and_organisations_commands(runner, zh, auth):
    en = runner.invoke(args=["orgs", "create", "FAC1", "--kind", "funder", "--name", "Factor One"])
    assert en.stdout == "organisation FAC1 (funder) created\n", en.output
    cn = zh(runner.invoke, args=["users", "create", "rev1", "--org", "FAC1", "--role", "first_reviewer"])
    assert cn.exit_code == 0, cn.output
    assert cn.stdout == "已在 FAC1 创建用户 rev1，角色：first_reviewer\n"
    assert runner.invoke(args=["users", "unlock", "rev1"]).stdout == "user rev1 was not locked; nothing to lift\n"
    assert zh(runner.invoke, args=["users", "unlock", "rev1"]).stdout == "用户 rev1 未被锁定，无需解锁\n"
    tokens = zh(runner.invoke, args=["users", "tokens", "rev1"]).stdout.splitlines()
    assert tokens[0].split() == ["编号", "状态", "创建时间", "到期", "最近使用", "已吊销", "标签"]


def test_processes_list(runner, zh, deploy):
    deploy("timer_start_hourly.bpmn")
    assert "timer_start_hourly v1 0 running" in runner.invoke(args=["processes", "list"]).stdout
    assert "timer_start_hourly v1 0 个运行中" in zh(runner.invoke, args=["processes", "list"]).stdout
