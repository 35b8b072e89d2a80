"""Letters, exports, "where can this go?" and the name and phone a person puts on letters.

After the first filing the bot asks once, optionally, for a name and a phone for the letter
(both can be left out, and `/me` changes them later); then, and after every later filing, it
sends the letter. Case buttons here are global (`g:VERB:NUMBER`) like the follow-up ones.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import replace

from flows.conversation.callbacks import GLOBAL, Press, encode
from flows.conversation.context import TurnContext
from flows.definition import actions
from flows.definition.ladder import place
from flows.definition.texts import pick
from flows.definition.typed_text import normalised
from flows.errors import LetterError
from flows.model import Button, Reply
from flows.records import CaseRecord, Letter, Profile

log = logging.getLogger(__name__)

NAME_LIMIT = 40
ADDRESS_LIMIT = 120
FIRST_ASK = ("name", "phone")  # what the first filing offers to put on letters


# ------------------------------------------------------------------------ commands


async def on_letter_command(ctx: TurnContext, arg: str) -> None:
    """Send a case's letter again (/letter NUMBER [LANGUAGE])."""
    number, _, lang = normalised(arg).partition(" ")  # a full-width space splits too
    lang = lang.strip().lower() or ctx.lang
    if lang not in ctx.services.flows.languages:
        ctx.say(ctx.t("letter_usage"))
        return
    case = await _case(ctx, number, "letter_usage")
    if case is not None:
        send_letter(ctx, case, lang)


async def on_export_command(ctx: TurnContext, arg: str) -> None:
    """Send a whole case as a zip (/export NUMBER)."""
    case = await _case(ctx, arg, "export_usage")
    if case is None:
        return
    if ctx.services.paperwork is None:
        ctx.say(ctx.t("paperwork_unavailable"))
        return
    try:
        document = await ctx.services.paperwork.export(case, ctx.lang, ctx.conv.profile)
    except LetterError as e:
        log.error("%s", e)
        ctx.say(ctx.t("paperwork_unavailable"))
        return
    except Exception:
        log.exception("could not export case %s", case.number)
        ctx.say(ctx.t("paperwork_unavailable"))
        return
    ctx.replies.append(Reply(ctx.t("export_ready", number=case.number), document=document))


async def on_channels_command(ctx: TurnContext, arg: str) -> None:
    """List where a case, the intake in progress or a kind of problem can go (/channels)."""
    text = ctx.services.followups.text
    if arg.strip():
        case = await _case(ctx, arg, "channels_usage")
        if case is not None:
            ctx.say(text.case_channels(case, ctx.lang), case_row(ctx, case.number))
        return
    if ctx.conv.state is not None and ctx.machine is not None:
        ctx.say(text.flow_channels(ctx.machine.flow, ctx.lang))
        return
    rows = tuple(
        (Button(title, encode(GLOBAL, "chf", flow_id)),)
        for flow_id, title in text.categories(ctx.lang)
    )
    ctx.say(ctx.t("channels_pick"), rows)


async def show_me(ctx: TurnContext, arg: str) -> None:
    """Show the name, phone and address put on letters, to change or remove them (/me)."""
    profile = ctx.conv.profile
    skipped = ctx.t("answer_skipped")
    ctx.say(
        ctx.t(
            "me_view",
            name=profile.name or skipped,
            phone=profile.phone or skipped,
            address=profile.address or skipped,
            postcode=profile.postcode or skipped,
        ),
        (
            (
                Button(ctx.t("me_edit"), encode(GLOBAL, "me", "edit")),
                Button(ctx.t("me_clear"), encode(GLOBAL, "me", "clear")),
            ),
        ),
    )


# ------------------------------------------------------------------------- buttons


async def on_letter_button(ctx: TurnContext, press: Press) -> None:
    """Send the letter of the case under the button (g:let:NUMBER)."""
    await on_letter_command(ctx, press.arg)


async def on_export_button(ctx: TurnContext, press: Press) -> None:
    """Send the case under the button as a zip (g:exp:NUMBER)."""
    await on_export_command(ctx, press.arg)


async def on_channels_button(ctx: TurnContext, press: Press) -> None:
    """List where the case under the button can go (g:chn:NUMBER)."""
    await on_channels_command(ctx, press.arg)


async def on_flow_channels(ctx: TurnContext, press: Press) -> None:
    """List where a kind of problem can go (g:chf:FLOW), picked from /channels."""
    if (flow := ctx.services.flows.get(press.arg)) is not None:
        ctx.say(ctx.services.followups.text.flow_channels(flow, ctx.lang))
    else:
        await ctx.expired()


async def on_profile_skip(ctx: TurnContext, press: Press) -> None:
    """Leave the name, phone, address or postcode asked for off the letters."""
    if ctx.conv.pending.get("profile"):
        await take_profile(ctx, None)
    else:
        await ctx.expired()


async def on_me_button(ctx: TurnContext, press: Press) -> None:
    """Change (g:me:edit) or remove (g:me:clear) what goes on the letters."""
    if press.arg == "edit" and ctx.conv.state is None:
        ctx.conv.pending = {
            "profile": {
                "ask": "name",
                "queue": ["phone", "address", "postcode"],
                "changing": True,
            }
        }
        ctx.dirty = True
        await ctx.save()
        ask_profile(ctx, "name")
    elif press.arg == "clear":
        ctx.conv.profile = Profile(asked=True)
        ctx.dirty = True
        await ctx.save()
        ctx.say(ctx.t("me_cleared"))
    else:
        await ctx.expired()


# ------------------------------------------------------------ after filing, profile


async def after_filing(ctx: TurnContext, number: str) -> None:
    """Send the letter of a case just filed; first ask for what its channel needs of them.

    The first filing offers name and phone (both may be left out); a channel that requires
    more (12315: address; 12300: address and postcode) is asked for what is missing, with
    the reason, whenever a case reaches it.
    """
    if ctx.services.paperwork is None:
        return
    case = await ctx.services.store.get_case(ctx.conv.key, number)
    if case is None:
        return
    await _letter_after_details(ctx, case, first=not ctx.conv.profile.asked)


async def after_escalation(ctx: TurnContext, number: str) -> None:
    """Send the letter to the channel the case just climbed to, after any details it needs."""
    case = await ctx.services.store.get_case(ctx.conv.key, number)
    if case is not None and ctx.services.paperwork is not None:
        await _letter_after_details(ctx, case, first=False)


async def _letter_after_details(ctx: TurnContext, case: CaseRecord, *, first: bool) -> None:
    flow = ctx.services.flows.get(case.flow_id, case.flow_version)
    _, channel = place(flow.ladder if flow else (), case.rung, ctx.services.flows.channels)
    required = channel.identity if channel is not None else ()
    missing = ctx.conv.profile.missing(required)
    queue = [f for f in FIRST_ASK if first]
    queue += [f for f in missing if f not in queue]
    if not queue:
        send_letter(ctx, case, ctx.lang)
        return
    if missing and channel is not None:
        names = [ctx.t(f"field_{f}") for f in missing]
        sep = "、" if ctx.lang == "zh" else ", "
        ctx.say(
            ctx.t(
                "identity_needed",
                channel=pick(channel.name, ctx.lang),
                fields=sep.join(names),
            )
        )
    ctx.conv.pending = {"profile": {"ask": queue[0], "queue": queue[1:], "case": case.number}}
    ctx.dirty = True
    await ctx.save()
    ask_profile(ctx, queue[0])


def ask_profile(ctx: TurnContext, what: str) -> None:
    """Ask for the name, phone, address or postcode, with a button to leave it out."""
    skip = Button(ctx.t(f"profile_{what}_skip"), encode(GLOBAL, "pskip"))
    asking = ctx.conv.pending.get("profile")
    # /me's change has its own wording: the first filing's ("I ask only once") would be false.
    changing = isinstance(asking, dict) and asking.get("changing")
    key = f"me_{what}_ask"
    if not (changing and ctx.services.flows.catalog.has(key)):
        key = f"profile_{what}_ask"
    ctx.replies.append(Reply(ctx.t(key), ((skip,),), expects_text=True))


async def drop_stale_profile_question(ctx: TurnContext) -> None:
    """Forget the name/phone question once the person moves on (a command, another button).

    They are asked again after their next filing: "once" means once answered, not once seen.
    """
    ctx.drop_question_on_move("profile", "pskip")


def takes_profile(ctx: TurnContext) -> bool:
    """Return True when this message answers the name or phone question."""
    return ctx.conv.state is None and ctx.answers_question("profile")


async def take_typed_profile(ctx: TurnContext) -> None:
    """Take the name, phone, address or postcode just typed."""
    await take_profile(ctx, ctx.incoming.text)


async def take_profile(ctx: TurnContext, text: str | None) -> None:
    """Take the typed name or phone (None: left out), then ask the next or send the letter."""
    asking = dict(ctx.conv.pending["profile"])
    what = asking.get("ask")
    value: str | None = None
    if text is not None:
        value = _profile_value(str(what), text.strip())
        if value is None:
            ask_profile_again(ctx, str(what))
            return
    queue = [str(f) for f in asking.get("queue", ["phone"] if what == "name" else [])]
    ctx.conv.profile = replace(ctx.conv.profile, **{str(what): value}, asked=True)
    if queue:
        asking["ask"], asking["queue"] = queue[0], queue[1:]
    else:
        asking.pop("ask")
    ctx.conv.pending = {"profile": asking} if "ask" in asking else {}
    ctx.dirty = True
    await ctx.save()
    if "ask" in asking:
        ask_profile(ctx, str(asking["ask"]))
        return
    ctx.say(ctx.t("profile_saved"))
    number = asking.get("case")
    case = await ctx.services.store.get_case(ctx.conv.key, str(number)) if number else None
    if case is not None:
        send_letter(ctx, case, ctx.lang)


def ask_profile_again(ctx: TurnContext, what: str) -> None:
    """Say why the typed value was not taken, and ask again."""
    ctx.say(ctx.t(f"profile_{what}_bad"))
    ask_profile(ctx, what)


def _profile_value(what: str, text: str) -> str | None:
    if what == "name":
        ok = 0 < len(text) <= NAME_LIMIT and "\n" not in text and "://" not in text
        return text if ok else None
    if what == "address":
        line = " ".join(text.split())
        return line if 4 <= len(line) <= ADDRESS_LIMIT and "://" not in line else None
    if what == "postcode":
        digits = unicodedata.normalize("NFKC", text).strip()
        return digits if len(digits) == 6 and digits.isascii() and digits.isdigit() else None
    return actions.one_phone(text)


# ------------------------------------------------------------------------- letters


def send_letter(ctx: TurnContext, case: CaseRecord, lang: str) -> None:
    """Add the letter messages: intro, the text to copy, the files, the one-line report."""
    paperwork = ctx.services.paperwork
    if paperwork is None:
        ctx.say(ctx.t("paperwork_unavailable"))
        return
    try:
        letter = paperwork.letter(case, lang, ctx.conv.profile)
    except LookupError:  # a case whose flow no longer has that rung: nothing to address
        ctx.say(ctx.t("letter_none", number=case.number))
        return
    except LetterError as e:
        # Says which case, letter and template, and why: enough to fix it, and a console
        # user (whose terminal shows the log) sees one line, not a traceback.
        log.error("%s", e)
        ctx.say(ctx.t("paperwork_unavailable"))
        return
    except Exception:
        # The case is safely filed; a letter that cannot be written must not hide that.
        log.exception("could not write the letter of case %s", case.number)
        ctx.say(ctx.t("paperwork_unavailable"))
        return
    ctx.say(ctx.t("letter_intro", number=case.number, addressee=letter.addressee))
    ctx.say(letter.text)
    txt, md = letter.documents()
    ctx.replies += [Reply("", document=txt), Reply("", document=md)]
    _short_report(ctx, letter)
    ctx.say(ctx.t("letter_next", number=case.number), case_row(ctx, case.number))


def _short_report(ctx: TurnContext, letter: Letter) -> None:
    for short in (letter.short, *letter.also_short):
        if short is None:
            continue
        intro = ctx.t("letter_short", to=short.to)
        if short.unconfirmed:
            intro += "\n" + ctx.t("channel_unconfirmed", text=short.unconfirmed)
        ctx.say(intro)
        ctx.say(short.text)


def case_row(ctx: TurnContext, number: str) -> tuple[tuple[Button, ...], ...]:
    """Return the buttons every view of a case ends with (letter, channels, export)."""
    if ctx.services.paperwork is None:
        return ()
    return (
        (
            Button(ctx.t("letter_button"), encode(GLOBAL, "let", number)),
            Button(ctx.t("channels_button"), encode(GLOBAL, "chn", number)),
            Button(ctx.t("export_button"), encode(GLOBAL, "exp", number)),
        ),
    )


async def _case(ctx: TurnContext, arg: str, usage: str) -> CaseRecord | None:
    number = normalised(arg).strip().split(" ", 1)[0].upper()[:40]
    if not number:
        ctx.say(ctx.t(usage))
        return None
    case = await ctx.services.store.get_case(ctx.conv.key, number)
    if case is None:
        ctx.say(ctx.t("case_not_found", number=number))
    return case
