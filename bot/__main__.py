"""`complaint-bot`: run the Telegram bot, chat in the console, check flows, look at cases."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging
from flows.definition.schema import DEFINITIONS, FlowSet, load_flows
from flows.errors import ComplaintBotError, FlowError
from flows.records import CaseRecord, Profile, Reminder
from storage.errors import StorageError

if TYPE_CHECKING:
    from flows.ports import Store

# The bot's services, the store and the letters are imported by the commands that use them, so
# that `complaint-bot check` starts in a fraction of a second (issue 15: under 1 s).

DEFAULT_CONFIG = Path("config.yaml")
CONFIG_HELP = "YAML settings file (default: ./config.yaml if present)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="complaint-bot", description="A conversational assistant for effective complaints."
    )
    parser.add_argument("--config", type=Path, help=CONFIG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run",
        help="start the Telegram bot (long polling, or a webhook with telegram.mode: webhook)",
    )

    chat = commands.add_parser("chat", help="talk to the bot in this terminal; no account needed")
    chat.add_argument("--db", help="SQLite database file (overrides storage.db_path)")
    chat.add_argument("--data-dir", help="evidence folder (overrides storage.data_dir)")
    chat.add_argument("--user", default="local", help="who you are in the console (default: local)")

    flows = commands.add_parser("flows", help="check or draw the flow files")
    flow_commands = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    check = flow_commands.add_parser("check", help="validate every flow file; exit 1 on problems")
    check.add_argument("dir", nargs="?", type=Path, help="folder of flow files (default: built-in)")
    diagram = flow_commands.add_parser("diagram", help="print a flow as a mermaid state diagram")
    diagram.add_argument("flow_id")
    diagram.add_argument("--version", type=int, help="flow version (default: newest)")

    cases = commands.add_parser("cases", help="list or show filed cases (operators)")
    case_commands = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    for name, helptext in (
        ("list", "list cases"),
        ("show", "show one case: answers, ladder position, deadline, timeline"),
        ("due", "list pending reminders: when each falls due and when it will be sent"),
        ("export", "write one case as a zip: letters, evidence files, answers, timeline"),
    ):
        sub = case_commands.add_parser(name, help=helptext)
        if name in ("show", "export"):
            sub.add_argument("number")
        if name == "export":
            sub.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
            sub.add_argument("--lang", choices=("zh", "en"), help="default: the case's language")
            sub.add_argument("--data-dir", help="evidence folder (overrides storage.data_dir)")
        elif name == "list":
            sub.add_argument("--user", help="only this user's cases, e.g. telegram:12345")
        sub.add_argument("--db", help="SQLite database file (overrides storage.db_path)")
        if name != "export":
            sub.add_argument("--json", action="store_true", help="print JSON")

    users = commands.add_parser("users", help="operators: act on one person's data")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    forget = user_commands.add_parser(
        "forget", help="delete everything about a person: conversation, cases, evidence files"
    )
    forget.add_argument("id", metavar="ID", help="messenger:user_id, e.g. telegram:123")
    forget.add_argument("--db", help="SQLite database file (overrides storage.db_path)")
    forget.add_argument("--data-dir", help="evidence folder (overrides storage.data_dir)")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    from bot.db_command import add_parser as add_db_parser

    add_db_parser(commands)

    commands.add_parser("serve", help="start the HTTP server with the WeChat (WeCom) messenger")
    wecom = commands.add_parser("wecom", help="WeChat through WeCom customer service")
    wecom_commands = wecom.add_subparsers(dest="wecom_command", required=True, metavar="ACTION")
    wecom_link = wecom_commands.add_parser("link", help="print the chat link for a poster or QR")
    wecom_link.add_argument("--scene", help="a tag for where the link is shown, e.g. poster1")
    wecom_commands.add_parser("check", help="try the WeCom credentials and list the accounts")

    check = commands.add_parser("check", help="judge a forwarded SMS: fraud, marketing, legit?")
    check.add_argument("text", nargs="?", help="the message text")
    check.add_argument("--sender", help="the sender number as shown, e.g. 10690123456789")
    check.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the words")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.add_argument("--eval", type=Path, metavar="FILE.tsv", help="measure the rules on a file")
    _config_everywhere(parser)
    return parser


def _config_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept `--config FILE` after any command too (`complaint-bot run --config FILE`).

    The sub-commands' copies default to SUPPRESS, so one given before the command is kept
    unless another is given after it.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=CONFIG_HELP)
                _config_everywhere(sub)


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    settings = load_settings(path)
    return settings.replace(
        storage_db_path=getattr(args, "db", None),
        storage_data_dir=getattr(args, "data_dir", None),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "flows":
            return _flows(args)
        if args.command == "check":
            from bot.check_command import run as check

            return check(args)
        settings = _settings(args)
        setup_logging(settings.log_level)
        if args.command == "run":
            from bot.app import run_telegram

            with _one_bot_per_database(settings):
                run_telegram(settings)
            return 0
        if args.command == "serve":  # a bot process like `run`: one per SQLite database
            from bot.wecom_command import run as wecom

            with _one_bot_per_database(settings):
                return wecom(settings, args)
        if args.command == "wecom":
            from bot.wecom_command import run as wecom

            return wecom(settings, args)
        if args.command == "chat":
            from bot.app import chat

            with _one_bot_per_database(settings):
                return asyncio.run(chat(settings, args.user))
        if args.command == "users":
            from bot.forget_command import forget_user

            return forget_user(settings, args.id, assume_yes=args.yes)
        if args.command == "db":
            from bot.db_command import run as db

            return db(settings, args)
        return _cases_command(settings, args)
    except FlowError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (ConfigError, StorageError, ComplaintBotError) as exc:
        print(f"complaint-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _one_bot_per_database(settings: Settings) -> contextlib.AbstractContextManager[object]:
    """Hold the database for this process's life; refuse to start when another bot holds it.

    Only `run`, `serve` and `chat` take it: they poll and send reminders. `cases` and `users
    forget` are one-off operator commands that SQLite's own locking keeps safe beside a running
    bot. On
    PostgreSQL (`storage.url`) several processes may share the database: `run` polls and sends
    reminders only while it holds the leader lock (bot/leader.py), reminders are claimed with a
    lease there, and updates already handled are refused by their delivery ids.
    """
    if settings.storage_url or settings.storage_db_path == ":memory:":
        return contextlib.nullcontext()
    from storage.lock import DatabaseLock

    return DatabaseLock(settings.storage_db_path)


def _flows(args: argparse.Namespace) -> int:
    if args.flows_command == "check":
        directory = args.dir or DEFINITIONS
        flow_set = load_flows(directory)
        from flows.conversation.registry import default_registry

        default_registry().check(flow_set.catalog)  # every command has its menu and help texts
        for flow in flow_set.categories():
            print(f"ok  {flow.ref:<12} {len(flow.steps):>2} steps  {flow.file}")
        return 0
    chosen = load_flows().get(args.flow_id, args.version)
    if chosen is None:
        print(f"complaint-bot: no flow '{args.flow_id}'", file=sys.stderr)
        return 1
    from flows.definition.diagram import mermaid

    print(mermaid(chosen))
    return 0


def _cases_command(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.storage_url and not Path(settings.storage_db_path).exists():
        raise ConfigError(f"storage.db_path: no database at {settings.storage_db_path}")
    return asyncio.run(_cases(settings, args))


async def _cases(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import load_flow_set
    from bot.case_json import case_to_json
    from flows.conversation.render import Renderer
    from storage import case_numbers
    from storage.factory import open_store

    store = await open_store(
        settings.storage_url, settings.storage_db_path, settings.storage_data_dir
    )
    try:
        if args.cases_command == "list":
            records = await store.list_all_cases(args.user)
            if args.json:
                _print_json([case_to_json(c, full=False) for c in records])
            else:
                for c in records:
                    print(
                        f"{c.number}  {c.user:<24} {c.category:<8} {c.problem or '-':<16} "
                        f"{c.state:<10} {c.created_at.isoformat(timespec='minutes')}"
                    )
            return 0
        if args.cases_command == "due":
            _print_due(settings, await store.pending_reminders(), as_json=args.json)
            return 0
        number = case_numbers.normalise(args.number)
        case = await store.find_case(number)
        if case is None:
            typo = "" if case_numbers.well_formed(number) else " (not a valid number: mistyped?)"
            print(f"complaint-bot: no case {args.number}{typo}", file=sys.stderr)
            return 1
        flow_set = load_flow_set(settings)
        if args.cases_command == "export":
            return await _export(settings, store, flow_set, case, args)
        data = case_to_json(case, flows=flow_set)
        if args.json:
            _print_json(data)
        else:
            renderer = Renderer(flow_set, settings.tz)
            ladder = data["ladder"]
            print(f"{case.user}  flow {case.flow}")
            steps = " -> ".join(ladder.get("steps", []))
            print(f"ladder: {steps}  (now: {ladder.get('channel', '-')})")
            print(f"due_at: {data['due_at'] or '-'}\n")
            print(renderer.case_view(case, case.language).text)
        return 0
    finally:
        await store.close()


async def _export(
    settings: Settings,
    store: Store,
    flow_set: FlowSet,
    case: CaseRecord,
    args: argparse.Namespace,
) -> int:
    from bot.clock import SystemClock
    from bot.export import CasePaperwork
    from bot.letters import Templates
    from flows.model import ConversationKey

    """Write a case's zip for an operator: no size limit, the owner's letter details."""
    templates = Templates()
    templates.check(flow_set)
    paperwork = CasePaperwork(
        flow_set, templates, settings.tz, SystemClock().now, store.read_blob, limit=None
    )
    messenger, _, user_id = case.user.partition(":")
    owner = await store.load_conversation(ConversationKey(messenger, user_id))
    profile = owner.profile if owner else Profile()
    document = await paperwork.export(case, args.lang or case.language, profile)
    out: Path = args.out
    await asyncio.to_thread(_write, out, document.content)
    print(f"{out}  {len(document.content)} bytes  ({len(case.evidence)} evidence files)")
    return 0


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _print_due(settings: Settings, reminders: list[Reminder], *, as_json: bool) -> None:
    from bot.case_json import reminder_to_json

    """Print pending reminders: when each falls due and when quiet hours let it go out."""
    quiet, tz = settings.quiet_period, settings.tz
    sends = [quiet.next_allowed(r.due_at, tz) if quiet else r.due_at for r in reminders]
    if as_json:
        _print_json(
            [
                {**reminder_to_json(r), "sends_at": at.isoformat()}
                for r, at in zip(reminders, sends, strict=True)
            ]
        )
        return
    if not reminders:
        print("nothing pending")
    for reminder, at in zip(reminders, sends, strict=True):
        due = reminder.due_at.astimezone(tz).isoformat(timespec="minutes")
        user = f"{reminder.key.messenger}:{reminder.key.user_id}"
        print(
            f"{due}  {reminder.case_number}  {reminder.kind:<8} {user:<24}"
            f" sends {at.astimezone(tz).isoformat(timespec='minutes')}"
            + ("  (unreachable)" if reminder.unreachable else "")
        )


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    sys.exit(main())
