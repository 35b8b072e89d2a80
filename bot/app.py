"""Assemble storage, flows and the engine from settings; no logic of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from flows.engine import Engine
from flows.schema import DEFINITIONS, FlowSet, load_flows
from storage import SqliteStore


def load_flow_set(settings: Settings) -> FlowSet:
    """Load and check the flows the settings point at (raises FlowError)."""
    return load_flows(Path(settings.flows_dir) if settings.flows_dir else DEFINITIONS)


@dataclass(slots=True)
class Services:
    """The running parts every messenger shares."""

    settings: Settings
    flows: FlowSet
    store: SqliteStore
    engine: Engine

    @classmethod
    async def open(
        cls, settings: Settings, *, clock: Callable[[], datetime] | None = None
    ) -> Services:
        """Check the flows, open the database (migrating it) and build the engine."""
        flows = load_flow_set(settings)
        store = await SqliteStore.open(settings.storage_db_path, settings.storage_data_dir)
        options = {"clock": clock} if clock is not None else {}
        engine = Engine(
            flows,
            store,
            timezone=settings.tz,
            default_language=settings.default_language,
            max_file_size=settings.max_file_size,
            **options,
        )
        return cls(settings, flows, store, engine)

    async def close(self) -> None:
        """Close the database."""
        await self.store.close()
