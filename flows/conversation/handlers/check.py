"""Check forwarded, pasted and screenshotted messages, and explain them in one reply.

What was checked waits in the conversation's scratch (`pending["check"]`) until the person
presses "file a complaint" (flows/conversation/handlers/check_filing.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flows.conversation.callbacks import Press, encode
from flows.conversation.context import TurnContext
from flows.conversation.evidence import acceptable
from flows.conversation.filetype import detect, too_large_to_read
from flows.conversation.handlers.check_filing import file_from_check
from flows.conversation.suspect import BATCH_MAX, Suspect, is_worse, looks_like_a_message, worst
from flows.definition.steps import kind_of
from flows.model import Attachment, Button, Incoming, Reply
from flows.records import Explanation

# ------------------------------------------------------------------------ reading


def wants_check(ctx: TurnContext) -> bool:
    """Return True when this message is a message to check, not an answer or a command."""
    incoming = ctx.incoming
    if ctx.services.explainer is None or incoming.unsupported:
        return False
    forwarded = incoming.forward is not None or bool(incoming.batch)
    if ctx.conv.state is not None:
        # In an intake, whatever is typed is an answer (or is asked again): only a message
        # explicitly forwarded at a step that takes no text or files is checked.
        return forwarded and not kind_of(ctx.step).forward_answers(ctx.conv.pending)
    if ctx.conv.pending.get("check_next"):
        return bool(incoming.text or incoming.attachments)
    if forwarded or incoming.attachments:
        return True
    return bool(incoming.text) and pasted_message(ctx, incoming.text or "")


def pasted_message(ctx: TurnContext, text: str) -> bool:
    """Return True when typed text is a message pasted to be checked, not the person's story."""
    flows = ctx.services.flows
    described = flows.describing.about(text, [f.id for f in flows.categories()])
    return looks_like_a_message(text) and described is None


async def suspects_of(ctx: TurnContext, incoming: Incoming) -> tuple[list[Suspect], list[str]]:
    """Return the messages to check in `incoming` (and its burst), and problems to tell."""
    found: list[Suspect] = []
    problems: list[str] = []
    for part in (incoming, *incoming.batch):
        origin = "pasted"
        name = sender_id = None
        at = None
        if part.forward is not None:
            origin = f"forward:{part.forward.origin}"
            name, sender_id, at = part.forward.sender, part.forward.sender_id, part.forward.date
        for attachment in part.attachments:
            suspect = await _read_image(ctx, attachment, problems, name, sender_id, at)
            if suspect is not None:
                found.append(suspect)
        if part.text and part.text.strip():
            found.append(Suspect(part.text.strip(), origin, name, sender_id, at))
    return found, problems


async def _read_image(
    ctx: TurnContext,
    attachment: Attachment,
    problems: list[str],
    name: str | None,
    sender_id: str | None,
    at: datetime | None,
) -> Suspect | None:
    label = attachment.file_name or ctx.t("check_screenshot")
    if not acceptable(attachment) or attachment.fetch is None:
        problems.append(ctx.t("file_bad_type", name=label))
        return None
    if ctx.services.reader is None:
        problems.append(ctx.t("check_no_ocr"))
        return None
    limit = ctx.services.evidence.max_file_size
    if attachment.size is not None and attachment.size > limit:
        problems.append(ctx.t("check_image_too_big", name=label))
        return None
    data = await attachment.fetch()
    found = detect(data)
    if len(data) > limit or found is None or found.mime == "application/pdf":
        problems.append(ctx.t("file_mismatch", name=label))
        return None
    if too_large_to_read(found):  # from its header, before anything is decoded
        problems.append(ctx.t("check_image_too_big", name=label))
        return None
    mime = found.mime
    text = (await ctx.services.reader.read(data)).strip()
    if not text:
        problems.append(ctx.t("check_no_text", name=label))
        return None
    if ctx.conv.state is not None:
        # Checked during a complaint, it is only explained, never kept to file later: a
        # file stored now would have nothing pointing to it.
        return Suspect(text, "image", name, sender_id, at)
    sha256 = hashlib.sha256(data).hexdigest()
    waiting = _waiting_screenshots(ctx)
    if sha256 in waiting:  # checked again: the file is already stored (and claimed)
        path, size = waiting[sha256]
    else:
        blob = await ctx.services.store.put_blob(data)
        path, size = blob.path, blob.size
    image = {
        "sha256": sha256,
        "path": path,
        "size": size,
        "mime": mime,
        "name": attachment.file_name,
        "file_id": attachment.file_id,
        "file_unique_id": attachment.file_unique_id,
    }
    return Suspect(text, "image", name, sender_id, at, image)


def _waiting_screenshots(ctx: TurnContext) -> dict[str, tuple[str, int]]:
    """Return {sha256: (path, size)} of the screenshots of the check waiting to be filed."""
    check = ctx.conv.pending.get("check")
    items = check.get("items", []) if isinstance(check, dict) else []
    return {
        str(image["sha256"]): (str(image["path"]), int(image["size"]))
        for item in items
        if isinstance(item, dict) and isinstance(image := item.get("image"), dict)
    }


# ------------------------------------------------------------------------ checking


async def check(ctx: TurnContext, suspects: list[Suspect], problems: list[str]) -> None:
    """Explain `suspects` in one reply; keep them for "file a complaint"."""
    explainer = ctx.services.explainer
    assert explainer is not None
    conv = ctx.conv
    conv.pending.pop("check_next", None)
    if not suspects:
        ctx.dirty = True
        await ctx.save()
        ctx.say("\n".join(problems) or ctx.t("check_nothing"))
        return
    shown = suspects[:BATCH_MAX]
    explained = [await explainer.explain(s.text, None, s.at or ctx.now, ctx.lang) for s in shown]
    verdict = worst([x.verdict for x in explained])
    together = None
    if len(shown) > 1:
        # Several messages at once are often one conversation: "I changed my number", then
        # "pay into this account". Read together they can say more than each alone.
        together = await explainer.explain_conversation([s.text for s in shown], ctx.lang)
        if is_worse(together.verdict, verdict):
            verdict = together.verdict
        else:
            together = None
    in_intake = conv.state is not None
    if not in_intake:
        conv.turn += 1  # buttons of an earlier verdict expire
        conv.pending["check"] = {
            "items": [s.to_json() for s in shown],
            "verdict": verdict,
            "senders": [x.sender for x in explained],
            "bodies": [x.body or s.text for x, s in zip(explained, shown, strict=True)],
        }
    ctx.event("checked", verdict=verdict, count=len(shown))
    ctx.dirty = True
    await ctx.save()
    text = _verdict_text(ctx, shown, explained, problems, len(suspects) - len(shown), together)
    if in_intake:
        ctx.say(f"{text}\n\n{ctx.t('check_in_intake')}")
        await ctx.ask_current()
        return
    turn = conv.turn
    buttons = (
        (Button(ctx.t("check_file"), encode(turn, "sfile")),),
        (
            Button(ctx.t("check_fine"), encode(turn, "sok")),
            Button(ctx.t("check_another"), encode(turn, "snext")),
        ),
    )
    ctx.replies.append(Reply(text, buttons))


def _verdict_text(
    ctx: TurnContext,
    suspects: list[Suspect],
    explained: list[Explanation],
    problems: list[str],
    left_out: int,
    together: Explanation | None = None,
) -> str:
    lines: list[str] = list(problems)
    if len(explained) == 1:
        only, suspect = explained[0], suspects[0]
        if suspect.origin == "image":
            lines.append(ctx.t("check_read_text", text=_quote(suspect.text)))
        lines.append(only.title)
        lines += [f"• {reason}" for reason in only.reasons]
    else:
        lines.append(ctx.t("check_batch", count=len(explained)))
        for index, (suspect, one) in enumerate(zip(suspects, explained, strict=True), 1):
            lines.append("")
            lines.append(f"{index}. {one.title} — {_quote(suspect.text, 60)}")
            lines += [f"   • {reason}" for reason in one.reasons[:3]]
    if left_out > 0:
        lines.append(ctx.t("check_left_out", count=left_out))
    if together is not None:
        lines += ["", together.title, *(f"• {reason}" for reason in together.reasons)]
    advice: list[str] = []
    for one in ([together] if together is not None else []) + explained:
        advice += [a for a in one.advice if a not in advice]
    if advice:
        lines += ["", ctx.t("check_advice")]
        lines += [f"👉 {a}" for a in advice]
    if any(s.origin == "image" for s in suspects):
        lines += ["", ctx.t("check_correct_hint")]
    return "\n".join(lines)


# ------------------------------------------------------------------------ buttons


async def on_another(ctx: TurnContext, press: Press) -> None:
    """Drop the verdict's messages and ask for another one to check."""
    ctx.conv.pending.pop("check", None)
    await ask_for_message(ctx)


async def on_fine(ctx: TurnContext, press: Press) -> None:
    """Drop the verdict's messages: the person needs nothing more."""
    conv = ctx.conv
    conv.pending.pop("check", None)
    conv.turn += 1
    ctx.dirty = True
    await ctx.save()
    ctx.say(ctx.t("check_ok"))


async def on_file(ctx: TurnContext, press: Press) -> None:
    """Start the matching intake pre-filled from the messages just checked."""
    check = ctx.conv.pending.get("check")
    if isinstance(check, dict):
        await file_from_check(ctx, check)
    else:
        await ctx.expired()


async def on_check_command(ctx: TurnContext, text: str) -> None:
    """Check the text after /check, or ask for the message to check."""
    if ctx.services.explainer is None:
        ctx.say(ctx.t("check_unavailable"))
    elif text:
        await check(ctx, [Suspect(text, "pasted")], [])
    elif ctx.conv.state is not None:  # the next text answers the step in progress
        ctx.say(ctx.t("check_usage"))
    else:
        await ask_for_message(ctx)


async def check_incoming(ctx: TurnContext) -> None:
    """Check the message just sent (forwarded, pasted or a screenshot) and its burst."""
    await check(ctx, *await suspects_of(ctx, ctx.incoming))


async def ask_for_message(ctx: TurnContext) -> None:
    """Ask for the message to check; the next text or screenshot is checked, however short."""
    ctx.conv.pending["check_next"] = True
    ctx.dirty = True
    await ctx.save()
    ctx.replies.append(Reply(ctx.t("check_send"), expects_text=True))


def _quote(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return f"「{flat[:limit]}{'…' if len(flat) > limit else ''}」"
