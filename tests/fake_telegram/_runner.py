"""Run a real PTB ``Application`` in polling mode inside a test, and stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
from collections.abc import AsyncIterator, Sequence
from typing import Any

from telegram.ext import Application

__all__ = ["running_application"]


@contextlib.asynccontextmanager
async def running_application(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    poll_timeout: int = 1,
    drop_pending_updates: bool = False,
    allowed_updates: Sequence[str] | None = None,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """``async with running_application(app):`` = what ``run_polling`` does, minus the loop
    and signal handling: initialize + post_init, ``updater.start_polling``, start; on exit
    updater.stop, stop + post_stop, shutdown + post_shutdown.

    Long polling against the fake returns as soon as an update is queued, so ``poll_timeout``
    only bounds how long an idle poll waits (whole seconds, like the Bot API's ``timeout``);
    stopping cancels it immediately.
    """
    if application.updater is None:
        raise ValueError("the application has no Updater (built with .updater(None)?)")
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.updater.start_polling(
            poll_interval=0.0,
            timeout=dtm.timedelta(seconds=poll_timeout),
            drop_pending_updates=drop_pending_updates,
            allowed_updates=allowed_updates,
        )
        await application.start()
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
                if application.post_stop is not None:
                    await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        # let cancelled polling/request tasks finish their cancellation before the loop closes
        for _ in range(3):
            await asyncio.sleep(0)
