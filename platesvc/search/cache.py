"""A worker's finished search answers: people type the same beginnings (上海, shang, 兴庆区…), and each answer
is good until the registry changes."""

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy.engine import Engine

from platesvc.store import map_changes

MAX_AGE_SECONDS = 60  # a division renamed changes addresses without a change on the map: at most this late
_EVERYWHERE = (-180.0, -90.0, 180.0, 90.0)


@dataclass
class _Answer:
    data: bytes
    made_at: map_changes.Stamp
    made: float  # time.monotonic() when it was made


class AnswerCache:
    """Answers within a byte budget, least recently used out first, each good until the map changes anywhere
    (plates, buildings, roads: map_changes.py logs every committed change, whoever makes it) and for at most
    MAX_AGE_SECONDS."""

    def __init__(self, max_bytes: int):
        self._answers = LRUCache(maxsize=max_bytes, getsizeof=lambda answer: len(answer.data) + 200)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def answer(self, engine: Engine, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The answer `make` gives, from this cache when nothing changed since it was made."""
        if not self._max_bytes:
            return make()
        key = (engine.url, key)
        with self._lock:
            held = self._answers.get(key)
        if held is not None and time.monotonic() - held.made > MAX_AGE_SECONDS:
            held = None
        now, stale = map_changes.look(engine, held.made_at if held else None, _EVERYWHERE)
        if not stale:
            held.made_at = now  # good as of now: the next look starts from here
            return held.data
        made = _Answer(make(), now, time.monotonic())  # the stamp is older than what it shows: safe
        if len(made.data) + 200 <= self._max_bytes:
            with self._lock:
                self._answers[key] = made
        return made.data
