"""`complaint-bot serve` and `complaint-bot wecom link|check`: the command-line side.

`serve` runs what `bot.app.Serving` builds (the WeChat messenger behind the HTTP server, and
Telegram beside it if configured); `wecom link` prints the link for a poster or QR code;
`wecom check` tries the credentials and lists the customer-service accounts.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httpx

from bot.app import run_serve, wecom_api
from bot.clock import SystemClock
from bot.config import ConfigError, Settings
from bot.messengers.wecom.api import WecomError


async def link(
    settings: Settings, scene: str | None, transport: httpx.AsyncBaseTransport | None = None
) -> list[str]:
    """Return the customer-service link of each configured account (for a poster, a QR code)."""
    api = wecom_api(settings, SystemClock(), transport)
    try:
        if not settings.wecom_open_kfids:
            raise ConfigError(
                "wecom.open_kfids: no account (`complaint-bot wecom check` lists them)"
            )
        return [await api.contact_link(kfid, scene) for kfid in settings.wecom_open_kfids]
    finally:
        await api.client.aclose()


async def check(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> list[str]:
    """Fetch a token and list the accounts this secret manages; return lines to print."""
    api = wecom_api(settings, SystemClock(), transport)
    try:
        await api.token()
        lines = [f"ok  token for corp {settings.wecom_corp_id}"]
        configured = set(settings.wecom_open_kfids)
        for account in await api.accounts():
            kfid = str(account.get("open_kfid", ""))
            mark = "configured" if kfid in configured else "not in wecom.open_kfids"
            lines.append(f"    {kfid}  {account.get('name', '')}  ({mark})")
        return lines
    finally:
        await api.client.aclose()


def run(settings: Settings, args: Any) -> int:
    """Run `serve` or `wecom link|check` from parsed arguments."""
    try:
        if args.command == "serve":
            return run_serve(settings)
        if args.wecom_command == "link":
            lines = asyncio.run(link(settings, args.scene))
        else:
            lines = asyncio.run(check(settings))
    except WecomError as exc:
        print(f"complaint-bot: WeCom refused: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
