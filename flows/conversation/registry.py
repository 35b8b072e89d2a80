"""Which handler takes which message: every command, button verb and kind of typed text.

A message goes through the `before` hooks (withdrawing the questions the person moved on from),
then to exactly one handler: its command's, its button verb's, or the first text route that
takes it. The command menu a messenger shows and the /help text are made from the commands
registered here, each with its description (`cmd_NAME`) and help line (`help_NAME`) in the texts
of common.yaml. `default_registry()` at the end is the one place where everything is registered.

A new command is one handler `async def NAME(ctx: TurnContext, arg: str)` in the handler module
of its concept, one `r.command(...)` line below, its `cmd_NAME` and `help_NAME` texts in zh and en
(start-up and `flows check` stop without them), its line in the README, and its tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from flows.conversation.callbacks import Press, decode
from flows.conversation.context import TurnContext
from flows.conversation.handlers import (
    answers,
    cancel,
    case,
    check,
    describe,
    forget,
    intake,
    language,
    paperwork,
)
from flows.definition.checker import COMMON_FILE
from flows.definition.texts import Catalog
from flows.errors import FlowError, Problem

CommandHandler = Callable[[TurnContext, str], Awaitable[None]]  # takes the text after /NAME
ButtonHandler = Callable[[TurnContext, Press], Awaitable[None]]
Hook = Callable[[TurnContext], Awaitable[None]]
Test = Callable[[TurnContext], bool]


class Scope(Enum):
    """When a button verb is taken; a button that does not fit says it has expired."""

    GLOBAL = "global"  # g:VERB:ARG, under case views and menus: never expires
    LATEST = "latest"  # TURN:VERB under the latest question, in an intake or not (confirmations)
    IDLE = "idle"  # TURN:VERB under the latest question, when no intake is in progress


@dataclass(frozen=True, slots=True)
class Command:
    """A chat command: `/NAME ARG`."""

    name: str
    run: CommandHandler
    menu: bool  # listed in the messengers' command menu and in /help

    @property
    def texts(self) -> tuple[str, ...]:
        """Return the catalog keys this command is described with."""
        return (f"cmd_{self.name}", f"help_{self.name}") if self.menu else ()


@dataclass(frozen=True, slots=True)
class TextRoute:
    """Typed text, a file or a forward that `takes` tells this handler to take."""

    takes: Test
    run: Hook


class Registry:
    """The handlers of one engine, by what they take."""

    def __init__(self) -> None:
        self._before: list[Hook] = []
        self._commands: dict[str, Command] = {}
        self._buttons: dict[Scope, dict[str, ButtonHandler]] = {scope: {} for scope in Scope}
        self._step_buttons: ButtonHandler | None = None
        self._texts: list[TextRoute] = []

    # ------------------------------------------------------------------ registering

    def before(self, hook: Hook) -> None:
        """Run `hook` on every message before it is dispatched, in registration order."""
        self._before.append(hook)

    def command(self, name: str, run: CommandHandler, *, menu: bool = True) -> None:
        """Take `/name`; a command in the menu is listed there and in /help, in this order."""
        if name in self._commands:
            raise ValueError(f"command /{name} is registered twice")
        self._commands[name] = Command(name, run, menu)

    def button(self, scope: Scope, verb: str, run: ButtonHandler) -> None:
        """Take the buttons whose data carries `verb`, when `scope` says they still apply."""
        if verb in self._buttons[scope]:
            raise ValueError(f"button verb {verb!r} is registered twice for {scope.value}")
        self._buttons[scope][verb] = run

    def step_buttons(self, run: ButtonHandler) -> None:
        """Take every other button under the current question of an intake."""
        self._step_buttons = run

    def text(self, takes: Test, run: Hook) -> None:
        """Take what `takes` accepts among the messages no earlier text route took."""
        self._texts.append(TextRoute(takes, run))

    # ------------------------------------------------------------------- describing

    def commands(self) -> list[Command]:
        """Return the commands of the menu, in menu order."""
        return [c for c in self._commands.values() if c.menu]

    def menu(self, catalog: Catalog, language: str) -> list[tuple[str, str]]:
        """Return (command, description) for a messenger's command menu."""
        return [(c.name, catalog(f"cmd_{c.name}", language)) for c in self.commands()]

    def help_text(self, catalog: Catalog, language: str) -> str:
        """Return /help: what the bot does, one line per command of the menu, then tips."""
        lines = "\n".join(catalog(f"help_{c.name}", language) for c in self.commands())
        return "\n\n".join(
            (catalog("help_intro", language), lines, catalog("help_outro", language))
        )

    def check(self, catalog: Catalog) -> None:
        """Raise FlowError naming every text the registered commands need and common.yaml lacks."""
        needed = [("help_intro", "/help"), ("help_outro", "/help")]
        needed += [(key, f"/{c.name}") for c in self._commands.values() for key in c.texts]
        problems = [
            Problem(COMMON_FILE, 1, f"texts.{key}: missing (the command {command} says it)")
            for key, command in needed
            if not catalog.has(key)
        ]
        if problems:
            raise FlowError(problems)

    # ------------------------------------------------------------------ dispatching

    async def dispatch(self, ctx: TurnContext) -> None:
        """Hand one message to the handler that takes it."""
        for hook in self._before:
            await hook(ctx)
        incoming = ctx.incoming
        if incoming.command is not None:
            await self.run_command(ctx, *incoming.command)
        elif incoming.button is not None:
            await self._press(ctx, incoming.button)
        else:
            for route in self._texts:
                if route.takes(ctx):
                    await route.run(ctx)
                    return

    async def run_command(self, ctx: TurnContext, name: str, arg: str) -> None:
        """Run the command `/name`, or say it is unknown."""
        command = self._commands.get(name)
        if command is None:
            ctx.say(ctx.t("unknown_command", command=f"/{name}"[:40]))
            return
        await command.run(ctx, arg)

    async def show_help(self, ctx: TurnContext, arg: str) -> None:
        """List what the bot does and every command of the menu (/help)."""
        ctx.say(self.help_text(ctx.services.flows.catalog, ctx.lang))

    async def _press(self, ctx: TurnContext, data: str) -> None:
        press = decode(data)
        run: ButtonHandler | None
        if press is not None and press.is_global:
            run = self._buttons[Scope.GLOBAL].get(press.verb)
        elif press is None or int(press.turn) != ctx.conv.turn:
            run = None
        elif press.verb in self._buttons[Scope.LATEST]:
            run = self._buttons[Scope.LATEST][press.verb]
        elif ctx.idle:
            run = self._buttons[Scope.IDLE].get(press.verb)
        else:
            run = self._step_buttons
        if press is None or run is None:
            await ctx.expired()
            return
        await run(ctx, press)


def _idle(ctx: TurnContext) -> bool:
    return ctx.idle


def _in_step(ctx: TurnContext) -> bool:
    return not ctx.idle


def default_registry() -> Registry:
    """Register every handler of the bot: the one place to add a command or a button."""
    r = Registry()
    # Whatever the person sends withdraws the confirmations and questions left behind; a case
    # move asked about before still happens; an intake whose flow version is gone is dropped.
    r.before(forget.withdraw_forget)
    r.before(cancel.withdraw_cancel)
    r.before(paperwork.drop_stale_profile_question)
    r.before(case.drop_stale_case_note)
    r.before(intake.retire_gone_draft)

    # Commands, in the order of the command menu and of /help.
    r.command("start", intake.on_start, menu=False)
    r.command("new", intake.on_new)
    r.command("cases", case.list_cases)
    r.command("case", case.show_case)
    r.command("letter", paperwork.on_letter_command)
    r.command("channels", paperwork.on_channels_command)
    r.command("export", paperwork.on_export_command)
    r.command("cancel", cancel.cancel)
    r.command("check", check.on_check_command)
    r.command("me", paperwork.show_me)
    r.command("lang", language.set_language)
    r.command("forget", forget.ask_forget)
    r.command("help", r.show_help)

    # Buttons under a case view, a follow-up question or a menu: g:VERB:ARG.
    r.button(Scope.GLOBAL, "new", intake.on_new_button)
    r.button(Scope.GLOBAL, "resume", intake.on_resume)
    r.button(Scope.GLOBAL, "restart", intake.on_restart)
    r.button(Scope.GLOBAL, "case", case.on_case_view)
    r.button(Scope.GLOBAL, "fu", case.on_followup)
    r.button(Scope.GLOBAL, "sent", case.on_sent)
    r.button(Scope.GLOBAL, "note", case.on_note_skip)
    r.button(Scope.GLOBAL, "snz", case.on_snooze)
    r.button(Scope.GLOBAL, "ans", case.on_replied)
    r.button(Scope.GLOBAL, "rate", case.on_rate)
    r.button(Scope.GLOBAL, "cmt", case.on_comment_skip)
    r.button(Scope.GLOBAL, "let", paperwork.on_letter_button)
    r.button(Scope.GLOBAL, "exp", paperwork.on_export_button)
    r.button(Scope.GLOBAL, "chn", paperwork.on_channels_button)
    r.button(Scope.GLOBAL, "chf", paperwork.on_flow_channels)
    r.button(Scope.GLOBAL, "pskip", paperwork.on_profile_skip)
    r.button(Scope.GLOBAL, "me", paperwork.on_me_button)
    # Answers to the latest confirmation, in an intake or not.
    r.button(Scope.LATEST, forget.FORGET_VERB, forget.on_forget_button)
    r.button(Scope.LATEST, cancel.CANCEL_VERB, cancel.on_cancel_button)
    # Buttons of the menu and of a verdict, outside an intake.
    r.button(Scope.IDLE, "cat", intake.on_category)
    r.button(Scope.IDLE, "snext", check.on_another)
    r.button(Scope.IDLE, "sok", check.on_fine)
    r.button(Scope.IDLE, "sfile", check.on_file)
    r.button(Scope.IDLE, describe.DESCRIBED_VERB, describe.check_described)
    # Every other button under the current question of an intake (back, options, done...).
    r.step_buttons(answers.on_step_button)

    # Typed text, files and forwards: the first route that takes it.
    r.text(paperwork.takes_profile, paperwork.take_typed_profile)
    r.text(case.takes_comment, case.take_comment)
    r.text(case.takes_case_note, case.take_typed_case_note)
    r.text(check.wants_check, check.check_incoming)
    r.text(_idle, describe.offer_category)
    r.text(_in_step, answers.on_input)
    return r
