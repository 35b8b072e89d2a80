"""The WeChat messenger: pulled messages in, budgeted replies out, reminders across the window.

Per person and pull: their deferred reminders go first (those that go out now, leaving room for
the start of the answer: one left waiting for "继续" would end as sent, and a new answer replaces
what waits), then the answers to what they wrote, all within the 5 messages WeChat allows per
message of theirs; what does not fit waits for "继续". A reminder due while their 48-hour window
is closed is deferred (not failed) until they write again. Every pulled message is in the inbox
before its cursor moves; its msgid is its delivery id, so a message pulled twice has its effect
once. Someone who opens the chat without writing is greeted once with the event's
`welcome_code` (one message, within 20 s).

Nothing said is lost to a crash: a turn's messages are kept (the outbox) in the transaction
that counts them against the person's 5 and takes what they answer out of the inbox, then
sent, each forgotten once WeCom took it; what a crash left kept goes out after the next pull,
before its messages are answered (see `resend`). A message whose step committed before a crash
but whose turn was never kept is answered by saying where the conversation stands
(`Host.handle_recovered`).

WeChat counts the 5 from when the person wrote; the bot counts from when it pulled. So that
the bot's count never falls behind WeChat's: a msgid handled before opens no new window; what
is kept and unsent when a message is pulled counts in its window; a reminder waits for a pull
asked for (at the start, by a callback) before it is counted; a send whose answer was lost
stays counted; and a reminder and a turn for one person run one after the other (`Turns`), so
neither counts, nor saves the screen, from what it read before the other wrote. What is left:
a send under way at the very moment the person writes is counted in the window before.

The app (bot/app.py) builds it with `WecomOptions`, the API client and the state, and hands it
the `Host` in `start`; it reads no settings and opens no storage.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.messengers import base
from bot.messengers.base import Delivery, Host
from bot.messengers.numbered import OnScreen
from bot.messengers.wecom import menus, outbox, unseen
from bot.messengers.wecom.api import Media, WecomApi, WecomError
from bot.messengers.wecom.calendar import deadline_invite
from bot.messengers.wecom.outbox import Out
from bot.messengers.wecom.pull import PullLoop
from bot.messengers.wecom.state import Kept, Person, Pulled, WecomState
from bot.messengers.wecom.turns import Turns
from bot.messengers.wecom.updates import (
    MESSENGER,
    Item,
    MediaUnavailable,
    delivery_id,
    split_chat_id,
    to_incoming,
)
from flows.definition.typed_text import typed_number
from flows.errors import AlreadyHandled, StorageError
from flows.model import ConversationKey, Incoming, Reply
from flows.ports import Store
from flows.records import Deliveries, Reminder

log = logging.getLogger(__name__)

HUMAN_AGENT = 95018  # the session is with a person at the company: the API may not send
UNREACHABLE = -1  # WeCom could not be reached, or answered 5xx: the send may be tried again
BAD_PULL_TOKEN = 95007  # a callback token WeCom no longer takes
# A callback token lets kf/sync_msg skip its strict limit (45009 after about 10 calls a minute)
# for 10 minutes; kept, it is used again for that long, less a margin for the clocks.
TOKEN_REUSE = timedelta(minutes=9)
_FAIL_WINDOW = frozenset({4, 6})  # msg_send_fail: past 48 hours, over 5 messages
_FAIL_REFUSED = 10  # the person refused messages


@dataclass(frozen=True, slots=True)
class WecomOptions:
    """What the WeChat messenger needs to know (given by the app), and WeChat's rules."""

    open_kfids: tuple[str, ...] = ()  # the customer-service accounts to pull
    window: timedelta = timedelta(hours=48)
    per_message: int = 5
    text_bytes: int = outbox.MAX_TEXT
    menu_items: int = 10
    use_menus: bool = True
    document_formats: frozenset[str] = frozenset({"txt", "zip", "ics"})
    calendar_invites: bool = True
    max_file_size: int = 20 * 1024 * 1024
    poll_interval: timedelta = timedelta(minutes=5)  # the safety pull, for lost callbacks


@dataclass(slots=True)
class Turn:
    """What one person's pulled messages produce before it is sent."""

    screen: OnScreen
    outs: list[Out] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)


class WecomMessenger:
    """Pull, translate, hand to the host, and send within the window for a WeCom corp."""

    name = MESSENGER

    def __init__(
        self,
        options: WecomOptions,
        api: WecomApi,
        state: WecomState,
        store: Store,
        *,
        clock: Clock,
    ) -> None:
        self.options = options
        self.api = api
        self.state = state
        self.store = store
        self.clock = clock
        # WeChat's rules as every messenger states them (bot.messengers.base.Limits).
        self.limits = base.Limits(
            max_text=options.text_bytes,
            measure=base.Measure.BYTES,
            buttons_per_message=options.menu_items,
            messages_per_turn=options.per_message,
            can_edit=False,
            buttons=base.ButtonStyle.MENU if options.use_menus else base.ButtonStyle.NUMBERED,
        )
        self.loops = {
            k: PullLoop(k, self.pull, clock, options.poll_interval) for k in options.open_kfids
        }
        self._host: Host | None = None
        # Pulled messages whose handling began (here, or in a process before a restart) and
        # did not end: their step may have committed with their answer lost.
        self._begun: set[str] = set()
        self._turns = Turns()  # a reminder and an answer for one person: one after the other
        self.refused = 0  # sends WeCom refused (an error code); for the logs and tests
        self.offset = unseen.ClockOffset()  # this clock against WeCom's send_time
        self._bad_tokens: set[str] = set()  # kept callback tokens WeCom refused

    @property
    def host(self) -> Host:
        """Return the app this messenger answers for (set by `start`)."""
        if self._host is None:
            raise RuntimeError("the WeChat messenger was not started")
        return self._host

    # ------------------------------------------------------------------------- receiving

    async def start(self, host: Host) -> None:
        """Answer for `host` from now on: start one pull loop per account."""
        self._host = host
        for open_kfid, loop in self.loops.items():
            self._begun |= {pulled.msgid for pulled in await self.state.inbox(open_kfid)}
            loop.start()

    async def stop(self) -> None:
        """Stop the pull loops (a pull under way is cancelled; its messages come again)."""
        for loop in self.loops.values():
            await loop.stop()

    def wake(self, open_kfid: str, token: str | None) -> bool:
        """Wake an account's pull loop (a callback came); False for an account not ours."""
        loop = self.loops.get(open_kfid)
        if loop is None:
            return False
        loop.wake(token)
        return True

    async def settle(self) -> None:
        """Wait until every account has pulled and handled what it was told of (for tests)."""
        for loop in self.loops.values():
            await loop.settle()

    async def pull(self, open_kfid: str, token: str | None) -> None:
        """Pull every page after the saved cursor into the inbox, send what is kept, then
        handle the inbox.

        `token` is a callback's, kept with the cursor. A pull without one (the first after a
        start, a retry, the safety pull) uses the token kept by a pull in the last minutes:
        without any, WeCom refuses pulls after quick restarts (45009), and the messages
        pulled before the restart, and what was kept to send, would wait for the retries.
        """
        cursor = await self.state.cursor(open_kfid)
        fresh = token  # kept with the page; a token used again keeps its first time
        if token is None:
            token = await self.state.pull_token(open_kfid, self.clock.now() - TOKEN_REUSE)
            token = None if token in self._bad_tokens else token
        while True:
            try:
                page = await self.api.sync_msg(open_kfid, cursor, token)
            except WecomError as exc:
                if token is None or exc.code != BAD_PULL_TOKEN:
                    raise
                log.info("wecom: the callback token was refused; pulling without it")
                self._bad_tokens.add(token)
                token = fresh = None
                continue
            items = [p for m in page.messages if (p := _pulled(m, open_kfid)) is not None]
            items = [await self._first_time(p) for p in items]
            pulled_at = self.clock.now()
            for item in items:
                if item.sent_at is not None:
                    self.offset.observe(pulled_at, item.sent_at)
            await self.state.record_page(open_kfid, items, page.next_cursor, pulled_at, fresh)
            cursor = page.next_cursor
            # An empty page may still say has_more: the loop follows has_more, not the list.
            if not page.has_more:
                break
        # After the pull, not before: a person may have written while it was kept (the bot was
        # down), and WeChat then counts it in the window of that message, as the pull just did.
        await self.resend(open_kfid)
        await self.handle_inbox(open_kfid)

    async def _first_time(self, pulled: Pulled) -> Pulled:
        """Return a message handled before and handed out again as one opening no window.

        Only a message the person really wrote gives the bot 5 more: the same msgid again
        (WeCom handing it out twice, or pulled again after a crash) gives none.
        """
        if pulled.sent_at is None:
            return pulled
        if await self.store.handled(self._deliveries([pulled.msgid])):
            return replace(pulled, sent_at=None)
        return pulled

    async def handle_inbox(self, open_kfid: str) -> None:
        """Handle the account's pulled messages, person by person, in the order they came."""
        people: dict[str, list[Pulled]] = {}
        for pulled in await self.state.inbox(open_kfid):
            people.setdefault(pulled.external_userid, []).append(pulled)
        for person, items in people.items():
            msgids = [i.msgid for i in items]
            async with self._turns.of(person):
                try:
                    await self.handle_person(open_kfid, person, items)
                except StorageError:
                    log.warning(
                        "wecom: could not store; the messages stay in the inbox", exc_info=True
                    )
                    return
                except Exception:
                    log.exception("wecom: handling a person's messages failed; asking them again")
                    try:
                        await self._apologise(open_kfid, person, msgids)
                    except StorageError:
                        log.warning("wecom: could not store; the messages stay in the inbox")
                        return
                    except Exception:
                        log.exception("wecom: could not tell them; their messages are dropped")
            await self.state.handled(msgids)
            self._begun.difference_update(msgids)

    async def handle_person(self, open_kfid: str, person: str, items: list[Pulled]) -> None:
        """Answer one person's pulled messages: deferred reminders first, within the quota
        (the caller holds the person's turn)."""
        key = ConversationKey(MESSENGER, person)
        state = await self.state.person(person)
        # Begun before and not finished: answered as recovered, since they were pulled (not
        # since they were written: a message handed out again was pulled after its first
        # answer, which says nothing new about it).
        begun = [p.msgid for p in items if p.msgid in self._begun]
        recovered = {
            delivery_id(self.api.corp_id, msgid): at
            for msgid, at in (await self.state.received(begun) if begun else {}).items()
        }
        self._begun.update(p.msgid for p in items)
        msgids = [p.msgid for p in items]
        for pulled in items:
            if pulled.body.get("msgtype") == "event":
                await self._event(key, pulled.body.get("event") or {})
        greet = self._room(state) > 0  # opening the chat allows no message by itself...
        if not any(_wrote(p.body) for p in items):
            if not greet:  # ...but its welcome_code allows one greeting
                for pulled in items:
                    if (code := _welcome_code(pulled)) is not None:
                        await self._welcome(open_kfid, key, state, pulled, code)
                return
            if not any(_enters(p) for p in items):
                return  # only events: nobody wrote, nothing to answer
        turn = Turn(menus.screen_of(state.menu))
        seen = unseen.Seen.of(state.menu, turn.screen)  # what they wrote facing, not added now
        written = {
            delivery_id(self.api.corp_id, p.msgid): self.offset.as_ours(at)
            for p in items
            if (at := unseen.written_at(p.body)) is not None
        }
        await self._hold_reminders(turn, person, self._room(state) - 2)
        incomings: list[Incoming] = []
        unfetched = 0
        for pulled in items:
            if _enters(pulled) and not greet:
                continue
            item = Item(pulled.msgid, open_kfid, person, pulled.body)
            try:
                incoming = await to_incoming(
                    item, self.api.corp_id, self._download, self.options.max_file_size
                )
            except MediaUnavailable:
                unfetched += 1
                await self._mark_handled([pulled.msgid])  # answered below, with a notice
                continue
            if incoming is not None:
                incomings.append(incoming)
        pages = [Out.from_json(p) for p in state.pages]
        for incoming in _together(incomings):
            if pages and _asks_more(incoming):
                try:
                    await self.store.mark_handled(Deliveries(MESSENGER, incoming.deliveries))
                except AlreadyHandled:
                    # Handed out again: what it asked for went out then, and these pages are
                    # newer. Unless it was pulled before a crash and its turn never kept.
                    if not any(d in recovered for d in incoming.deliveries):
                        continue
                turn.outs += pages
                pages = []
                continue
            ours = [at for d in incoming.deliveries if (at := written.get(d)) is not None]
            saw = seen.saw(min(ours, default=None))
            if saw is None and await self._unknown_number(incoming, turn.screen):
                language = await self.host.language(key)
                typed = (incoming.text or "").strip()
                text = self.host.text("number_unseen", language).format(number=typed)
                self._add(turn, [Reply(text)])
                await self.store.mark_handled(Deliveries(MESSENGER, incoming.deliveries))
                continue
            replies = await self._answer(_read(incoming, saw, turn.screen), recovered)
            if replies:  # a new answer replaces what waited for "继续" (a message handed
                pages = []  # out again gets none, and leaves it waiting)
            replies = await self._with_invite(key, replies)
            self._add(turn, replies)
        if unfetched:
            # Said when a file could not be fetched from WeCom (expired, gone, failing).
            language = await self.host.language(key)
            self._add(turn, [Reply(self.host.text("file_unfetched", language))])
        await self._send_turn(open_kfid, key, state, turn, pages, msgids)

    async def _hold_reminders(self, turn: Turn, person: str, slots: int) -> None:
        """Put the person's deferred reminders first in the turn, as many as fit in `slots`
        messages (the room, less the answer's first message and 「还有 N 条」). One that would
        wait for "继续" stays deferred: it ends as sent with the turn, and a new answer
        replaces what waits; and what they asked is answered at once."""
        for reminder in await self.state.deferred(person):
            reply = await self.host.reminder_prompt(reminder)
            if reply is None:
                await self.store.finish_reminder(reminder.id, "cancelled")
                continue
            rendered = self._render([reply], turn.screen)
            if len(turn.outs) + len(rendered.outs) > slots:
                continue  # for their next message
            turn.outs += rendered.outs
            turn.screen = rendered.screen
            turn.reminders.append(reminder)

    async def _answer(self, incoming: Incoming, recovered: dict[str, datetime]) -> list[Reply]:
        """Ask the host for the replies, resuming instead where a crash may have lost them."""
        since = [recovered[d] for d in incoming.deliveries if d in recovered]
        if since:
            return await self.host.handle_recovered(incoming, min(since))
        return await self.host.handle(incoming)

    async def _unknown_number(self, incoming: Incoming, screen: OnScreen) -> bool:
        """Return True for a typed number whose list the person saw is not known."""
        text = incoming.text
        if incoming.forward is not None or text is None or screen.number(text) is None:
            return False
        # Handled before (delivered again, or answered before a crash): the engine's to answer.
        return not await self.store.handled(Deliveries(MESSENGER, incoming.deliveries))

    async def _apologise(self, open_kfid: str, person: str, msgids: list[str]) -> None:
        """Tell a person whose messages could not be handled to send them again.

        Where every one of them was saved before the failure (its step committed), sending it
        again would answer the next question: they are told it was saved instead.
        """
        key = ConversationKey(MESSENGER, person)
        state = await self.state.person(person)
        language = await self.host.language(key)
        saved = bool(msgids) and await self.store.handled(self._deliveries(msgids))
        text = self.host.text("internal_error_stuck" if saved else "internal_error", language)
        turn = Turn(menus.screen_of(state.menu))
        self._add(turn, [Reply(text)])
        pages = [Out.from_json(p) for p in state.pages]
        await self._send_turn(open_kfid, key, state, turn, pages, msgids)
        # Answered, if only by the apology: handed out again, they open no new window (WeChat
        # counted the apology in theirs) and are not answered twice.
        await self._mark_handled(msgids)

    async def _mark_handled(self, msgids: list[str]) -> None:
        """Record messages answered without a step (a notice, an apology) as handled."""
        for msgid in msgids:  # one by one: some may be recorded already
            with contextlib.suppress(AlreadyHandled):
                await self.store.mark_handled(self._deliveries([msgid]))

    def _deliveries(self, msgids: Sequence[str]) -> Deliveries:
        """Return the deliveries of pulled messages, as the engine records them."""
        return Deliveries(MESSENGER, tuple(delivery_id(self.api.corp_id, m) for m in msgids))

    async def send_replies(
        self, key: ConversationKey, chat_id: str, replies: Sequence[Reply]
    ) -> None:
        """Send replies to a person within what their window allows; the rest waits for 继续."""
        open_kfid, person = split_chat_id(chat_id)
        async with self._turns.of(person):
            state = await self.state.person(person)
            turn = Turn(menus.screen_of(state.menu))
            self._add(turn, replies)
            await self._send_turn(open_kfid, key, state, turn, [], [])

    def _render(self, replies: Sequence[Reply], screen: OnScreen) -> outbox.Rendered:
        """Return replies as WeChat messages after `screen`, before any budget."""
        return outbox.render(
            replies,
            screen,
            use_menus=self.options.use_menus,
            formats=self.options.document_formats,
        )

    def _add(self, turn: Turn, replies: Sequence[Reply]) -> None:
        rendered = self._render(replies, turn.screen)
        turn.outs += rendered.outs
        turn.screen = rendered.screen

    async def _send_turn(
        self,
        open_kfid: str,
        key: ConversationKey,
        state: Person,
        turn: Turn,
        pages: list[Out],
        msgids: list[str],
    ) -> None:
        """Keep the turn (finishing the messages `msgids` it answers), then send it."""
        leftover = await self._kept(open_kfid, key.user_id)
        if leftover:  # a send failed before (WeCom unreachable): those go first
            with contextlib.suppress(WecomError):
                await self._resend(open_kfid, key.user_id, leftover)
            state = await self.state.person(key.user_id)
        room = self._room(state)
        language = await self.host.language(key)
        now_outs, rest = outbox.budget(outbox.merge(turn.outs), room, language)
        # The held reminders end as sent with the turn that carries them, in its transaction:
        # kept, it goes out (WeCom down or a crash: at the next pull), and held again they
        # would go out twice.
        held = [(r.id, await self.host.reminder_delivery(r)) for r in turn.reminders]
        await self.state.keep_turn(
            key.user_id,
            open_kfid,
            [out.as_reply() for out in now_outs],
            unseen.saved(turn.screen, state.menu, self.clock.now()),
            [o.to_json() for o in [*rest, *pages]],
            msgids,
            held,
        )
        await self._send_kept(open_kfid, key.user_id)
        if await self.store.load_conversation(key) is None:
            # Forgotten in this turn (or never started): keep nothing about them.
            await self.state.forget(key)

    async def _welcome(
        self, open_kfid: str, key: ConversationKey, state: Person, pulled: Pulled, code: str
    ) -> None:
        """Greet someone who opened the chat: the start text and its menu, in one message."""
        item = Item(pulled.msgid, open_kfid, key.user_id, pulled.body)
        incoming = await to_incoming(
            item, self.api.corp_id, self._download, self.options.max_file_size
        )
        if incoming is None:
            return
        replies = await self.host.handle(incoming)
        rendered = self._render(replies, menus.screen_of(state.menu))
        greeting = _greeting(rendered.outs)
        if greeting is None:
            return
        try:
            await self.api.send_on_event(code, _content(greeting))
        except WecomError as exc:
            # Past its 20 seconds (a late pull) or used: they are answered when they write.
            self.refused += 1
            log.warning("wecom: the greeting was not sent (%s)", exc)
            return
        screen = unseen.saved(rendered.screen, state.menu, self.clock.now())
        await self.state.save_screen(key.user_id, open_kfid, screen, [])

    def _room(self, state: Person) -> int:
        if not self._window_open(state):
            return 0
        return max(0, self.options.per_message - state.sent)

    def _window_open(self, state: Person) -> bool:
        at = state.window_at
        return at is not None and self.clock.now() - at < self.options.window

    async def _event(self, key: ConversationKey, event: dict[str, Any]) -> None:
        if event.get("event_type") != "msg_send_fail":
            return
        fail = int(event.get("fail_type") or 0)
        log.warning("wecom: WeChat did not deliver a message (fail_type %s)", fail)
        if fail in _FAIL_WINDOW:
            await self.state.close_window(key.user_id)
        elif fail == _FAIL_REFUSED:
            await self.store.set_unreachable(key, True)

    async def _with_invite(self, key: ConversationKey, replies: list[Reply]) -> list[Reply]:
        """Add a calendar file for the deadline to a turn that hands out a case's letter."""
        if not self.options.calendar_invites:
            return replies
        letters = [
            r.document for r in replies if r.document and r.document.file_name.endswith(".txt")
        ]
        if not letters:
            return replies
        language = await self.host.language(key)
        for case in await self.store.list_cases(key):
            if case.due_at is not None and any(case.number in d.file_name for d in letters):
                invite = deadline_invite(case.number, case.due_at, language, self.clock.now())
                return [*replies, Reply("", document=invite)]
        return replies

    async def _download(self, media_id: str, max_bytes: int) -> Media:
        return await self.api.media(media_id, max_bytes)

    # ------------------------------------------------------------------------- sending

    async def resend(self, open_kfid: str) -> None:
        """Send what was kept for the account's people and not sent (a crash, WeCom down).

        The first message kept for a person may have gone out just before the crash: sending
        it again may cost one more of their 5. With no room for that one, what fits goes out
        ending in "reply 继续 for the rest", and the rest waits for 继续; with their window
        closed, all of it waits. A message of theirs pulled before counted what is kept in
        its window (see `storage.wecom`). Raises WecomError when WeCom cannot be reached (what
        is kept stays, and the pulled messages wait in the inbox).
        """
        people = dict.fromkeys(k.external_userid for k in await self.state.unsent(open_kfid))
        for person in people:
            async with self._turns.of(person):
                # Read again in the turn: a turn or a reminder may have sent some meanwhile.
                kept = await self._kept(open_kfid, person)
                if kept:
                    await self._resend(open_kfid, person, kept)

    async def _resend(self, open_kfid: str, person: str, kept: list[Kept]) -> None:
        """Send again what was kept for one person, within their 5 (see `resend`)."""
        log.info("wecom: sending %s messages kept and not sent before", len(kept))
        state = await self.state.person(person)
        if self._room(state) > 0:
            await self.state.count_sent(person, open_kfid, 1)
        else:
            outs = [Out.of_reply(k.message) for k in kept]
            fits = len(outs) - 1 if self._window_open(state) else 0
            language = await self.host.language(ConversationKey(MESSENGER, person))
            now_outs, rest = outbox.budget(outs, fits, language)
            pages = [*(o.to_json() for o in rest), *state.pages]
            replies = [o.as_reply() for o in now_outs]
            await self.state.rekeep(person, open_kfid, [k.id for k in kept], replies, pages)
        await self._send_kept(open_kfid, person, raise_unreachable=True)

    async def _kept(self, open_kfid: str, person: str) -> list[Kept]:
        return [k for k in await self.state.unsent(open_kfid) if k.external_userid == person]

    async def _send_kept(
        self, open_kfid: str, person: str, *, raise_unreachable: bool = False
    ) -> int:
        """Send what is kept for a person, oldest first, forgetting each once WeCom took it or
        refused it; return how many went out. Unreachable: the rest stays for the next pull."""
        kept = await self._kept(open_kfid, person)
        sent = 0
        for index, message in enumerate(kept):
            try:
                out = Out.of_reply(message.message)
                await self.api.send_msg(await self._message(open_kfid, person, out))
            except WecomError as exc:
                if exc.code == UNREACHABLE:
                    log.warning("wecom: a reply could not be sent (%s); kept for later", exc)
                    if raise_unreachable:
                        raise
                    return sent
                self.refused += 1
                if exc.code == HUMAN_AGENT:
                    log.warning("wecom: a human agent holds the session; replies not sent")
                    rest = [k.id for k in kept[index:]]
                    await self.state.unkeep(rest, person, open_kfid, len(rest))
                    return sent
                log.warning("wecom: a reply was not sent (%s); sending the rest", exc)
                await self.state.unkeep([message.id], person, open_kfid, 1)
                continue
            await self.state.unkeep([message.id], person, open_kfid, 0)
            sent += 1
        return sent

    async def _send(self, open_kfid: str, person: str, outs: list[Out]) -> tuple[int, int]:
        """Send messages in order; return how many WeCom took, and how many it may have taken
        (unreachable: the answer did not come back). A refused one is skipped."""
        sent = unsure = 0
        for out in outs:
            try:
                await self.api.send_msg(await self._message(open_kfid, person, out))
            except WecomError as exc:
                self.refused += 1
                if exc.code == UNREACHABLE:
                    log.warning("wecom: a reply may not have been sent (%s)", exc)
                    unsure += 1
                    continue
                if exc.code == HUMAN_AGENT:
                    log.warning("wecom: a human agent holds the session; replies not sent")
                    return sent, unsure
                log.warning("wecom: a reply was not sent (%s); sending the rest", exc)
                continue
            sent += 1
        return sent, unsure

    async def _send_counted(self, open_kfid: str, person: str, outs: list[Out]) -> int:
        """Send within the person's quota, counting the messages before they go out.

        A crash between sending and counting would leave the bot sure of room WeChat no
        longer gives (its next send refused, a reminder lost); counted first, a crash only
        leaves room unused. What WeCom refused is given back; what may have reached it (no
        answer came back) stays counted.
        """
        if not outs:
            return 0
        await self.state.count_sent(person, open_kfid, len(outs))
        sent, unsure = await self._send(open_kfid, person, outs)
        if sent + unsure < len(outs):
            await self.state.count_sent(person, open_kfid, sent + unsure - len(outs))
        return sent

    async def _message(self, open_kfid: str, person: str, out: Out) -> dict[str, Any]:
        head = {"touser": person, "open_kfid": open_kfid}
        if out.document is not None:
            doc = out.document
            media_id = await self.api.upload("file", doc.file_name, doc.content, doc.mime_type)
            return {**head, "msgtype": "file", "file": {"media_id": media_id}}
        return {**head, **_content(out)}

    # ------------------------------------------------------------------------- reminders

    async def deliver_reminder(self, reminder: Reminder, reply: Reply) -> Delivery:
        """Send a due reminder inside the window; otherwise hold it for their next message."""
        open_kfid, person = split_chat_id(reminder.chat_id)
        loop = self.loops.get(open_kfid)
        if loop is not None:
            # WeChat counts from when the person wrote, the bot from when it pulled: a message
            # written while the bot was down or just told of (a callback) is pulled first, or
            # the reminder would be counted in the window before it and a 6th sent after.
            await loop.caught_up()
        async with self._turns.of(person):
            return await self._deliver_reminder(open_kfid, person, reply, reminder)

    async def _deliver_reminder(
        self, open_kfid: str, person: str, reply: Reply, reminder: Reminder
    ) -> Delivery:
        state = await self.state.person(person)
        rendered = self._render([reply], menus.screen_of(state.menu))
        if not rendered.outs or len(rendered.outs) > self._room(state):
            await self.state.defer(reminder.id, self.clock.now())
            return Delivery.DEFERRED
        sent = await self._send_counted(open_kfid, person, rendered.outs)
        if sent == 0:
            return Delivery.RETRY
        screen = unseen.saved(rendered.screen, state.menu, self.clock.now(), pushed=True)
        await self.state.save_screen(person, open_kfid, screen, state.pages)
        return Delivery.SENT


def _content(out: Out) -> dict[str, Any]:
    """Return a text or menu message's type and content, as send_msg and send_msg_on_event take."""
    if out.menu:
        items = [{"type": "click", "click": {"id": b.data, "content": b.label}} for b in out.menu]
        return {"msgtype": "msgmenu", "msgmenu": {"head_content": out.text, "list": items}}
    return {"msgtype": "text", "text": {"content": out.text}}


def _greeting(outs: list[Out]) -> Out | None:
    """Return the one message a greeting may be: the menu to answer, else the first text."""
    said = [o for o in outs if o.document is None]
    return next((o for o in said if o.menu), said[0] if said else None)


def _welcome_code(pulled: Pulled) -> str | None:
    """Return the welcome_code of an enter_session event (None: WeCom gave none)."""
    if not _enters(pulled):
        return None
    code = (pulled.body.get("event") or {}).get("welcome_code")
    return str(code) if code else None


def _pulled(message: dict[str, Any], open_kfid: str) -> Pulled | None:
    item = Item.of(message)
    if item is None:
        return None
    sent_at = unseen.written_at(message) if _wrote(message) else None
    return Pulled(item.msgid, item.open_kfid or open_kfid, item.external_userid, message, sent_at)


def _together(incomings: list[Incoming]) -> list[Incoming]:
    """Join files sent one after another into one message, as an album is on Telegram."""
    joined: list[Incoming] = []
    for incoming in incomings:
        last = joined[-1] if joined else None
        if last is not None and _only_files(last) and _only_files(incoming):
            joined[-1] = replace(
                last,
                attachments=last.attachments + incoming.attachments,
                deliveries=last.deliveries + incoming.deliveries,
            )
        else:
            joined.append(incoming)
    return joined


def _only_files(incoming: Incoming) -> bool:
    return bool(incoming.attachments) and incoming.text is None and incoming.button is None


def _wrote(message: dict[str, Any]) -> bool:
    """Return True for a message the person wrote (which opens a new window)."""
    return message.get("msgtype") != "event" and message.get("origin", 3) == 3


def _asks_more(incoming: Incoming) -> bool:
    return incoming.text is not None and incoming.text.strip().lower() in outbox.MORE_WORDS


def _enters(pulled: Pulled) -> bool:
    event = pulled.body.get("event") or {}
    return pulled.body.get("msgtype") == "event" and event.get("event_type") == "enter_session"


def _read(incoming: Incoming, saw: OnScreen | None, newest: OnScreen) -> Incoming:
    """Return a typed line as what it presses: a number, on the list the person saw when they
    wrote it (see `unseen`); words, which say which button they mean, on the newest, else on
    the one they saw (a reminder held for this message went out first, with its own list)."""
    text = incoming.text
    if saw is None or saw == newest or incoming.forward is not None or text is None:
        return _pressed(incoming, newest)
    if typed_number(text) is None:
        pressed = _pressed(incoming, newest)
        return pressed if pressed is not incoming else _pressed(incoming, saw)
    item = saw.number(text)
    if item is not None:
        return replace(incoming, text=None, button=saw.question[item - 1].data)
    return incoming  # an answer typed to a question (an amount), or no item of theirs: as typed


def _pressed(incoming: Incoming, screen: OnScreen) -> Incoming:
    """Return a typed number or label as the button it names, a command word as its command."""
    if incoming.text is None or incoming.forward is not None:
        return incoming
    command = menus.command(screen, incoming.text)
    if command is not None:
        return replace(incoming, text=command)
    button = screen.press(incoming.text)
    if button is not None:
        return replace(incoming, text=None, button=button.data)
    return incoming
