"""Connections a process holds: one engine, one Redis client and one callback HTTP client per event loop.

asyncpg and redis.asyncio connections belong to the loop that opened them. The API has one
loop; each dramatiq worker process runs async actors on its own loop thread; the
scheduler has one. Keying by loop gives each its own pool without passing them around.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jivapay.adapters.cache import create_redis
from jivapay.adapters.callback_sender import CallbackSender
from jivapay.adapters.db.engine import create_engine, create_session_factory
from jivapay.settings import Settings, get_settings


@dataclasses.dataclass(slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    callback_sender: CallbackSender  # its HTTP client is made on the first callback

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = create_engine(settings)
        return cls(settings, engine, create_session_factory(engine), create_redis(settings), CallbackSender())

    async def aclose(self) -> None:
        await self.callback_sender.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Resources] = weakref.WeakKeyDictionary()


def get_resources() -> Resources:
    loop = asyncio.get_running_loop()
    resources = _by_loop.get(loop)
    if resources is None:
        resources = _by_loop[loop] = Resources.create(get_settings())
    return resources


async def close_resources() -> None:
    resources = _by_loop.pop(asyncio.get_running_loop(), None)
    if resources is not None:
        await resources.aclose()
