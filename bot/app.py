"""Assemble storage, flows and the engine from settings; no logic of its own."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.analysis_rules import RulesError
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings
from bot.deadlines import DeadlinePolicy, WorkCalendar
from bot.explain import AnalysisExplainer
from bot.export import CasePaperwork
from bot.letters import Templates
from bot.ocr import load_reader
from bot.scheduler import Scheduler
from flows.conversation.engine import Engine
from flows.definition.schema import DEFINITIONS, FlowSet, load_flows
from storage import AnyStore, open_store

log = logging.getLogger(__name__)


def load_flow_set(settings: Settings) -> FlowSet:
    """Load and check the flows the settings point at (raises FlowError)."""
    return load_flows(Path(settings.flows_dir) if settings.flows_dir else DEFINITIONS)


def load_explainer() -> AnalysisExplainer:
    """Load the suspicious-message rules (a broken rules file stops start-up with its line)."""
    try:
        return AnalysisExplainer()
    except RulesError as e:
        raise ConfigError(str(e)) from e


def load_paperwork(
    flows: FlowSet, settings: Settings, clock: Clock, store: AnyStore
) -> CasePaperwork:
    """Load the letter templates (a broken one stops start-up with its name and line)."""
    templates = Templates()
    templates.check(flows)
    return CasePaperwork(flows, templates, settings.tz, clock.now, store.read_blob)


@dataclass(slots=True)
class Services:
    """The running parts every messenger shares."""

    settings: Settings
    flows: FlowSet
    store: AnyStore
    engine: Engine
    scheduler: Scheduler

    @classmethod
    async def open(cls, settings: Settings, *, clock: Clock | None = None) -> Services:
        """Check the flows, open the database (migrating it), build the engine and scheduler.

        The scheduler is built, not started: the messenger starts it with its way to send.
        """
        for notice in settings.notices:
            log.warning("%s", notice)
        flows = load_flow_set(settings)
        explainer = load_explainer()
        clock = clock or SystemClock()
        calendar = WorkCalendar(settings.extra_holidays)
        policy = DeadlinePolicy(calendar, settings.tz, settings.deadline_override_delta)
        store = await open_store(
            settings.storage_url, settings.storage_db_path, settings.storage_data_dir
        )
        try:
            # Found now rather than when the first person sends a file and is told "try later".
            await store.check_writable()
        except BaseException:
            await store.close()
            raise
        engine = Engine(
            flows,
            store,
            timezone=settings.tz,
            clock=clock.now,
            default_language=settings.default_language,
            max_file_size=settings.max_file_size,
            deadlines=policy,
            explainer=explainer,
            reader=load_reader(),
            paperwork=load_paperwork(flows, settings, clock, store),
        )
        scheduler = Scheduler(
            store, engine, clock, timezone=settings.tz, quiet=settings.quiet_period
        )
        engine.followups.on_reminder = scheduler.notice
        return cls(settings, flows, store, engine, scheduler)

    async def close(self) -> None:
        """Close the database."""
        await self.store.close()
