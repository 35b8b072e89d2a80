"""The SMS analyser: every rule on a message it must catch and one it must leave alone."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot import analysis
from bot.analysis import Analysis, analyse
from bot.analysis_rules import (
    RULES_FILE,
    VERDICTS,
    RulesError,
    advice_words,
    default_rules,
    load_rules,
    verdict_words,
)

PRIVATE = "13800138000"
OVERSEAS = "00886912345678"
INDUSTRY = "10690123456789"
COMMERCIAL = "10660000123"

# (finding id, text, sender): the finding must be among the message's findings.
POSITIVE = [
    ("sender_12381", "工信部反诈专班提醒您：凡是要求转账到安全账户的都是诈骗。", "12381"),
    ("sender_106_unicom", "您本月流量已用80%。", "10655123"),
    ("sender_106_mobile", "您本月流量已用80%。", "10657123"),
    ("sender_106_telecom", "您本月流量已用80%。", "10659123"),
    ("sender_106_commercial_province", "新店开业，全场8折。", "10620001111"),
    ("sender_106_public_province", "明天有大风降温，注意防寒。", "10630001111"),
    ("sender_106_m2m", "device ok", "10640001111"),
    ("sender_106_commercial", "新店开业，全场8折。", COMMERCIAL),
    ("sender_106_industry", "您的订单已发货。", INDUSTRY),
    ("sender_106_unknown", "点击领取积分好礼。", "10680001111"),
    ("sender_96110", "您可能正在遭遇诈骗，请不要转账。", "96110"),
    ("sender_bank_service", "您的信用卡账单已出。", "95588"),
    ("sender_carrier", "您的话费余额为8.20元。", "10086"),
    ("sender_public_service", "您反映的问题已受理。", "12345"),
    ("sender_overseas", "hello", "+639171234567"),
    ("sender_private_mobile", "晚上一起吃饭吧", PRIVATE),
    ("sender_landline", "晚上一起吃饭吧", "02112345678"),
    ("link_ip", "请访问 http://1.2.3.4/login 核实", None),
    ("link_lookalike", "请登录 icbc-verify.top 处理", None),
    ("link_not_official", "您的医保账户需年审，请点击 nhsa-check.com 办理", None),
    ("link_shortener", "详情见 t.cn/A6xyz", None),
    ("link_risky_tld", "详情见 deals-today.xyz/a", None),
    ("link_official", "详情请访问 www.icbc.com.cn", None),
    ("asks_code", "我是客服，请把手机收到的验证码发给我", None),
    ("asks_secret", "请提供您的银行卡号和密码以便核实", None),
    ("fee_upfront", "您的贷款已审批，缴纳解冻费后即可放款", None),
    ("fee_demand", "入职需缴纳198元资料费，完成后退还", None),
    ("safe_account", "请将资金转入安全账户配合调查", None),
    ("personal_account", "定金先转到我个人卡上", None),
    ("qr_payment", "请扫描群内二维码缴费", None),
    ("card_number", "钱转到这张卡：6222 0212 3456 7890 123", None),
    ("deadline_hours", "请在24小时内处理", None),
    ("deadline_threat", "您的账户将于今日冻结", None),
    ("debt_threat", "逾期欠款将移交法务并上门催收", None),
    ("urgent_call_back", "请马上回拨本号码", None),
    ("impersonate_police", "我是公安局的，你涉嫌一宗案件", None),
    ("impersonate_service", "我是淘宝客服，您的订单可以申请理赔", None),
    ("unprompted_refund", "您购买的商品检测出质量问题，现为您办理退款", None),
    ("compensation_offer", "列车停运，每位旅客可获补偿200元", None),
    ("fake_membership", "您误开通了会员服务，请配合关闭", None),
    ("cancel_by_phone", "您的会员将自动扣费800元，如需取消请拨打客服专线", None),
    ("etc_with_link", "您的ETC认证已失效，请点击 etc-renz.com 重新认证", None),
    ("etc_without_link", "您的ETC认证已失效，请尽快处理", None),
    ("medical_insurance", "您的医保卡已被冻结", None),
    ("account_abnormal", "您的支付宝账户异常", None),
    ("impersonate_acquaintance", "我是你领导，换号了，明天来我办公室", None),
    ("boss_payment", "财务小陈，马上付一笔20万定金给客户", None),
    ("move_to_chat", "有意向的话加我微信详聊", None),
    ("service_via_chat", "请添加客服微信 kf001 办理", None),
    ("fine_link", "您有违章未处理，请登录 wz-cx.com 缴纳罚款", None),
    ("brand_from_private", "【工商银行】您的积分即将过期", PRIVATE),
    ("sender_12381_with_contact", "【12381】请访问 http://a-b.cn 核实", "12381"),
    ("sender_12381_with_link", "【12381】提醒您谨防诈骗，详情 www.miit.gov.cn", "12381"),
    ("link_unverified", "详情见 example.com/a", None),
    ("unwanted_service", "您的月付已开通，将每月扣除费用，如需关闭请联系客服，否则影响征信", None),
    ("service_from_private", "您好，这里是12306客服，您的车票需要改签", PRIVATE),
    ("warning_with_contact", "谨防诈骗！有疑问请加微信 fz9527 咨询", None),
    ("phone_in_text", "有事打我电话 13912345678", None),
    ("anti_fraud_claim_spoofed", "【国家反诈中心】提醒您注意账户安全", PRIVATE),
    ("anti_fraud_claim_with_contact", "我是反诈中心的民警，请回电 021-61234567", None),
    ("account_change", "我司银行账户已变更，本月货款请转到新账户", None),
    ("landlord_rent", "我是房东，下月起房租转到这个新卡号", None),
    ("teacher_fee", "各位家长，本学期资料费请扫码进群转账", None),
    ("subscription_scare", "您的会员将自动扣费，如需取消请点击 vip-qx.com", None),
    ("outage_notice", "因线路检修，12月3日08:00-17:00停电", None),
    ("shop_ad", "本店秋装上新，全场五折起，欢迎进店选购", None),
    ("stranger_friendly", "不好意思加错人了，不过可以交个朋友吗", None),
    ("customs_fee", "您的包裹被海关扣留，需缴纳关税", None),
    ("money_request", "帮我先转点钱过来，急用", None),
    ("emergency_money", "你儿子出车祸住院了，急需手术费", None),
    ("paid_task", "招聘刷单员，一单一结", None),
    ("job_lure", "兼职打字，日结300元", None),
    ("fake_investment", "内幕消息，稳赚不赔，老师带你炒股", None),
    ("high_returns", "年化收益率高达15%", None),
    ("insider_channel", "公积金可以走内部渠道提前提取", None),
    ("fake_loan", "无抵押贷款，秒批秒到账", None),
    ("credit_repair", "专业征信修复，逾期记录一次性消除", None),
    ("prize", "恭喜您被抽中获得一等奖", None),
    ("gambling", "注册就送88元彩金，百家乐等你来", None),
    ("game_trade", "免费领取888点券，仅限今日", None),
    ("sex_service", "同城约会，上门服务", None),
    ("refund_lure", "您有一笔退税待领取，请点击链接填写银行卡", None),
    ("parcel_claim", "您的快递在运输中丢失，我们将为您理赔", None),
    ("threat_call", "您的账户将被冻结，详询客服 400-123-4567", None),
    ("parcel_failed", "您的包裹因地址不详无法派送，请更新地址 kd-fix.com", None),
    ("click_to_verify", "请点击 bank-x.com 进行认证", None),
    ("app_download", "请下载安装包 xyz.apk 完成认证", None),
    ("private_sender_link", "看看这个 http://example.com/a", PRIVATE),
    ("private_sender_money", "明天把500元还你", PRIVATE),
    ("anti_fraud_warning", "凡是要求转账到安全账户的都是诈骗", None),
    ("code_delivery", "您的验证码是 123456，5分钟内有效。", None),
    ("code_warning", "请勿泄露给他人", None),
    ("bank_alert", "您尾号1234的储蓄卡消费人民币128.00元，余额5,432.10元。", None),
    ("payment_receipt", "您已成功向张记付款23.50元", None),
    ("pickup", "您的包裹已到驿站，取件码 3-2-1024", None),
    ("delivery_notice", "您的快件今日由快递员派送", None),
    ("carrier_bill", "截至11月30日，您本月已使用流量12GB", None),
    ("service_notice", "您的航班CA1502已值机", None),
    ("official_channel", "请通过官方APP查询处理", None),
    ("courtesy_notice", "温馨提示：明天停水，请提前储水", None),
    ("school_notice", "各位家长：本周五召开家长会", None),
    ("personal_message", "晚上一起吃饭吧，我订了七点的位置", PRIVATE),
    ("opt_out", "全场8折，回T退订", None),
    ("reply_to_order", "千兆宽带每月仅加20元，回复1办理", None),
    ("shop_promo", "【优衣库】夏季上新，全场低至5折", None),
    ("promo_words", "夏季上新", None),
    ("sales_pitch", "续保有优惠，不需要请忽略，打扰了", None),
    ("store_invite", "欢迎光临我们的新门店", None),
]

# (finding id, text, sender): near misses the finding must not be among the findings of.
NEGATIVE = [
    ("sender_12381", "hello", "123810"),
    ("sender_106_unicom", "hello", "10657123"),
    ("sender_106_mobile", "hello", "10655123"),
    ("sender_106_telecom", "hello", "10658123"),
    ("sender_106_commercial_province", "hello", COMMERCIAL),
    ("sender_106_public_province", "hello", "10620001111"),
    ("sender_106_m2m", "hello", INDUSTRY),
    ("sender_106_commercial", "hello", "10620001111"),
    ("sender_106_industry", "hello", "10680001111"),
    ("sender_106_unknown", "hello", INDUSTRY),
    ("sender_96110", "hello", "96111"),
    ("sender_bank_service", "hello", "955880000000"),
    ("sender_carrier", "hello", "10020"),
    ("sender_public_service", "hello", "12381"),
    ("sender_overseas", "hello", "+8613800138000"),
    ("sender_private_mobile", "hello", "02112345678"),
    ("sender_landline", "hello", PRIVATE),
    ("link_ip", "版本 1.2.3.4 已发布", None),
    ("link_lookalike", "请登录 www.icbc.com.cn 查看", None),
    ("link_not_official", "医保电子凭证请访问 www.nhsa.gov.cn", None),
    ("link_shortener", "详情见 www.jd.com/a", None),
    ("link_risky_tld", "详情见 example.com/a", None),
    ("link_official", "详情见 icbc-verify.top", None),
    ("asks_code", "您的验证码是 123456，请勿泄露给他人。", None),
    ("asks_secret", "请勿向任何人提供银行卡密码", None),
    ("fee_upfront", "贷款已放款，请查收", None),
    ("fee_demand", "本月贷款免手续费，欢迎办理", None),
    ("safe_account", "您的账户安全，请放心", None),
    ("personal_account", "工资已转入您的账户", None),
    ("qr_payment", "扫码关注公众号查看课表", None),
    ("card_number", "您尾号7890的卡消费128.00元，订单号 20261129000123", None),
    ("deadline_hours", "本店24小时营业", None),
    ("deadline_threat", "您的账户今日正常", None),
    ("debt_threat", "您的还款已完成", None),
    ("urgent_call_back", "如有疑问请致电95588", None),
    ("impersonate_police", "今天天气不错", None),
    ("impersonate_service", "您的退款已原路退回", None),
    ("unprompted_refund", "您的商品质量很好，欢迎回购", None),
    ("compensation_offer", "列车正点运行", None),
    ("fake_membership", "您的会员已续费成功", None),
    ("cancel_by_phone", "您的会员将自动续费，可在App内取消", None),
    ("etc_with_link", "您的ETC认证已失效，请到服务网点办理", None),
    ("etc_without_link", "ETC通行费已扣款", None),
    ("medical_insurance", "您的医保电子凭证已激活成功", None),
    ("account_abnormal", "您的支付宝账户已登录", None),
    ("impersonate_acquaintance", "明天的会改到下午两点", None),
    ("boss_payment", "财务报表已发您邮箱", None),
    ("move_to_chat", "欢迎关注我们的公众号", None),
    ("service_via_chat", "如有问题请在App内联系客服", None),
    ("fine_link", "您有违章未处理，请通过交管12123 App查询", None),
    ("brand_from_private", "【工商银行】您的积分即将过期", "95588"),
    ("sender_12381_with_contact", "工信部提醒：不要点击陌生链接，不要回拨陌生电话", "12381"),
    ("sender_12381_with_link", "工信部提醒：不要点击陌生链接", "12381"),
    ("link_unverified", "详情见 www.icbc.com.cn", None),
    ("unwanted_service", "您的会员将于明日自动续费25元，如需取消可在App内操作", None),
    ("service_from_private", "您好，这里是12306客服，您的车票需要改签", "12306"),
    ("warning_with_contact", "谨防诈骗，凡是要求转账到安全账户的都是诈骗", None),
    ("phone_in_text", "您的订单 2983746510 已完成退款", None),
    ("anti_fraud_claim_spoofed", "【国家反诈中心】提醒您注意账户安全", "12381"),
    ("anti_fraud_claim_with_contact", "请下载国家反诈中心App，或拨打96110咨询", None),
    ("account_change", "您的账户已变更为实名认证状态", None),
    ("landlord_rent", "房东说下周来修热水器", None),
    ("teacher_fee", "各位家长，本周五下午召开家长会", None),
    ("subscription_scare", "您的会员已续费成功，可在App内查看", None),
    ("outage_notice", "检修工作顺利完成，感谢支持", None),
    ("shop_ad", "您的信用卡已寄出，请注意查收", None),
    ("stranger_friendly", "您好，明天见", None),
    ("customs_fee", "您的包裹已清关，正在派送", None),
    ("money_request", "钱已经收到了，谢谢", None),
    ("emergency_money", "你儿子放学了", None),
    ("paid_task", "我们正在招聘行政专员", None),
    ("job_lure", "我们正在招聘全职会计", None),
    ("fake_investment", "本行理财产品风险等级R2", None),
    ("high_returns", "理财有风险，投资需谨慎", None),
    ("insider_channel", "公积金提取请通过官方App办理", None),
    ("fake_loan", "您的房贷本月已扣款", None),
    ("credit_repair", "您的信用记录良好", None),
    ("prize", "本期开奖结果已公布在官网", None),
    ("gambling", "周末一起去打篮球", None),
    ("game_trade", "游戏维护公告：今晚停服两小时", None),
    ("sex_service", "家政保洁预约成功", None),
    ("refund_lure", "您的退税已到账", None),
    ("parcel_claim", "您的快递已签收", None),
    ("threat_call", "您的订单已发货，客服电话 400-123-4567", None),
    ("parcel_failed", "您的包裹因地址不详无法派送，快递员会电话联系您", None),
    ("click_to_verify", "新品上市，详情见 example.com", None),
    ("app_download", "请在官方App查看", None),
    ("private_sender_link", "看看这个 http://example.com/a", "106900001111"),
    ("private_sender_money", "晚上一起吃饭吧", PRIVATE),
    ("anti_fraud_warning", "请将资金转入安全账户，这不是诈骗", None),
    ("code_delivery", "请把验证码发给我", None),
    ("code_warning", "请把验证码发给我", None),
    ("bank_alert", "您尾号1234的信用卡已寄出", None),
    ("payment_receipt", "请尽快付款", None),
    ("pickup", "您的快递已发货", None),
    ("delivery_notice", "您的快递在运输中丢失，我们将为您理赔", None),
    ("carrier_bill", "流量包限时优惠", None),
    ("service_notice", "晚上一起吃饭吧", None),
    ("official_channel", "请下载我们的官方APP完成认证", None),
    ("courtesy_notice", "你好", None),
    ("school_notice", "公司年会通知", None),
    ("personal_message", "帮我转点钱，急用", PRIVATE),
    ("opt_out", "您的退订申请已受理，感谢使用", None),
    ("reply_to_order", "回复T退订", None),
    ("shop_promo", "【工商银行】您的信用卡已寄出", None),
    ("promo_words", "您的信用卡已寄出", None),
    ("sales_pitch", "会议改到下午两点", None),
    ("store_invite", "您的快递已签收", None),
]


def finding_ids(result: Analysis) -> list[str]:
    return [f.id for f in result.findings]


@pytest.mark.parametrize(("rule", "text", "sender"), POSITIVE, ids=[c[0] for c in POSITIVE])
def test_rule_finds(rule: str, text: str, sender: str | None) -> None:
    assert rule in finding_ids(analyse(text, sender))


@pytest.mark.parametrize(("rule", "text", "sender"), NEGATIVE, ids=[c[0] for c in NEGATIVE])
def test_rule_leaves_alone(rule: str, text: str, sender: str | None) -> None:
    assert rule not in finding_ids(analyse(text, sender))


def test_every_rule_has_a_positive_and_a_negative_example() -> None:
    rules = default_rules()
    ids = (
        {r.signal.id for r in rules.text} | {r.signal.id for r in rules.senders} | set(rules.links)
    )
    assert ids - {c[0] for c in POSITIVE} == set()
    assert ids - {c[0] for c in NEGATIVE} == set()


VERDICT_CASES = [
    ("fraud-lookalike", "【工商银行】您的账户异常，请登录 icbc-verify.top 认证", None, "fraud"),
    ("fraud-etc", "您的ETC认证已失效，请点击 t.cn/A6xyz 重新认证", INDUSTRY, "fraud"),
    ("fraud-nhsa", "【国家医保】您的医保账户需年审，请点击 nhsa-gov.cn.xyz 认证", None, "fraud"),
    ("fraud-asks-code", "我是客服，请把手机收到的验证码发给我，帮您办理退款", PRIVATE, "fraud"),
    (
        "fraud-with-opt-out",
        "【惠民贷】无抵押秒到账，点击 hmd-loan.top 立即提现，回T退订",
        INDUSTRY,
        "fraud",
    ),
    ("fraud-overseas-task", "招聘兼职刷单，日结300-500元，动动手指就能赚", OVERSEAS, "fraud"),
    (
        "fraud-en-code",
        "Please send me the 6-digit code you just received.",
        "+447700900123",
        "fraud",
    ),
    (
        "fraud-en-lookalike",
        "Your account will be suspended within 24 hours. Verify at http://secure-alipay.com.login.cc",
        None,
        "fraud",
    ),
    (
        "fraud-12381-link",
        "【12381】您的账户涉嫌洗钱，请访问 http://1.2.3.4/a 处理",
        "12381",
        "fraud",
    ),
    (
        "fraud-fake-warning",
        "【反诈中心】您的银行卡已被诈骗团伙控制，请立即将资金转入安全账户",
        PRIVATE,
        "fraud",
    ),
    (
        "marketing-opt-out",
        "【优衣库】夏季上新，全场低至5折，满300减50，回T退订",
        COMMERCIAL,
        "marketing",
    ),
    (
        "marketing-short-link",
        "【美团】会员日红包已到账，满30减15，戳 t.cn/abc 回TD退订",
        INDUSTRY,
        "marketing",
    ),
    (
        "marketing-en",
        "SALE! 30% off everything this weekend. Reply STOP to unsubscribe",
        None,
        "marketing",
    ),
    (
        "marketing-private-pitch",
        "王先生您好，续保有优惠还送加油卡，需要的话我给您报个价，不需要请忽略",
        PRIVATE,
        "marketing",
    ),
    ("legit-code", "您的验证码是 123456，5分钟内有效，请勿泄露给他人。", INDUSTRY, "legit"),
    (
        "legit-code-en",
        "Your verification code is 482913. Do not share it with anyone.",
        None,
        "legit",
    ),
    (
        "legit-bank",
        "【建设银行】您尾号1234的储蓄卡消费人民币128.00元，余额5,432.10元。",
        "95533",
        "legit",
    ),
    (
        "legit-pickup",
        "【菜鸟驿站】您的包裹已到驿站，取件码 3-2-1024，请及时领取。",
        INDUSTRY,
        "legit",
    ),
    ("legit-bill", "您本月话费账单已出，截至3月31日话费余额23.5元。", "10086", "legit"),
    ("legit-12381", "工信部反诈专班提醒您：凡是要求转账到安全账户的都是诈骗！", "12381", "legit"),
    (
        "legit-bank-warning",
        "【招商银行】招行工作人员不会向您索要验证码或要求屏幕共享，请提高警惕。",
        "95555",
        "legit",
    ),
    ("unknown-empty", "", None, "unknown"),
    ("unknown-hello", "hello", None, "unknown"),
    ("unknown-garbage", "asdkjfh qwe 123 zzz", None, "unknown"),
]


@pytest.mark.parametrize(
    ("text", "sender", "verdict"), [c[1:] for c in VERDICT_CASES], ids=[c[0] for c in VERDICT_CASES]
)
def test_verdict(text: str, sender: str | None, verdict: str) -> None:
    assert analyse(text, sender).verdict == verdict


SENDER_CASES = [
    ("10690123456789", "industry_national", "sender_106_industry"),
    ("+86 1069 0123 4567", "industry_national", "sender_106_industry"),
    ("10660000123", "commercial_national", "sender_106_commercial"),
    ("10620001111", "commercial_province", "sender_106_commercial_province"),
    ("10630001111", "public_interest_province", "sender_106_public_province"),
    ("10640001111", "machine_to_machine", "sender_106_m2m"),
    ("106550001", "carrier_port", "sender_106_unicom"),
    ("106570001", "carrier_port", "sender_106_mobile"),
    ("106590001", "carrier_port", "sender_106_telecom"),
    ("10680001111", "platform_unknown", "sender_106_unknown"),
    ("95588", "bank_service", "sender_bank_service"),
    ("96110", "anti_fraud_line", "sender_96110"),
    ("10086", "carrier_service", "sender_carrier"),
    ("10000", "carrier_service", "sender_carrier"),
    ("12381", "miit_warning", "sender_12381"),
    ("13800138000", "private_mobile", "sender_private_mobile"),
    ("+86 138-0013-8000", "private_mobile", "sender_private_mobile"),
    ("00886912345678", "overseas", "sender_overseas"),
    ("0085291234567", "overseas", "sender_overseas"),
    ("+639171234567", "overseas", "sender_overseas"),
    ("021-12345678", "landline", "sender_landline"),
    ("Apple", "unknown", None),
]


@pytest.mark.parametrize(
    ("sender", "sender_type", "finding"), SENDER_CASES, ids=[c[0] for c in SENDER_CASES]
)
def test_sender_classification(sender: str, sender_type: str, finding: str | None) -> None:
    result = analyse("hello", sender)
    assert result.sender_type == sender_type
    sender_findings = [f for f in result.findings if f.id.startswith("sender_")]
    assert [f.id for f in sender_findings] == ([finding] if finding else [])


def test_no_sender_means_no_sender_type() -> None:
    result = analyse("hello")
    assert (result.sender, result.sender_type) == (None, None)


def test_sender_words_name_the_platform() -> None:
    finding = analyse("您的订单已发货。", "10690123456789").findings[-1]
    assert finding.words["zh"].startswith("发送号码 10690123456789 是行业短信平台")
    assert "industry SMS platform" in finding.words["en"]
    assert finding.detail == "10690123456789"


LINK_CASES = [
    ("shortener", "详情见 t.cn/A6xyz", "link_shortener", "t.cn"),
    ("shortener-subdomain", "详情见 http://w.url.cn/s/abc", "link_shortener", "w.url.cn"),
    ("lookalike-bank", "请登录icbc-verify.top处理", "link_lookalike", "icbc-verify.top"),
    ("lookalike-nhsa", "请访问 nhsa-gov.cn.xyz 认证", "link_lookalike", "nhsa-gov.cn.xyz"),
    ("lookalike-carrier", "积分兑换请访问 10086-cn.com", "link_lookalike", "10086-cn.com"),
    (
        "lookalike-alipay",
        "请访问 alipay.com.security-check.cc 验证",
        "link_lookalike",
        "alipay.com.security-check.cc",
    ),
    ("official", "详情请访问 WWW.ICBC.COM.CN。", "link_official", "www.icbc.com.cn"),
    ("ip", "请访问 http://1.2.3.4:8080/a", "link_ip", "1.2.3.4"),
]


@pytest.mark.parametrize(
    ("text", "finding", "detail"), [c[1:] for c in LINK_CASES], ids=[c[0] for c in LINK_CASES]
)
def test_link_findings(text: str, finding: str, detail: str) -> None:
    found = {f.id: f for f in analyse(text).findings}
    assert found[finding].detail == detail


def test_lookalike_names_the_official_domain() -> None:
    finding = next(
        f for f in analyse("请访问 nhsa-gov.cn.xyz").findings if f.id == "link_lookalike"
    )
    assert finding.words["en"] == (
        "The link nhsa-gov.cn.xyz imitates an official site; the official domain is"
        " nhsa.gov.cn / gov.cn"
    )


def test_medical_insurance_link_must_be_on_nhsa() -> None:
    fake = analyse("【医保局】您的医保账户待认证，请访问 yb-renzheng.com 办理")
    real = analyse("【国家医保服务平台】您的医保电子凭证已激活，详情见 www.nhsa.gov.cn")
    not_official = next(f for f in fake.findings if f.id == "link_not_official")
    assert (
        not_official.words["en"]
        == "The link yb-renzheng.com is not on the official nhsa.gov.cn / gov.cn domain"
    )
    assert fake.verdict == "fraud"
    assert "link_not_official" not in finding_ids(real)
    assert "link_official" in finding_ids(real)


def test_etc_text_with_any_link_is_fraud() -> None:
    assert analyse("您的ETC已失效，请访问 www.example.com 重新认证").verdict == "fraud"
    assert "etc_with_link" not in finding_ids(analyse("您的ETC已失效，请到服务网点办理"))


def test_urls_and_phones_are_listed() -> None:
    result = analyse("点击t.cn/A6xyz领取，或致电13800138000、021-12345678、+63 917 123 4567")
    assert result.urls == ("t.cn/A6xyz",)
    assert result.phones == ("+8613800138000", "+862112345678", "+639171234567")


def test_asking_for_a_code_is_not_delivering_one() -> None:
    delivered = analyse("您的验证码是 123456，请勿泄露给他人。")
    asked = analyse("您好，请把刚收到的验证码告诉我，帮您取消扣费")
    assert {"code_delivery", "code_warning"} <= set(finding_ids(delivered))
    assert "asks_code" not in finding_ids(delivered)
    assert "asks_code" in finding_ids(asked)
    assert (delivered.verdict, asked.verdict) == ("legit", "fraud")


def test_delivery_that_also_asks_for_the_code_is_fraud() -> None:
    result = analyse("您的验证码是 123456，请将验证码发给客服完成退款")
    assert result.verdict == "fraud"


def test_fee_demand_names_the_fee() -> None:
    finding = next(
        f
        for f in analyse("您的贷款已审批，请先缴纳888元保证金后放款").findings
        if f.kind == "fraud"
    )
    assert finding.detail is not None and "保证金" in finding.detail


def test_deadline_threat_carries_the_hours() -> None:
    finding = next(
        f
        for f in analyse("请在24小时内完成认证，否则账户将停用").findings
        if f.id == "deadline_hours"
    )
    assert finding.detail == "24"
    assert finding.words["en"].startswith("Deadline threat: 24 hours")
    english = next(f for f in analyse("Act within 48 hours").findings if f.id == "deadline_hours")
    assert english.detail == "48"


def test_opt_out_makes_marketing_but_not_a_scam_marketing() -> None:
    assert analyse("【屈臣氏】全场满199减50，退订回N").verdict == "marketing"
    scam = analyse(
        "【京东金融】您有一笔免息借款待领取，本月最后一天失效，请点 jdjr-jk.top，回复TD退订"
    )
    assert scam.verdict == "fraud"
    assert "opt_out" in finding_ids(scam)


def test_findings_are_strongest_first_and_scores_sum_their_weights() -> None:
    result = analyse(
        "【工商银行】您的账户异常，将于24小时内冻结，请登录 icbc-verify.top 认证", OVERSEAS
    )
    weights = [f.weight for f in result.findings]
    assert weights == sorted(weights, reverse=True)
    for kind in ("fraud", "marketing", "legit"):
        expected = sum(f.weight for f in result.findings if f.kind == kind)
        assert result.scores[kind] == pytest.approx(expected)


def test_every_finding_has_filled_words_in_both_languages() -> None:
    for _, text, sender in POSITIVE:
        for finding in analyse(text, sender).findings:
            assert set(finding.words) == {"zh", "en"}
            assert all(w and "{" not in w for w in finding.words.values()), finding


def test_fraud_advice_in_order() -> None:
    result = analyse("【工商银行】您的账户异常，请登录 icbc-verify.top 认证，客服 400-123-4567")
    assert result.advice == (
        "dont_click",
        "dont_call_back",
        "dont_share_code",
        "call_110_if_lost",
        "call_96110",
        "report_12321",
    )


def test_advice_for_a_link_only_when_there_is_one() -> None:
    result = analyse("我是你领导，换号了，明天来我办公室", PRIVATE)
    assert result.verdict == "fraud"
    assert "dont_click" not in result.advice
    assert "dont_call_back" not in result.advice


def test_marketing_and_legit_advice() -> None:
    assert analyse("【优衣库】全场低至5折，回T退订").advice == (
        "reply_td",
        "complain_carrier",
        "report_12321",
    )
    assert analyse("您的验证码是 123456，请勿泄露给他人。").advice == ("nothing_to_do",)


def test_advice_and_verdict_words() -> None:
    rules = default_rules()
    report = advice_words(rules, "report_12321", "en")
    assert "not officially confirmed" in report and "12321" in report
    assert "未经官方确认" in advice_words(rules, "report_12321", "zh")
    assert "96110" in advice_words(rules, "call_96110", "zh")
    assert "110" in advice_words(rules, "call_110_if_lost", "en")
    assert "10086" in advice_words(rules, "complain_carrier", "zh")
    assert verdict_words(rules, "fraud", "zh") == "可能是诈骗"
    assert verdict_words(rules, "fraud", "en") == "Likely fraud"
    for verdict in VERDICTS:
        assert verdict_words(rules, verdict, "zh") and verdict_words(rules, verdict, "en")


ENGLISH_CASES = [
    (
        "en-parcel",
        "USPS: Your package could not be delivered due to an incomplete address. Update here: usps-redelivery.info/track",
        "fraud",
    ),
    (
        "en-lottery",
        "Congratulations! You have won 1,500,000 GBP in the Mobile Lottery. Send your name and bank details to claim.",
        "fraud",
    ),
    (
        "en-family",
        "Hi Mum, this is my new number. Can you send 800 for rent? Please don't call, I'm in a meeting.",
        "fraud",
    ),
    (
        "en-bill",
        "China Unicom: Your October bill is 76.00 CNY. Current balance 24.00 CNY.",
        "legit",
    ),
    (
        "en-gym",
        "Our gym is offering 50% off this month. Book a free trial class today. Reply STOP to opt out.",
        "marketing",
    ),
]


@pytest.mark.parametrize(
    ("text", "verdict"), [c[1:] for c in ENGLISH_CASES], ids=[c[0] for c in ENGLISH_CASES]
)
def test_english_messages(text: str, verdict: str) -> None:
    assert analyse(text).verdict == verdict


def test_full_width_characters_are_normalised() -> None:
    assert "opt_out" in finding_ids(analyse("全场８折，回Ｔ退订"))


def test_no_network_is_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the analyser tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    analysis._domains.cache_clear()
    result = analyse("请访问 nhsa-gov.cn.xyz 和 www.icbc.com.cn", rules=load_rules())
    assert result.urls == ("nhsa-gov.cn.xyz", "www.icbc.com.cn")


# ---- the rules file ------------------------------------------------------------------------


def broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """Write analysis.yaml with `old` replaced once by `new`; return it and the changed line."""
    text = RULES_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "analysis.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path, line


BROKEN = [
    (
        "unknown-key",
        "  - id: asks_code\n",
        "  - id: asks_code\n    colour: red\n",
        1,
        "unknown key 'colour'",
    ),
    ("bad-regex", "    match: '取件码|", "    match: '取件码(|", 0, "bad regex"),
    (
        "weight-not-number",
        "    weight: 3.0\n    role: money\n    match: '安全账户",
        "    weight: lots\n    role: money\n    match: '安全账户",
        0,
        "weight: expected a number, got 'lots'",
    ),
    ("missing-en", '      en: Sales wording ("{detail}")\n', "", -1, "missing key 'en'"),
    (
        "unknown-placeholder",
        "      zh: 促销用语（“{detail}”）",
        "      zh: 促销用语（“{price}”）",
        0,
        "unknown placeholder {price}",
    ),
    (
        "unknown-advice",
        "    advice: [dont_share_code]\n  - id: asks_secret",
        "    advice: [dont_panic]\n  - id: asks_secret",
        0,
        "unknown advice 'dont_panic'",
    ),
    (
        "role-on-legit",
        "  - id: pickup\n",
        "  - id: pickup\n    role: money\n",
        1,
        "role: only a fraud finding has one, not legit",
    ),
    (
        "evidence-on-fraud",
        "  - id: asks_code\n",
        "  - id: asks_code\n    evidence: true\n",
        1,
        "evidence: only for legit, not fraud",
    ),
    (
        "bad-role",
        "  - id: move_to_chat\n    kind: fraud\n    weight: 1.0\n    role: contact\n",
        "  - id: move_to_chat\n    kind: fraud\n    weight: 1.0\n    role: friendly\n",
        3,
        "role: expected one of",
    ),
    (
        "bad-kind",
        "    kind: marketing\n    weight: 2.0\n    match: '(回复?",
        "    kind: spam\n    weight: 2.0\n    match: '(回复?",
        0,
        "kind: expected one of",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "offset", "message"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_broken_rules_name_file_and_line(
    tmp_path: Path, old: str, new: str, offset: int, message: str
) -> None:
    path, line = broken_copy(tmp_path, old, new)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"analysis.yaml:{line + offset}: ")
    assert message in str(caught.value)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "analysis.yaml"
    path.write_text("thresholds:\n  fraud: [1\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"^analysis\.yaml:\d+: "):
        load_rules(path)


def test_custom_rules_are_used(tmp_path: Path) -> None:
    path, _ = broken_copy(tmp_path, "  fraud: 2.5\n", "  fraud: 100\n")
    text = "我是客服，请把手机收到的验证码发给我"
    assert analyse(text).verdict == "fraud"
    # The rules no longer reach fraud; the learned model still does, and says it is the one.
    assert analyse(text, rules=load_rules(path)).findings[0].id == "model_fraud"


# ---- the verdict policy ----------------------------------------------------------------------

# REVIEW.md §2 item 1: scams that a warning phrase used to turn into "looks legitimate".
WARNING_SCAMS = [
    (
        "police-meeting-app",
        "我是反诈民警，您涉嫌洗钱，谨防诈骗，请下载会议软件配合调查",
        PRIVATE,
    ),
    (
        "overseas-anti-fraud-centre-wechat",
        "【国家反诈中心】谨防诈骗！您的账户存在风险，请添加专员微信 fz9527 解除",
        OVERSEAS,
    ),
    ("12381-wechat", "工信部反诈提醒：谨防诈骗，请添加反诈专员微信 fz9527 进行登记", "12381"),
    ("12381-400-number", "谨防诈骗！您的号码存在风险，请致电 400-858-1234 核实", "12381"),
    ("12381-top-link", "【12381】谨防诈骗，请登录 fz-check.top 自查", "12381"),
    ("12381-qq", "公检法不会让你转账。您的账户涉案，请联系专案民警 QQ 3398112244", "12381"),
    ("12381-mobile", "反诈提醒：请回拨 13912345678 说明情况", "12381"),
    ("12381-card-inside-warning", "凡是不把钱转入安全账户 6222 0212 3456 7890 的都是诈骗", "12381"),
    (
        "claims-12381-from-106",
        "【12381反诈】警方提醒：公检法不会让你转账。请联系专案民警QQ 3398112244",
        INDUSTRY,
    ),
    (
        "claims-anti-fraud-from-mobile",
        "【国家反诈中心】谨防诈骗，您的账户已被标记为高风险",
        PRIVATE,
    ),
    ("claims-96110-pasted-with-phone", "【96110】反诈提醒：请回电 0871-6543210 核实", None),
    (
        "bank-sender-warning-then-phone",
        "谨防诈骗！公检法不会让你转账。请拨打 021-61234567 联系办案民警",
        "95588",
    ),
    (
        "private-warning-then-qq",
        "公检法不会让你转账，谨防诈骗，你的案子请加QQ 2883456712 联系我",
        PRIVATE,
    ),
]


@pytest.mark.parametrize(
    ("text", "sender"), [c[1:] for c in WARNING_SCAMS], ids=[c[0] for c in WARNING_SCAMS]
)
def test_a_warning_phrase_never_saves_a_scam(text: str, sender: str | None) -> None:
    assert analyse(text, sender).verdict == "fraud"


# Findings a warning phrase around them used to suppress; each must stay.
KEPT_BESIDE_A_WARNING = [
    ("move_to_chat", "谨防诈骗，请加微信 fz9527"),
    ("link_risky_tld", "谨防诈骗，请访问 fz-check.top"),
    ("impersonate_police", "谨防诈骗，我是公安局的，你涉嫌一宗案件"),
    ("app_download", "谨防诈骗，请下载安装包 fz.apk 完成认证"),
    ("fake_membership", "谨防诈骗，请下载会议软件配合"),
    ("personal_account", "谨防诈骗，定金先转到我个人卡上"),
    ("safe_account", "谨防诈骗，安全账户已为您开通，资金存入即可"),
]


@pytest.mark.parametrize(
    ("finding", "text"), KEPT_BESIDE_A_WARNING, ids=[c[0] for c in KEPT_BESIDE_A_WARNING]
)
def test_a_warning_suppresses_no_finding_beside_it(finding: str, text: str) -> None:
    found = finding_ids(analyse(text))
    assert "anti_fraud_warning" in found
    assert finding in found


def test_words_inside_the_warning_itself_are_not_a_request() -> None:
    genuine = analyse("工信部反诈专班提醒您：凡是要求转账到安全账户的都是诈骗！", "12381")
    assert "safe_account" not in finding_ids(genuine)
    assert genuine.verdict == "legit"
    # ...but a link, a number or a chat account counts even inside the warning sentence.
    inside = analyse("凡是不加微信 fz9527 核实的都是诈骗", "12381")
    assert "move_to_chat" in finding_ids(inside)
    assert inside.verdict == "fraud"


# Never "looks legitimate": an official-looking sender or text that asks you to get in touch
# somewhere else, to pay, or to give a secret.
NEVER_LEGIT = [
    ("bank-sender-odd-link", "【工商银行】您尾号1234的卡消费128.00元，余额5,432.10元，详情 icbc-x.com", "95588"),
    ("bank-sender-plain-link", "【工商银行】您尾号1234的卡消费128.00元，余额5,432.10元，详情 example.com/a", "95588"),
    ("bank-sender-wechat", "【工商银行】您尾号1234的卡消费128.00元，余额5,432.10元，有疑问加客服微信 icbc95588", "95588"),
    ("carrier-sender-link", "【中国移动】您本月话费余额23.5元，积分兑换请访问 jf-10086.top", "10086"),
    ("carrier-sender-qq", "您本月话费余额23.5元，流量已用完，领流量加QQ 2883456712", "10086"),
    ("code-then-send-it", "您的验证码是 482913，请把验证码发给客服完成退款", INDUSTRY),
    ("12381-any-link", "【12381】提醒您谨防诈骗，详情 www.miit.gov.cn", "12381"),
    ("pickup-then-pay", "【菜鸟驿站】您的包裹已到驿站，取件码 3-2-1024，需先扫码支付5元保管费", INDUSTRY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "sender"), [c[1:] for c in NEVER_LEGIT], ids=[c[0] for c in NEVER_LEGIT]
)
def test_never_legit_when_it_asks_for_contact_money_or_secrets(
    text: str, sender: str | None
) -> None:
    assert analyse(text, sender).verdict != "legit"


# "Looks legitimate" needs positive evidence, never the sender number or polite words alone.
NOT_LEGIT_WITHOUT_EVIDENCE = [
    ("bank-number-alone", "您好，请知悉。", "95588"),
    ("12381-alone", "您好", "12381"),
    ("carrier-number-alone", "尊敬的客户您好，感谢您的支持", "10086"),
    ("polite-alone", "温馨提示：感谢您的支持，祝您生活愉快，敬请谅解", None),
    ("warning-from-a-mobile", "谨防诈骗，请提高警惕", PRIVATE),
    ("carrier-port-10655", "尊敬的客户您好，感谢您的支持", "106550001"),
]


@pytest.mark.parametrize(
    ("text", "sender"),
    [c[1:] for c in NOT_LEGIT_WITHOUT_EVIDENCE],
    ids=[c[0] for c in NOT_LEGIT_WITHOUT_EVIDENCE],
)
def test_legit_needs_positive_evidence(text: str, sender: str | None) -> None:
    assert analyse(text, sender).verdict == "unknown"


LEGIT_WITH_EVIDENCE = [
    ("code", "您的验证码是 482913，5分钟内有效，请勿泄露给他人。", INDUSTRY),
    ("bank-alert", "【建设银行】您尾号3309的账户工资收入8,650.00元，余额12,031.27元。", "95533"),
    ("official-link", "【工商银行】您的信用卡账单已出，详情请访问 www.icbc.com.cn 查看", "95588"),
    ("12381-warning", "工信部反诈专班提醒：您正在接听的可能是诈骗电话，请立即挂断。", "12381"),
    ("bank-warning", "【招商银行】招行工作人员不会向您索要验证码或要求屏幕共享，请提高警惕。", "95555"),
    ("outage", "【国家电网】因线路检修，您所在片区将于12月3日08:00-17:00停电，敬请谅解。", "95598"),
    ("local-medical-insurance", "【杭州市医保局】您的2026年度医保已缴费成功，金额380元，可登录 ybj.hangzhou.gov.cn 查询。", INDUSTRY),
    ("psbc", "【邮储银行】您的账单已出，详情见 www.psbc.com", "95580"),
    ("unicom-corporate-site", "【中国联通】您的宽带已续费成功，详情见 www.chinaunicom.com.cn", "10010"),
    ("traffic-12123", "【交管12123】您的驾驶证将于2026年1月15日到期，请登录 gab.122.gov.cn 办理换证。", "12123"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "sender"),
    [c[1:] for c in LEGIT_WITH_EVIDENCE],
    ids=[c[0] for c in LEGIT_WITH_EVIDENCE],
)
def test_legit_with_positive_evidence(text: str, sender: str | None) -> None:
    result = analyse(text, sender)
    assert result.verdict == "legit", result.findings
    assert any(f.evidence for f in result.findings)


def test_carrier_ports_are_neutral() -> None:
    for port in ("106550001", "106570001", "106590001"):
        sender = next(f for f in analyse("hello", port).findings if f.id.startswith("sender_"))
        assert sender.weight == 0
        assert "also leased to partners" in sender.words["en"]


def test_local_medical_insurance_links_are_not_fraud() -> None:
    result = analyse("【医保局】您的医保电子凭证已激活，详见 ybj.hangzhou.gov.cn", INDUSTRY)
    assert "link_not_official" not in finding_ids(result)
    assert "link_official" in finding_ids(result)
    assert result.verdict != "fraud"


# One clear signal is enough for "likely fraud".
ONE_CLEAR_SIGNAL = [
    ("personal-card", "定金先转到我个人卡上"),
    ("police", "我是公安局的，你涉嫌一宗案件"),
    ("boss", "财务小陈，马上付一笔20万定金给客户"),
    ("customer-service", "我是淘宝客服，您的订单可以申请理赔"),
    ("prize", "恭喜您被抽中获得一等奖"),
    ("upfront-fee", "您的贷款已审批，缴纳解冻费后即可放款"),
    ("relative-emergency", "你儿子出车祸住院了，急需手术费"),
]


@pytest.mark.parametrize(
    "text", [c[1] for c in ONE_CLEAR_SIGNAL], ids=[c[0] for c in ONE_CLEAR_SIGNAL]
)
def test_one_clear_signal_is_fraud(text: str) -> None:
    assert analyse(text).verdict == "fraud"


# Scam types the rules had none for.
SCAM_TYPES = [
    ("account-change", "【通知】我司银行账户已变更，请贵司后续付款时使用新账户，原账户作废"),
    ("landlord", "房东通知：本月起房租改为转入以下账户，原账户已停用：6222 0212 3456 7890"),
    ("teacher-fee", "各位家长好，我是班主任，本学期资料费398元，请扫码加入缴费群后转账"),
    ("child-in-hospital", "叔叔您好，您儿子打球受伤在医院急诊，需要先交手术押金一万块"),
    ("subscription", "您开通的百万医疗保险明日将扣费2688元，如非本人操作请致电 021-61234567 取消"),
    ("etc", "【ETC服务中心】您的ETC卡已失效，请尽快登录 etc-fw.net 重新认证"),
    ("customs", "您的包裹被海关扣留，需缴纳关税后才能派送"),
    ("refund", "您购买的商品检测出质量问题，现为您办理退款，请添加理赔专员QQ 2883456712"),
    ("loan", "您的贷款已审核通过，需缴纳2000元解冻金后即可提现"),
    ("credit-record", "专业征信修复，逾期记录一次性消除"),
    ("part-time", "招聘刷单员，一单一结，日结300元"),
    ("part-time-qq-group", "我们招聘网络兼职，每天两小时，做任务就能拿提成，加QQ群 783920011"),
    ("prize-shipping-fee", "您已获得一次免费领取手机的机会，请填写收货信息并支付运费9.9元"),
    ("pay-later-opened", "您的月付已开通，将每月扣除费用，如需关闭请联系客服处理，否则影响征信"),
]


@pytest.mark.parametrize("text", [c[1] for c in SCAM_TYPES], ids=[c[0] for c in SCAM_TYPES])
def test_scam_types_are_fraud(text: str) -> None:
    assert analyse(text).verdict == "fraud"


SHOP_ADS = [
    "本店新到一批秋冬羽绒服，全场五折起，欢迎进店选购",
    "健身房开业大酬宾，年卡只要999元，前100名再送私教课",
    "好消息！楼下新开生鲜超市，开业前三天鸡蛋1元一斤",
    "少儿美术秋季招生开始，小班教学，试听免费，电话 0571-87654321",
]


@pytest.mark.parametrize("text", SHOP_ADS)
def test_a_shop_ad_without_brand_or_opt_out_is_marketing(text: str) -> None:
    assert analyse(text).verdict == "marketing"


def test_another_judge_can_weigh_the_same_findings() -> None:
    seen: list[tuple[tuple[str, ...], str]] = []

    def judge(findings: object, text: str, rules: object) -> str:
        seen.append((tuple(f.id for f in findings), text))  # type: ignore[attr-defined]
        return "marketing"

    result = analyse("请把验证码发给我", judge=judge)
    assert result.verdict == "marketing"
    assert seen == [(("asks_code",), "请把验证码发给我")]
    assert "reply_td" in result.advice  # the advice follows the judge's verdict


def test_no_judge_can_call_a_request_for_contact_legitimate() -> None:
    def says_legit(findings: object, text: str, rules: object) -> str:
        return "legit"

    scam = analyse("谨防诈骗！请添加反诈专员微信 fz9527 登记", "12381", judge=says_legit)
    code = analyse("您的验证码是 482913，请勿泄露给他人。", INDUSTRY, judge=says_legit)
    assert (scam.verdict, code.verdict) == ("unknown", "legit")


# ---- speed and size --------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["1.", "1", "a", "中", "a.cn ", "http://a", "12.", "a "])
def test_a_crafted_long_text_is_read_up_to_the_limit(token: str) -> None:
    text = token * (40_000 // len(token))
    result = analyse(text, PRIVATE)
    assert result.cut
    assert result.verdict in VERDICTS
    assert len(result.urls) <= analysis.URL_LIMIT and len(result.phones) <= analysis.PHONE_LIMIT
