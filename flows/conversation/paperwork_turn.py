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
from flows.conversation.turn import Turn
from flows.definition import actions
from flows.definition.ladder import place
from flows.definition.texts import pick
from flows.definition.typed_text import normalised
from flows.errors import LetterError
from flows.model import Button, Reply
from flows.records import CaseRecord, Letter, Profile

log = logging.getLogger(__name__)

PAPERWORK_VERBS = frozenset({"let", "exp", "chn", "chf", "pskip", "me"})
NAME_LIMIT = 40
ADDRESS_LIMIT = 120
FIRST_ASK = ("name", "phone")  # what the first filing offers to put on letters


class PaperworkTurn(Turn):
    """Hand out letters and exports, list channels, and keep the person's letter details."""

    # ------------------------------------------------------------------------ commands

    async def on_letter_command(self, arg: str) -> None:
        number, _, lang = normalised(arg).partition(" ")  # a full-width space splits too
        lang = lang.strip().lower() or self.lang
        if lang not in self.e.flows.languages:
            self.say(self.t("letter_usage"))
            return
        case = await self._case(number, "letter_usage")
        if case is not None:
            self.send_letter(case, lang)

    async def on_export_command(self, arg: str) -> None:
        case = await self._case(arg, "export_usage")
        if case is None:
            return
        if self.e.paperwork is None:
            self.say(self.t("paperwork_unavailable"))
            return
        try:
            document = await self.e.paperwork.export(case, self.lang, self.conv.profile)
        except LetterError as e:
            log.error("%s", e)
            self.say(self.t("paperwork_unavailable"))
            return
        except Exception:
            log.exception("could not export case %s", case.number)
            self.say(self.t("paperwork_unavailable"))
            return
        self.replies.append(Reply(self.t("export_ready", number=case.number), document=document))

    async def on_channels_command(self, arg: str) -> None:
        text = self.e.followups.text
        if arg.strip():
            case = await self._case(arg, "channels_usage")
            if case is not None:
                self.say(text.case_channels(case, self.lang), self.case_row(case.number))
            return
        if self.conv.state is not None and self.machine is not None:
            self.say(text.flow_channels(self.machine.flow, self.lang))
            return
        rows = tuple(
            (Button(title, encode(GLOBAL, "chf", flow_id)),)
            for flow_id, title in text.categories(self.lang)
        )
        self.say(self.t("channels_pick"), rows)

    async def show_me(self) -> None:
        profile = self.conv.profile
        skipped = self.t("answer_skipped")
        self.say(
            self.t(
                "me_view",
                name=profile.name or skipped,
                phone=profile.phone or skipped,
                address=profile.address or skipped,
                postcode=profile.postcode or skipped,
            ),
            (
                (
                    Button(self.t("me_edit"), encode(GLOBAL, "me", "edit")),
                    Button(self.t("me_clear"), encode(GLOBAL, "me", "clear")),
                ),
            ),
        )

    # ------------------------------------------------------------------------- buttons

    async def on_paperwork_button(self, press: Press) -> None:
        if press.verb == "let":
            await self.on_letter_command(press.arg)
        elif press.verb == "exp":
            await self.on_export_command(press.arg)
        elif press.verb == "chn":
            await self.on_channels_command(press.arg)
        elif press.verb == "chf" and (flow := self.e.flows.get(press.arg)) is not None:
            self.say(self.e.followups.text.flow_channels(flow, self.lang))
        elif press.verb == "pskip" and self.conv.pending.get("profile"):
            await self.take_profile(None)
        elif press.verb == "me" and press.arg == "edit" and self.conv.state is None:
            self.conv.pending = {
                "profile": {
                    "ask": "name",
                    "queue": ["phone", "address", "postcode"],
                    "changing": True,
                }
            }
            self.dirty = True
            await self.save()
            self.ask_profile("name")
        elif press.verb == "me" and press.arg == "clear":
            self.conv.profile = Profile(asked=True)
            self.dirty = True
            await self.save()
            self.say(self.t("me_cleared"))
        else:
            await self.ask_current(prefix=self.t("button_expired"))

    # ------------------------------------------------------------ after filing, profile

    async def after_filing(self, number: str) -> None:
        """Send the letter of a case just filed; first ask for what its channel needs of them.

        The first filing offers name and phone (both may be left out); a channel that requires
        more (12315: address; 12300: address and postcode) is asked for what is missing, with
        the reason, whenever a case reaches it.
        """
        if self.e.paperwork is None:
            return
        case = await self.e.store.get_case(self.conv.key, number)
        if case is None:
            return
        await self._letter_after_details(case, first=not self.conv.profile.asked)

    async def after_escalation(self, number: str) -> None:
        """Send the letter to the channel the case just climbed to, after any details it needs."""
        case = await self.e.store.get_case(self.conv.key, number)
        if case is not None and self.e.paperwork is not None:
            await self._letter_after_details(case, first=False)

    async def _letter_after_details(self, case: CaseRecord, *, first: bool) -> None:
        flow = self.e.flows.get(case.flow_id, case.flow_version)
        _, channel = place(flow.ladder if flow else (), case.rung, self.e.flows.channels)
        required = channel.identity if channel is not None else ()
        missing = self.conv.profile.missing(required)
        queue = [f for f in FIRST_ASK if first]
        queue += [f for f in missing if f not in queue]
        if not queue:
            self.send_letter(case, self.lang)
            return
        if missing and channel is not None:
            names = [self.t(f"field_{f}") for f in missing]
            sep = "、" if self.lang == "zh" else ", "
            self.say(
                self.t(
                    "identity_needed",
                    channel=pick(channel.name, self.lang),
                    fields=sep.join(names),
                )
            )
        self.conv.pending = {"profile": {"ask": queue[0], "queue": queue[1:], "case": case.number}}
        self.dirty = True
        await self.save()
        self.ask_profile(queue[0])

    def ask_profile(self, what: str) -> None:
        skip = Button(self.t(f"profile_{what}_skip"), encode(GLOBAL, "pskip"))
        asking = self.conv.pending.get("profile")
        # /me's change has its own wording: the first filing's ("I ask only once") would be false.
        changing = isinstance(asking, dict) and asking.get("changing")
        key = f"me_{what}_ask"
        if not (changing and self.e.flows.catalog.has(key)):
            key = f"profile_{what}_ask"
        self.replies.append(Reply(self.t(key), ((skip,),), expects_text=True))

    def drop_stale_profile_question(self) -> None:
        """Forget the name/phone question once the person moves on (a command, another button).

        They are asked again after their next filing: "once" means once answered, not once seen.
        """
        self.drop_question_on_move("profile", "pskip")

    def takes_profile(self) -> bool:
        """Return True when this message answers the name or phone question."""
        return self.answers_question("profile")

    async def take_profile(self, text: str | None) -> None:
        """Take the typed name or phone (None: left out), then ask the next or send the letter."""
        asking = dict(self.conv.pending["profile"])
        what = asking.get("ask")
        value: str | None = None
        if text is not None:
            value = self._profile_value(str(what), text.strip())
            if value is None:
                self.ask_profile_again(str(what))
                return
        queue = [str(f) for f in asking.get("queue", ["phone"] if what == "name" else [])]
        self.conv.profile = replace(self.conv.profile, **{str(what): value}, asked=True)
        if queue:
            asking["ask"], asking["queue"] = queue[0], queue[1:]
        else:
            asking.pop("ask")
        self.conv.pending = {"profile": asking} if "ask" in asking else {}
        self.dirty = True
        await self.save()
        if "ask" in asking:
            self.ask_profile(str(asking["ask"]))
            return
        self.say(self.t("profile_saved"))
        number = asking.get("case")
        case = await self.e.store.get_case(self.conv.key, str(number)) if number else None
        if case is not None:
            self.send_letter(case, self.lang)

    def ask_profile_again(self, what: str) -> None:
        self.say(self.t(f"profile_{what}_bad"))
        self.ask_profile(what)

    def _profile_value(self, what: str, text: str) -> str | None:
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

    def send_letter(self, case: CaseRecord, lang: str) -> None:
        """Add the letter messages: intro, the text to copy, the files, the one-line report."""
        paperwork = self.e.paperwork
        if paperwork is None:
            self.say(self.t("paperwork_unavailable"))
            return
        try:
            letter = paperwork.letter(case, lang, self.conv.profile)
        except LookupError:  # a case whose flow no longer has that rung: nothing to address
            self.say(self.t("letter_none", number=case.number))
            return
        except LetterError as e:
            # Says which case, letter and template, and why: enough to fix it, and a console
            # user (whose terminal shows the log) sees one line, not a traceback.
            log.error("%s", e)
            self.say(self.t("paperwork_unavailable"))
            return
        except Exception:
            # The case is safely filed; a letter that cannot be written must not hide that.
            log.exception("could not write the letter of case %s", case.number)
            self.say(self.t("paperwork_unavailable"))
            return
        self.say(self.t("letter_intro", number=case.number, addressee=letter.addressee))
        self.say(letter.text)
        txt, md = letter.documents()
        self.replies += [Reply("", document=txt), Reply("", document=md)]
        self._short_report(letter)
        self.say(self.t("letter_next", number=case.number), self.case_row(case.number))

    def _short_report(self, letter: Letter) -> None:
        for short in (letter.short, *letter.also_short):
            if short is None:
                continue
            intro = self.t("letter_short", to=short.to)
            if short.unconfirmed:
                intro += "\n" + self.t("channel_unconfirmed", text=short.unconfirmed)
            self.say(intro)
            self.say(short.text)

    def case_row(self, number: str) -> tuple[tuple[Button, ...], ...]:
        if self.e.paperwork is None:
            return ()
        return (
            (
                Button(self.t("letter_button"), encode(GLOBAL, "let", number)),
                Button(self.t("channels_button"), encode(GLOBAL, "chn", number)),
                Button(self.t("export_button"), encode(GLOBAL, "exp", number)),
            ),
        )

    async def _case(self, arg: str, usage: str) -> CaseRecord | None:
        number = normalised(arg).strip().split(" ", 1)[0].upper()[:40]
        if not number:
            self.say(self.t(usage))
            return None
        case = await self.e.store.get_case(self.conv.key, number)
        if case is None:
            self.say(self.t("case_not_found", number=number))
        return case
