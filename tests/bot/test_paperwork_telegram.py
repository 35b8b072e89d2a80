"""Letters, exports and channel lists through the real PTB Application and the fake Bot API."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from fake_telegram import FakeBotAPI, make_png
from telegram_chat import (
    SMS_TEXT,
    Chat,
    bot_settings,
    file_sms,
    running_bot,
    the_case,
    walk_sms_to_evidence,
)

from bot.config import Settings
from bot.messengers.telegram import MAX_TEXT

CONTENT = SMS_TEXT


def settings_for(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path)


async def file_with_photo(chat: Chat, photo: bytes) -> str:
    await walk_sms_to_evidence(chat)
    chat.user.send_photo(photo)
    await chat.expect("已收到")
    number, _ = await file_sms(chat)
    return number


async def skip_details(chat: Chat, number: str) -> None:
    """Answer the first filing's name and phone questions by leaving both out."""
    await chat.expect("要在信上署你的姓名吗")
    await chat.choose("不写姓名", "联系电话")
    await chat.choose("不留电话", f"/export {number}")


def documents(chat: Chat, since: int = 0) -> dict[str, bytes]:
    return {
        m.document.file_name or "": m.document.content
        for m in chat.user.received[since:]
        if m.document is not None
    }


async def test_after_the_first_filing_the_letter_comes_with_files_and_a_short_report(
    tmp_path: Path,
) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        number, _ = await file_sms(chat, evidence="跳过")
        await chat.expect("要在信上署你的姓名吗")
        await chat.choose("不写姓名", "要在信上留一个联系电话吗")
        start = len(chat.user.received)
        await chat.say("138-0013-8000", "记下了")
        await chat.expect(f"/export {number}")
        await fake.settle()
        new = chat.user.received[start:]
        texts = [m.text or "" for m in new]
        letter = next(t for t in texts if t.startswith("投诉书："))
        assert "致：中国移动客户服务（10086）" in letter
        assert "投诉人：联系电话 13800138000" in letter
        assert "被投诉方：短信发送号码 10690123456789（106 短信平台号码）" in letter
        assert f"短信原文：「{CONTENT}」" in letter
        assert "1. 查明上述号码（短信端口或来电号码）的使用者及其背后的企业，并告知我。" in letter
        assert "5. 发送方立即停止向我的手机号发送任何商业性短信。" in letter
        assert "投诉人：（未署名）" in letter
        files = documents(chat, start)
        assert files[f"{number}-china_mobile-zh.txt"].decode() == letter + "\n"
        assert files[f"{number}-china_mobile-zh.md"].decode().startswith("# 投诉书：")
        # China Mobile takes spam reports by text to 10086999: the exact text, on its own.
        short_intro = texts.index(next(t for t in texts if "原样发送到 10086999" in t))
        assert "⚠️ 未确认" in texts[short_intro]
        assert texts[short_intro + 1] == f"10690123456789*{CONTENT}"
        # The second filing does not ask again: the letter comes at once, with the phone.
        await walk_sms_to_evidence(chat)
        start = len(chat.user.received)
        second, _ = await file_sms(chat, evidence="跳过")
        await chat.expect(f"/export {second}")
        later = [m.text or "" for m in chat.user.received[start:]]
        assert not any("署你的姓名" in t for t in later)
        assert any("投诉人：联系电话 13800138000" in t for t in later)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_a_letter_of_emoji_is_split_as_telegram_counts_and_its_files_follow(
    tmp_path: Path,
) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    content = "😡" * 2040  # 2,040 characters, 4,080 UTF-16 code units: the letter is over 4,096
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat, content)
        number, _ = await file_sms(chat, evidence="跳过")
        await chat.expect("要在信上署你的姓名吗")
        await chat.choose("不写姓名", "联系电话")
        start = len(chat.user.received)
        await chat.choose("不留电话", f"/export {number}")
        await fake.settle()
        new = chat.user.received[start:]
    files = documents(chat, start)
    assert set(files) == {f"{number}-china_mobile-zh.txt", f"{number}-china_mobile-zh.md"}
    letter = files[f"{number}-china_mobile-zh.txt"].decode()
    assert content in letter and utf16(letter) > MAX_TEXT
    texts = [m.text or "" for m in new if m.document is None]
    assert all(utf16(t) <= MAX_TEXT for t in texts)
    assert content in "".join(texts)  # all of it, over two messages
    assert not any("没能发出" in t for t in texts)


async def test_a_refused_message_does_not_stop_the_rest_of_the_turn(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        await chat.choose("跳过", "（12/12）")
        question = chat.press("停止给我发短信")
        await fake.wait_until(
            lambda: (
                "✅ 停止给我发短信"
                in fake.sent_message(chat.user.id, question.message_id).button_labels
            )
        )
        await chat.choose("完成", "请核对你的投诉")
        # Filing answers with several messages; Telegram refuses the first ("filed").
        fake.fail_next(1, status=400, methods=["sendMessage"], description="Bad Request: nope")
        chat.press("提交投诉")
        await chat.expect("要在信上署你的姓名吗")  # the reply after the refused one still came
        await chat.expect("上面的回复有一部分没能发出")
    assert not any("投诉已提交" in (m.text or "") for m in chat.user.received)


async def test_a_long_letter_is_split_at_line_breaks_and_nothing_is_lost(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    long_text = "\n".join(
        f"第{i}行：对方反复发送营销短信，内容包括各种优惠活动和链接。" for i in range(105)
    )
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat, long_text)
        number, _ = await file_sms(chat, evidence="跳过")
        await chat.expect("要在信上署你的姓名吗")
        await chat.choose("不写姓名", "联系电话")
        start = len(chat.user.received)
        await chat.choose("不留电话", f"/export {number}")
        await fake.settle()
        new = chat.user.received[start:]
        txt = documents(chat, start)[f"{number}-china_mobile-zh.txt"].decode()
        assert len(txt) > MAX_TEXT
        first = next(i for i, m in enumerate(new) if (m.text or "").startswith("投诉书："))
        last = next(i for i, m in enumerate(new) if m.document is not None)
        parts = [m.text or "" for m in new[first:last]]
        assert len(parts) >= 2 and all(len(p) <= MAX_TEXT for p in parts)
        # Split between lines (a blank line at a split is the message boundary); no line is lost.
        assert "\n".join(parts).split() == txt.split()
        assert [line for p in parts for line in p.splitlines() if line] == [
            line for line in txt.splitlines() if line
        ]


async def test_export_sends_a_zip_with_letters_evidence_answers_and_timeline(
    tmp_path: Path,
) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    photo = make_png(30, 20)
    async with running_bot(fake, settings):
        number = await file_with_photo(chat, photo)
        await skip_details(chat, number)
        start = len(chat.user.received)
        await chat.say(f"/export {number}", f"案件 {number} 的全部材料")
        await fake.wait_until(lambda: bool(documents(chat, start)))
        data = documents(chat, start)[f"{number}.zip"]
    case = await the_case(settings, chat.user, number)
    stored_name = f"01-{case.evidence[0].file_name}"  # the name the photo was stored under
    assert stored_name.endswith(".png")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            f"{number}/{name}"
            for name in (
                "letters/1-china_mobile.zh.txt",
                "letters/1-china_mobile.zh.md",
                "case.txt",
                "answers.json",
                "timeline.json",
                "timeline.txt",
                "case.json",
                f"evidence/{stored_name}",
                "evidence/LIST.txt",
            )
        )
        assert archive.read(f"{number}/evidence/{stored_name}") == photo
        listing = archive.read(f"{number}/evidence/LIST.txt").decode()
        assert case.evidence[0].sha256 in listing
        letter = archive.read(f"{number}/letters/1-china_mobile.zh.txt").decode()
        assert letter.startswith("投诉书：号码 10690123456789 发送垃圾短信")
        answers = json.loads(archive.read(f"{number}/answers.json"))
        assert {
            "step": "content",
            "question": "短信原文",
            "answer": CONTENT,
            "value": CONTENT,
        } in answers
        timeline = json.loads(archive.read(f"{number}/timeline.json"))
        assert [e["kind"] for e in timeline] == [e.kind for e in case.events]
        assert "提交投诉" in archive.read(f"{number}/timeline.txt").decode()
        assert json.loads(archive.read(f"{number}/case.json"))["number"] == number


async def test_channels_list_where_a_problem_can_go_with_unconfirmed_facts_flagged(
    tmp_path: Path,
) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    async with running_bot(fake, settings):
        await chat.say("/channels", "哪一类问题？")
        listing = await chat.choose("短信", "可以投诉的渠道")
        text = listing.text or ""
        assert "【中国移动（10086）】" in text and "电话：10086 / 10086999" in text
        assert "【12321 网络不良与垃圾信息举报受理中心】" in text
        assert "⚠️ 未确认：短信举报格式“号码*内容”" in text
        assert "适用于：问题：诈骗短信" in text  # 110 and 12321 first are for fraud texts only
        assert "同时：反诈专线 96110、「国家反诈中心」App" in text
        await walk_sms_to_evidence(chat)
        number, _ = await file_sms(chat, evidence="跳过")
        await skip_details(chat, number)
        view = await chat.say(f"/case {number}", f"投诉 {number}")
        assert {"📄 投诉信", "🧭 投诉渠道", "📦 导出"} <= set(view.button_labels)
        ladder = await chat.choose("🧭 投诉渠道", f"案件 {number} 的投诉渠道")
        text = ladder.text or ""
        assert "👉 1. 【中国移动（10086）】" in text
        assert "⬜ 2. 【工信部电信用户申诉受理中心（12300）】" in text
        assert "同时去做（不用等上一步的答复）：\n【12321 网络不良与垃圾信息举报受理中心】" in text
        assert "【中国联通（10010）】" not in text  # not their carrier


async def test_another_persons_case_number_reads_as_unknown_for_letters_and_exports(
    tmp_path: Path,
) -> None:
    fake = FakeBotAPI()
    alice = Chat(fake, fake.add_user("Alice"))
    mallory = Chat(fake, fake.add_user("Mallory"))
    settings = settings_for(tmp_path)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(alice)
        number, _ = await file_sms(alice, evidence="跳过")
        await mallory.say("/start", "遇到了什么问题")
        for command in ("/export", "/letter", "/channels"):
            theirs = await mallory.say(f"{command} {number}", "没有找到")
            nobody = await mallory.say(f"{command} TS-2099-999999", "没有找到")
            assert (theirs.text or "").replace(number, "N") == (nobody.text or "").replace(
                "TS-2099-999999", "N"
            )
        assert not documents(mallory)


async def test_a_letter_that_cannot_be_written_still_leaves_the_case_filed_and_said(
    tmp_path: Path,
) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    async with running_bot(fake, settings) as app:
        paperwork = app.bot_data["services_holder"]["services"].engine.paperwork

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("template trouble")

        paperwork.letter = broken
        await walk_sms_to_evidence(chat)
        number, _ = await file_sms(chat, evidence="跳过")  # the filed message still arrives
        await chat.expect("要在信上署你的姓名吗")
        await chat.choose("不写姓名", "联系电话")
        await chat.choose("不留电话", "现在写不了投诉信")
    assert (await the_case(settings, chat.user, number)).state == "waiting"


async def test_exported_evidence_is_named_by_what_it_is(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    settings = settings_for(tmp_path)
    pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        chat.user.send_document(pdf, file_name="invoice.html", mime_type="application/pdf")
        await chat.expect("共 1 份证据")
        chat.user.send_document(pdf + b" ", file_name="evidence.bat", mime_type="application/pdf")
        await chat.expect("共 2 份证据")
        # "BM" and nothing of a bitmap behind it; a PDF cut off before its end
        chat.user.send_document(b"BM" + bytes(200), file_name="x.bmp", mime_type="image/bmp")
        await chat.expect("「x.bmp」的内容和它的格式对不上")
        chat.user.send_document(pdf[:30], file_name="cut.pdf", mime_type="application/pdf")
        await chat.expect("「cut.pdf」的内容和它的格式对不上")
        number, _ = await file_sms(chat)
        await skip_details(chat, number)
        start = len(chat.user.received)
        await chat.say(f"/export {number}", f"案件 {number} 的全部材料")
        await fake.wait_until(lambda: bool(documents(chat, start)))
        data = documents(chat, start)[f"{number}.zip"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        evidence = sorted(
            name.removeprefix(f"{number}/evidence/")
            for name in archive.namelist()
            if name.startswith(f"{number}/evidence/")
        )
    assert evidence == ["01-invoice.pdf", "02-evidence.pdf", "LIST.txt"]
